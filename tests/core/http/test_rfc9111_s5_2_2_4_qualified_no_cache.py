"""RFC 9111 §5.2.2.4 (and §5.2.2.7): fields named by qualified no-cache/private.

"the specified field names MUST NOT be sent in the response to a subsequent request without
successful revalidation": the stored copy drops them, but the response that carried them
still does (cache-tests headers-omit-headers-listed-in-Cache-Control-no-cache[-single]).
The cache step says so in ``Keep``: ``entry`` is what to store, ``answer`` what to send now.
"""

from __future__ import annotations

from cdn.cache import Store as EntryStore
from cdn.http.step import CacheStep, Fetch, Join, Keep, Serve


def _received(lab, fields, now):
    step = CacheStep(EntryStore(1 << 20), lab.config, lab.request(), lab.key(), now)
    action = step.next()
    if isinstance(action, Join):
        action = step.joined(None, now, waited=False)
    assert isinstance(action, Fetch), action
    return step.received(lab.response(fields, date=now), now, now)


FIELDS = [("Cache-Control", 'no-cache="a"'), ("Cache-Control", "max-age=3600"), ("a", "1")]


def test_s5_2_2_4_stored_copy_drops_the_named_field(lab):
    keep = _received(lab, [*FIELDS, ("b", "2")], lab.T0)
    assert isinstance(keep, Keep)
    assert "a" not in keep.entry.headers and keep.entry.headers.get("b") == "2"


def test_s5_2_2_4_the_fetching_response_still_carries_it(lab):
    keep = _received(lab, [*FIELDS, ("b", "2")], lab.T0)
    assert keep.answer.headers.get("a") == "1" and keep.answer.client_headers.get("a") == "1"
    assert keep.answer.freshness_lifetime == keep.entry.freshness_lifetime


def test_s5_2_2_4_a_later_hit_does_not(lab):
    keep = _received(lab, FIELDS, lab.T0)
    store = EntryStore(1 << 20)
    store.put(keep.entry)
    action = CacheStep(store, lab.config, lab.request(), lab.key(), lab.T0 + 5).next()
    assert isinstance(action, Serve) and "a" not in action.entry.client_headers


def test_s5_2_2_7_qualified_private_fields_likewise(lab):
    keep = _received(
        lab, [("Cache-Control", 'private="x-user", max-age=60'), ("X-User", "7")], lab.T0
    )
    assert "x-user" not in keep.entry.headers and keep.answer.headers.get("x-user") == "7"


def test_nothing_dropped_means_one_entry(lab):
    keep = _received(lab, [("Cache-Control", "max-age=60"), ("a", "1")], lab.T0)
    assert keep.served is None and keep.answer is keep.entry


def test_stored_set_cookie_reaches_only_the_client_it_was_sent_to(make_lab):
    lab = make_lab(store_set_cookie=True)
    keep = _received(lab, [("Cache-Control", "max-age=60"), ("Set-Cookie", "id=1")], lab.T0)
    assert "set-cookie" not in keep.entry.headers
    assert keep.answer.headers.get("set-cookie") == "id=1"
