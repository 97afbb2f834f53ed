"""The cache step (cdn.http.step): one request through one cache, action by action.

Each test drives ``CacheStep`` as a shell would: ``next()``, then ``joined``/``received``/
``failed``/``answer``, and checks the action the step asks for.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdn.cache import Store as EntryStore
from cdn.http import Headers, Request, decide
from cdn.http.step import (
    CacheStep,
    Fail,
    Fetch,
    Forward,
    Join,
    Keep,
    Reject,
    Relay,
    Renew,
    Serve,
    plain_hit,
)


def _store(*entries) -> EntryStore:
    store = EntryStore(1 << 20)
    for entry in entries:
        store.put(entry)
    return store


def _step(lab, store, now, fields=(), method="GET"):
    return CacheStep(store, lab.config, lab.request(fields, method=method), lab.key(), now)


def _fetched(lab, step, fields, now, status=200, size=10):
    """Run a step that must go upstream to its first answer after ``received``."""
    action = step.next()
    if isinstance(action, Join):
        action = step.joined(None, now, waited=False)
    assert isinstance(action, Fetch), action
    return step.received(lab.response(fields, status=status, size=size, date=now), now, now)


# ---- from the store ----------------------------------------------------------------------


def test_fresh_entry_is_served_with_its_age(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    action = _step(lab, _store(entry), lab.T0 + 10.5).next()
    assert action == Serve(entry, 200, 10, action.cache_status)
    assert action.cache_status.label == "hit" and action.stored


def test_the_newest_variant_is_served_after_a_url_starts_to_vary(lab):
    plain = lab.entry({"Cache-Control": "max-age=1"})
    varied = lab.entry(
        {"Cache-Control": "max-age=100", "Vary": "Accept-Encoding"},
        request_time=lab.T0 + 2,
        response_time=lab.T0 + 2,
        date=lab.T0 + 2,
    )
    action = _step(lab, _store(plain, varied), lab.T0 + 3).next()
    assert isinstance(action, Serve) and action.entry == varied


def test_client_conditional_matching_the_entry_gets_304(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v1"'})
    action = _step(lab, _store(entry), lab.T0 + 1, {"If-None-Match": '"v1"'}).next()
    assert isinstance(action, Serve) and action.status == 304


def test_two_ranges_are_a_multipart_206(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    action = _step(lab, _store(entry), lab.T0 + 1, {"Range": "bytes=0-1,5-6"}).next()
    assert action.status == 206 and [(r.first, r.last) for r in action.byte_ranges] == [
        (0, 1),
        (5, 6),
    ]


def test_a_malformed_range_is_ignored(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    action = _step(lab, _store(entry), lab.T0 + 1, {"Range": "bytes=abc"}).next()
    assert action.status == 200 and action.byte_ranges == ()


def test_a_range_past_the_end_is_416(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    action = _step(lab, _store(entry), lab.T0 + 1, {"Range": "bytes=500-"}).next()
    assert action.status == 416


def test_if_range_with_another_etag_gets_the_whole_body(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v1"'})
    fields = {"Range": "bytes=0-1", "If-Range": '"v0"'}
    assert _step(lab, _store(entry), lab.T0 + 1, fields).next().status == 200


def test_head_ignores_range(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    action = _step(lab, _store(entry), lab.T0 + 1, {"Range": "bytes=0-1"}, "HEAD").next()
    assert action.status == 200


def test_stale_while_revalidate_serves_and_asks_for_a_refresh(lab):
    entry = lab.entry({"Cache-Control": "max-age=10, stale-while-revalidate=60", "ETag": '"v"'})
    action = _step(lab, _store(entry), lab.T0 + 20).next()
    assert isinstance(action, Serve) and action.refresh is not None
    assert action.cache_status.label == "stale"


def test_only_if_cached_with_nothing_stored_is_rejected_with_504(lab):
    action = _step(lab, _store(), lab.T0, {"Cache-Control": "only-if-cached"}).next()
    assert isinstance(action, Reject) and action.status == 504


# ---- upstream ----------------------------------------------------------------------------


def test_a_miss_joins_the_collapsing_of_its_key(lab):
    assert _step(lab, _store(), lab.T0).next() == Join(lab.key())


def test_a_cacheable_answer_is_kept_then_served_as_a_stored_miss(lab):
    step = _step(lab, _store(), lab.T0)
    action = _fetched(lab, step, {"Cache-Control": "max-age=60"}, lab.T0)
    assert isinstance(action, Keep)
    served = step.answer(action.entry, lab.T0)
    assert served.status == 200 and served.cache_status.label == "miss"
    assert served.cache_status.stored and not served.stored


def test_an_uncacheable_answer_is_relayed_with_hit_for_pass(lab):
    step = _step(lab, _store(), lab.T0)
    action = _fetched(lab, step, {"Cache-Control": "no-store"}, lab.T0)
    assert isinstance(action, Relay) and action.hit_for_pass


def test_a_stale_entry_with_a_validator_is_revalidated_and_renewed_by_304(lab):
    entry = lab.entry({"Cache-Control": "max-age=10", "ETag": '"v"'})
    step = _step(lab, _store(entry), lab.T0 + 20)
    assert isinstance(step.next(), Join)
    fetch = step.joined(None, lab.T0 + 20, waited=False)
    assert fetch.conditional and fetch.headers.get("if-none-match") == '"v"'
    action = step.received(
        lab.response({"ETag": '"v"', "Cache-Control": "max-age=10"}, status=304, date=lab.T0 + 20),
        lab.T0 + 20,
        lab.T0 + 20,
    )
    assert isinstance(action, Renew)
    served = step.answer(action.entries[0], lab.T0 + 20)
    assert served.cache_status.label == "revalidated" and served.age == 0


def test_a_follower_is_served_the_leaders_entry(lab):
    step = _step(lab, _store(), lab.T0)
    assert isinstance(step.next(), Join)
    shared = lab.entry({"Cache-Control": "max-age=60"})
    action = step.joined(shared, lab.T0 + 1, waited=True)
    assert isinstance(action, Serve) and action.cache_status.label == "collapsed"
    assert not action.stored


def test_a_5xx_is_replaced_by_a_stale_entry_within_stale_if_error(lab):
    entry = lab.entry({"Cache-Control": "max-age=10, stale-if-error=60"})
    step = _step(lab, _store(entry), lab.T0 + 20)
    action = _fetched(lab, step, {}, lab.T0 + 20, status=503)
    assert isinstance(action, Serve) and action.entry == entry
    assert action.cache_status.detail == "stale-if-error"


def test_a_failed_upstream_without_stale_is_a_failure(lab):
    step = _step(lab, _store(), lab.T0)
    step.next()
    step.joined(None, lab.T0, waited=False)
    assert isinstance(step.failed(None, lab.T0), Fail)


def test_post_is_forwarded_and_invalidates_its_url(lab):
    step = _step(lab, _store(), lab.T0, method="POST")
    assert isinstance(step.next(), Forward)
    action = step.received(lab.response({}, status=200), lab.T0, lab.T0)
    assert isinstance(action, Relay) and action.invalidate == ("/a",)


# ---- the plain-hit shortcut is the step's first branch -----------------------------------

_RESPONSE_FIELDS = st.sampled_from(["Cache-Control", "Vary", "ETag", "Age"])
_RESPONSE_VALUES = st.sampled_from(
    ["max-age=60", "no-cache", "max-age=0", "Accept-Encoding", '"x"', "30", "s-maxage=5"]
)
_REQUEST_FIELDS = st.sampled_from(
    ["Accept-Encoding", "If-None-Match", "Range", "Cache-Control", "Pragma", "Via"]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stored=st.lists(
        st.tuples(
            st.lists(st.tuples(_RESPONSE_FIELDS, _RESPONSE_VALUES), max_size=3),
            st.sampled_from([None, "gzip", "br"]),
            st.floats(min_value=0, max_value=30),
        ),
        max_size=3,
    ),
    request_fields=st.lists(st.tuples(_REQUEST_FIELDS, st.sampled_from(["gzip", "no-cache"]))),
    method=st.sampled_from(["GET", "HEAD"]),
    later=st.floats(min_value=0, max_value=100),
)
def test_plain_hit_is_what_decide_answers_over_every_variant(
    lab, stored, request_fields, method, later
):
    store = _store()
    for fields, encoding, at in stored:
        asked = lab.request({"Accept-Encoding": encoding} if encoding else {})
        try:
            entry = lab.entry(fields, request=asked, request_time=lab.T0 + at,
                              response_time=lab.T0 + at, date=lab.T0 + at)  # fmt: skip
        except AssertionError:
            continue  # not storable
        store.put(entry)
    request = Request(method, "/a", Headers([("Host", "example.com"), *request_fields]))
    now = lab.T0 + 30 + later
    hit = plain_hit(store.slots.get(lab.key()), request.headers, now)
    if hit is not None:
        found = [s.entry for s in store.lookup(lab.key())]
        assert decide(request, lab.key(), found, now, lab.config) == hit
