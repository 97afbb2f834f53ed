"""``fresh_hit``: decide()'s hit path on its own, for shells that skip building a Request.

Property: for a GET/HEAD without Cache-Control and Pragma on one plain (no Vary) entry,
whenever ``fresh_hit`` answers, ``decide`` answers the same Hit, whatever the other fields.
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdn.http import Headers, Hit, Request, Store, absorb, decide, fresh_hit


def test_fresh_entry_is_a_hit_with_its_age(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    assert fresh_hit(entry, lab.T0 + 10.7) == Hit(entry, 10)


def test_stale_entry_is_left_to_decide(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    assert fresh_hit(entry, lab.T0 + 60) is None


def test_no_cache_entry_is_left_to_decide(lab):
    entry = lab.entry({"Cache-Control": "max-age=60, no-cache", "ETag": '"v"'})
    assert fresh_hit(entry, lab.T0 + 1) is None


def test_soft_purged_entry_is_left_to_decide(lab):
    entry = dataclasses.replace(lab.entry({"Cache-Control": "max-age=60"}), invalidated=True)
    assert fresh_hit(entry, lab.T0 + 1) is None


_RESPONSE_FIELDS = st.sampled_from(
    ["Cache-Control", "Expires", "Age", "ETag", "Last-Modified", "Set-Cookie", "Date"]
)
_RESPONSE_VALUES = st.sampled_from(
    ["max-age=60", "s-maxage=5, must-revalidate", "no-cache", "public", "max-age=0",
     "stale-while-revalidate=10", "30", "Sun, 06 Nov 1994 08:49:37 GMT", '"x"', "-1"]
)  # fmt: skip
_REQUEST_FIELDS = st.sampled_from(
    ["Accept", "Authorization", "If-None-Match", "If-Modified-Since", "Range", "CDN-Loop", "Via"]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    response_fields=st.lists(st.tuples(_RESPONSE_FIELDS, _RESPONSE_VALUES), max_size=4),
    request_fields=st.lists(st.tuples(_REQUEST_FIELDS, st.text(max_size=20)), max_size=4),
    method=st.sampled_from(["GET", "HEAD"]),
    later=st.floats(min_value=-5, max_value=200),
)
def test_fresh_hit_agrees_with_decide(lab, response_fields, request_fields, method, later):
    request = lab.request()
    key = lab.key()
    outcome = absorb(
        request,
        key,
        decide(request, key, [], lab.T0, lab.config),
        lab.response(response_fields),
        lab.T0,
        lab.T0,
        lab.config,
    )
    if not isinstance(outcome, Store):
        return
    entry = outcome.entry
    asked = Request(method, "/a", Headers([("Host", "example.com"), *request_fields]))
    hit = fresh_hit(entry, lab.T0 + later)
    if hit is not None:
        assert decide(asked, key, [entry], lab.T0 + later, lab.config) == hit
