"""RFC 9211: the Cache-Status field (and X-Cache / metric labels derived alongside)."""

from __future__ import annotations

import pytest

from cdn.http import Headers, Response, absorb, cache_status_member, describe, stale_on_error
from cdn.http.structured import parse_dictionary


def test_s2_example_hit():
    assert cache_status_member("ExampleCache", hit=True) == "ExampleCache; hit"


def test_s2_example_uri_miss_stored():
    assert cache_status_member("ExampleCache", fwd="uri-miss", stored=True) == (
        "ExampleCache; fwd=uri-miss; stored"
    )


def test_s2_example_stale_revalidated_with_304():
    assert cache_status_member("ExampleCache", fwd="stale", fwd_status=304) == (
        "ExampleCache; fwd=stale; fwd-status=304"
    )


def test_s2_example_hit_with_ttl_and_negative_ttl():
    assert cache_status_member("ExampleCache", hit=True, ttl=376) == "ExampleCache; hit; ttl=376"
    assert cache_status_member("ExampleCache", hit=True, ttl=-412) == "ExampleCache; hit; ttl=-412"


def test_s2_example_request_forwarded_with_detail_and_collapsed():
    assert cache_status_member(
        "ExampleCache", fwd="request", collapsed=True, detail="no-cache"
    ) == ("ExampleCache; fwd=request; collapsed; detail=no-cache")


def test_s2_8_key_is_an_sf_string_with_escapes():
    assert (
        cache_status_member("c", hit=True, key='http://x/"a"\\b')
        == 'c; hit; key="http://x/\\"a\\"\\\\b"'
    )


def test_s2_9_detail_that_is_not_a_token_is_quoted():
    assert (
        cache_status_member("c", fwd="bypass", detail="too big")
        == 'c; fwd=bypass; detail="too big"'
    )


def test_s2_cache_name_that_is_not_a_token_is_quoted():
    assert cache_status_member("edge 1", hit=True) == '"edge 1"; hit'


def test_s2_2_unknown_fwd_reason_is_refused():
    with pytest.raises(ValueError, match="fwd='nope'"):
        cache_status_member("c", fwd="nope")


def test_s2_hit_and_fwd_are_exclusive():
    with pytest.raises(ValueError, match="mutually exclusive"):
        cache_status_member("c", hit=True, fwd="miss")


def test_rendered_members_parse_as_structured_parameters():
    text = cache_status_member(
        "cdnlab-fra", fwd="stale", fwd_status=304, ttl=10, stored=True, detail="a b"
    )
    assert parse_dictionary(text.replace("; ", ";")) is not None


# ---- describe(): one decision/outcome -> label, X-Cache, member ----------------------------


def test_describe_fresh_hit(lab):
    entry = lab.entry({"Cache-Control": "max-age=120"})
    status = describe(lab.decide([entry], lab.T0), now=lab.T0)
    assert (status.label, status.x_cache) == ("hit", "HIT")
    assert status.member("cdnlab-fra") == "cdnlab-fra; hit; ttl=120"


def test_describe_uri_miss_stored(lab):
    decision = lab.decide([], lab.T0)
    outcome = absorb(
        lab.request(),
        lab.key(),
        decision,
        lab.response({"Cache-Control": "max-age=60"}),
        lab.T0,
        lab.T0,
        lab.config,
    )
    status = describe(decision, outcome, now=lab.T0, upstream_status=200)
    assert (status.label, status.x_cache) == ("miss", "MISS")
    assert status.member("cdnlab-fra") == "cdnlab-fra; fwd=uri-miss; fwd-status=200; ttl=60; stored"


def test_describe_revalidated_304(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 100)
    outcome = absorb(
        lab.request(),
        lab.key(),
        decision,
        Response(304, Headers({"ETag": '"v"'}), 0),
        lab.T0 + 100,
        lab.T0 + 100,
        lab.config,
    )
    status = describe(decision, outcome, now=lab.T0 + 100, upstream_status=304)
    assert (status.label, status.x_cache) == ("revalidated", "REVALIDATED")
    assert status.member("cdnlab-fra") == "cdnlab-fra; fwd=stale; fwd-status=304; ttl=60"


def test_describe_expired_replaced_by_new_content(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 100)
    full = lab.response({"Cache-Control": "max-age=60", "ETag": '"w"'}, date=lab.T0 + 100)
    outcome = absorb(
        lab.request(), lab.key(), decision, full, lab.T0 + 100, lab.T0 + 100, lab.config
    )
    status = describe(decision, outcome, now=lab.T0 + 100, upstream_status=200)
    assert (status.label, status.x_cache, status.stored) == ("miss", "EXPIRED", True)


def test_describe_stale_while_revalidate(lab):
    entry = lab.entry({"Cache-Control": "max-age=60, stale-while-revalidate=60", "ETag": '"v"'})
    status = describe(lab.decide([entry], lab.T0 + 70), now=lab.T0 + 70)
    assert (status.label, status.x_cache) == ("stale", "STALE")
    assert status.member("e") == "e; hit; ttl=-10; detail=stale-while-revalidate"


def test_describe_stale_if_error(lab):
    entry = lab.entry({"Cache-Control": "max-age=60, stale-if-error=600", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 70)
    assert stale_on_error(decision, lab.T0 + 70, lab.config) is entry
    status = describe(
        decision, None, now=lab.T0 + 70, upstream_status=503, served_stale_on_error=True
    )
    assert (status.label, status.x_cache) == ("stale", "STALE")
    assert status.member("e") == "e; fwd=stale; fwd-status=503; detail=stale-if-error"


def test_describe_bypass_for_unsafe_method(lab):
    status = describe(
        lab.decide([], lab.T0, lab.request(method="POST")), now=lab.T0, upstream_status=201
    )
    assert (status.label, status.x_cache) == ("bypass", "BYPASS")
    assert status.member("e") == "e; fwd=method; fwd-status=201; detail=method"


def test_describe_collapsed_request(lab):
    decision = lab.decide([], lab.T0)
    status = describe(decision, None, now=lab.T0, upstream_status=200, collapsed=True)
    assert status.label == "collapsed"
    assert status.member("e") == "e; fwd=uri-miss; fwd-status=200; collapsed"


def test_describe_uncacheable_response_names_the_reason(lab):
    decision = lab.decide([], lab.T0)
    outcome = absorb(
        lab.request(),
        lab.key(),
        decision,
        lab.response({"Cache-Control": "no-store"}),
        lab.T0,
        lab.T0,
        lab.config,
    )
    assert describe(decision, outcome, now=lab.T0, upstream_status=200).member("e") == (
        "e; fwd=uri-miss; fwd-status=200; detail=no-store"
    )


def test_describe_only_if_cached_miss(lab):
    decision = lab.decide([], lab.T0, lab.request({"Cache-Control": "only-if-cached"}))
    assert describe(decision, now=lab.T0).member("e") == "e; detail=only-if-cached"
