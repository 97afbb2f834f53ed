"""The decision API end to end: decide -> (forward) -> absorb -> serve, with injected times."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdn.http import (
    Bypass,
    CacheConfig,
    Freshen,
    Headers,
    Hit,
    Miss,
    OnlyIfCachedMiss,
    Pass,
    Request,
    Response,
    Revalidate,
    StaleHit,
    Store,
    absorb,
    decide,
    response_age,
    serve_headers,
    stale_on_error,
)


def test_empty_cache_is_a_collapsible_uri_miss(lab):
    decision = lab.decide([], lab.T0)
    assert isinstance(decision, Miss)
    assert (decision.fwd, decision.collapsible, decision.method) == ("uri-miss", True, "GET")


def test_miss_then_store_then_hit_round_trip(lab):
    request = lab.request()
    decision = decide(request, lab.key(), [], lab.T0, lab.config)
    outcome = absorb(
        request,
        lab.key(),
        decision,
        lab.response({"Cache-Control": "max-age=60"}),
        lab.T0,
        lab.T0 + 0.5,
        lab.config,
    )
    assert isinstance(outcome, Store)
    hit = decide(request, lab.key(), [outcome.entry], lab.T0 + 10, lab.config)
    assert hit == Hit(outcome.entry, 10)


def test_stored_entry_has_key_variant_size_and_surrogate_keys(lab):
    request = lab.request({"Accept-Encoding": "gzip"})
    outcome = absorb(
        request,
        lab.key(),
        lab.decide([], lab.T0, request),
        Response(
            200,
            Headers(
                {"Cache-Control": "max-age=60", "Vary": "Accept-Encoding", "Surrogate-Key": "k1 k2"}
            ),
            1234,
        ),
        lab.T0,
        lab.T0,
        lab.config,
    )
    entry = outcome.entry
    assert entry.key == "http://example.com/a"
    assert entry.variant == (("accept-encoding", "gzip"),)
    assert entry.size == 1234
    assert entry.surrogate_keys == frozenset({"k1", "k2"})
    assert entry.invalidated is False


def test_soft_purge_via_dataclasses_replace_forces_revalidation(lab):
    entry = lab.entry({"Cache-Control": "max-age=600", "ETag": '"v"'})
    purged = dataclasses.replace(entry, invalidated=True)
    decision = lab.decide([purged], lab.T0 + 1)
    assert isinstance(decision, Revalidate) and decision.fwd == "stale"


def test_soft_purged_entry_without_validator_is_a_miss(lab):
    purged = dataclasses.replace(lab.entry({"Cache-Control": "max-age=600"}), invalidated=True)
    assert isinstance(lab.decide([purged], lab.T0 + 1), Miss)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_non_get_head_methods_bypass(lab, method):
    assert isinstance(
        lab.decide(
            [lab.entry({"Cache-Control": "max-age=60"})], lab.T0, lab.request(method=method)
        ),
        Bypass,
    )


def test_request_no_store_still_serves_a_stored_response(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    decision = lab.decide([entry], lab.T0 + 1, lab.request({"Cache-Control": "no-store"}))
    assert isinstance(decision, Hit)


def test_request_no_store_miss_is_not_collapsible(lab):
    decision = lab.decide([], lab.T0, lab.request({"Cache-Control": "no-store"}))
    assert isinstance(decision, Miss) and decision.collapsible is False


def test_only_if_cached_miss(lab):
    assert (
        lab.decide([], lab.T0, lab.request({"Cache-Control": "only-if-cached"}))
        == OnlyIfCachedMiss()
    )


def test_absorb_refuses_decisions_that_forwarded_nothing(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    hit = lab.decide([entry], lab.T0)
    with pytest.raises(ValueError, match="nothing was forwarded"):
        absorb(lab.request(), lab.key(), hit, lab.response(), lab.T0, lab.T0, lab.config)


def test_absorb_of_a_stale_hit_uses_its_refresh(lab):
    entry = lab.entry({"Cache-Control": "max-age=60, stale-while-revalidate=60", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 70)
    assert isinstance(decision, StaleHit)
    outcome = absorb(
        lab.request(),
        lab.key(),
        decision,
        Response(304, Headers({"ETag": '"v"'}), 0),
        lab.T0 + 70,
        lab.T0 + 71,
        lab.config,
    )
    assert isinstance(outcome, Freshen) and outcome.entry.is_fresh(lab.T0 + 100)


def test_304_to_a_plain_miss_is_passed_to_the_client(lab):
    request = lab.request({"Cache-Control": "no-store", "If-None-Match": '"x"'})
    decision = lab.decide([], lab.T0, request)
    outcome = absorb(
        request, lab.key(), decision, Response(304, Headers(), 0), lab.T0, lab.T0, lab.config
    )
    assert outcome == Pass(reason="not-modified")


def test_uncacheable_response_sets_hit_for_pass(lab):
    outcome = lab.fetch({"Cache-Control": "private"})
    assert outcome == Pass(reason="private", hit_for_pass=True)


def test_response_age_and_serve_headers(lab):
    entry = lab.entry(
        {
            "Cache-Control": "max-age=60",
            "Age": "5",
            "Surrogate-Key": "t",
            "Content-Type": "text/plain",
        }
    )
    assert response_age(entry, lab.T0 + 10) == 15
    headers = serve_headers(entry, lab.T0 + 10)
    assert headers.get_all("age") == ("15",)
    assert "surrogate-key" not in headers
    assert headers.get("content-type") == "text/plain"


def test_serve_headers_for_a_downstream_cache_keep_surrogate_key(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "Surrogate-Key": "t"})
    assert serve_headers(entry, lab.T0, to_client=False).get("surrogate-key") == "t"


def test_same_inputs_same_decision_edge_and_simulator_agree(lab):
    entries = [lab.entry({"Cache-Control": "max-age=60, stale-while-revalidate=30", "ETag": '"v"'})]
    times = [lab.T0 + t for t in (0, 59, 60, 75, 91, 500)]
    first = [lab.decide(entries, t) for t in times]
    second = [decide(lab.request(), lab.key(), entries, t, CacheConfig()) for t in times]
    assert first == second
    assert [type(d).__name__ for d in first] == [
        "Hit",
        "Hit",
        "StaleHit",
        "StaleHit",
        "Revalidate",
        "Revalidate",
    ]


def test_hit_path_reads_no_headers_beyond_two_lookups(lab):
    # A fresh single entry with no request directives takes the fast path: decide() must not
    # re-parse anything; the entry's precomputed fields are enough.
    entry = lab.entry({"Cache-Control": "max-age=60"})
    request = Request("GET", "/a", Headers({"Host": "example.com", "Accept": "*/*"}))
    assert decide(request, lab.key(), [entry], lab.T0 + 1, lab.config) == Hit(entry, 1)


def test_entry_create_rejects_negative_size(lab):
    from cdn.http import Entry

    with pytest.raises(ValueError, match="size -1"):
        Entry.create(
            key="k",
            variant=(),
            status=200,
            headers=Headers(),
            size=-1,
            request_time=0,
            response_time=0,
            config=lab.config,
        )


def test_cache_config_is_hashable_and_validates():
    assert hash(CacheConfig(negative_ttl={404: 10})) == hash(CacheConfig(negative_ttl={404: 10.0}))
    with pytest.raises(ValueError, match="heuristic_fraction"):
        CacheConfig(heuristic_fraction=2)
    with pytest.raises(ValueError, match="stale_if_error_seconds"):
        CacheConfig(stale_if_error_seconds=-1)


_FIELD_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["max-age=60", "no-store", "private", "no-cache", "s-maxage=5, must-revalidate",
         "stale-while-revalidate=10", "max-stale", "only-if-cached", "*", '"x"', 'W/"x"',
         "Sun, 06 Nov 1994 08:49:37 GMT", "-1", "99999999999999999999"]
    ),
)  # fmt: skip
_RESPONSE_FIELDS = st.sampled_from(
    ["Cache-Control", "CDN-Cache-Control", "Expires", "Date", "Age", "ETag", "Last-Modified",
     "Vary", "Set-Cookie", "Surrogate-Key", "Connection"]
)  # fmt: skip
_REQUEST_FIELDS = st.sampled_from(
    ["Cache-Control", "Pragma", "If-None-Match", "If-Modified-Since", "Authorization", "Accept"]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    response_fields=st.lists(st.tuples(_RESPONSE_FIELDS, _FIELD_VALUES), max_size=6),
    request_fields=st.lists(st.tuples(_REQUEST_FIELDS, _FIELD_VALUES), max_size=4),
    status=st.sampled_from([200, 204, 301, 304, 404, 500, 503]),
    later=st.floats(min_value=0, max_value=1e6),
)
def test_decide_and_absorb_never_raise_on_arbitrary_fields(
    lab, response_fields, request_fields, status, later
):
    request = lab.request(request_fields)
    decision = lab.decide([], lab.T0, request)
    if isinstance(decision, OnlyIfCachedMiss):
        return
    outcome = absorb(
        request,
        lab.key(),
        decision,
        Response(status, Headers(response_fields), 10),
        lab.T0,
        lab.T0 + 1,
        lab.config,
    )
    if isinstance(outcome, Store):
        again = lab.decide([outcome.entry], lab.T0 + later, request)
        assert isinstance(again, Hit | StaleHit | Revalidate | Miss | OnlyIfCachedMiss)
        stale_on_error(again, lab.T0 + later, lab.config)
        serve_headers(outcome.entry, lab.T0 + later)
