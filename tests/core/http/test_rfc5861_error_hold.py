"""RFC 5861 §4 stale-if-error under an error hold (cdn.http.error_hold, CacheStep.held_stand_in).

After an upstream failure a cache treats the upstream as failing for a short hold; a fetch a
stale copy may answer on error is answered by it without being sent. What counts as a failure,
how long a hold lasts, and what may stand in.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cdn.cache import Store as EntryStore
from cdn.http import stood_in_on_error
from cdn.http.error_hold import (
    HOLD_BASE,
    HOLD_MAX,
    ErrorHold,
    after_fetch,
    failed_fetch,
    is_held,
)
from cdn.http.step import CacheStep, Fetch, Join, Serve


def _step(lab, entries, now, fields=()):
    store = EntryStore(1 << 20)
    for entry in entries:
        store.put(entry)
    step = CacheStep(store, lab.config, lab.request(fields), lab.key(), now)
    action = step.next()
    if isinstance(action, Join):
        action = step.joined(None, now, waited=False)
    return step, action


# ---- what counts as a failure ----------------------------------------------------------------


def test_no_answer_is_a_failure():
    assert failed_fetch(None, stood_in=False)


def test_a_5xx_answer_is_a_failure():
    for status in (500, 502, 503, 504):
        assert failed_fetch(status, stood_in=False)


def test_other_answers_are_not_failures():
    for status in (200, 206, 304, 404, 410, 501):
        assert not failed_fetch(status, stood_in=False)


def test_an_upstream_cache_standing_in_on_error_is_a_failure():
    assert failed_fetch(200, stood_in=True)


def test_the_upstreams_own_member_says_it_stood_in():
    assert stood_in_on_error("cdnlab-shield; hit; ttl=-20; detail=stale-if-error")
    assert stood_in_on_error('origin; fwd=miss, cdnlab-shield; fwd=stale; detail="stale-if-error"')


def test_an_earlier_member_standing_in_is_not_the_upstreams_word():
    # The nearest upstream (last member) revalidated and got a fresh answer from its own.
    field = "far; hit; detail=stale-if-error, cdnlab-shield; fwd=stale; fwd-status=200"
    assert not stood_in_on_error(field)


def test_missing_malformed_or_other_details_say_no():
    assert not stood_in_on_error(None)
    assert not stood_in_on_error("")
    assert not stood_in_on_error("cdnlab-shield; hit; detail=stale-while-revalidate")
    assert not stood_in_on_error("cdnlab-shield; detail=stale-if-error;;; ,,")


# ---- how long a hold lasts -------------------------------------------------------------------


def test_a_success_ends_the_hold():
    assert after_fetch(ErrorHold(110.0, 3), failed=False, now=105.0) is None


def test_the_first_failure_holds_for_the_base():
    hold = after_fetch(None, failed=True, now=100.0)
    assert hold == ErrorHold(100.0 + HOLD_BASE, 1)
    assert is_held(hold, 100.0 + HOLD_BASE - 0.001)
    assert not is_held(hold, 100.0 + HOLD_BASE)


def test_failures_during_a_hold_do_not_lengthen_it():
    hold = ErrorHold(101.0, 1)
    assert after_fetch(hold, failed=True, now=100.5) is hold


def test_a_failure_after_a_hold_doubles_the_next_up_to_the_cap():
    hold, now, lengths = None, 100.0, []
    for _ in range(8):
        hold = after_fetch(hold, failed=True, now=now)
        assert hold is not None
        lengths.append(hold.until - now)
        now = hold.until
    assert lengths == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0]


def test_a_new_incident_long_after_the_last_hold_starts_from_the_base():
    hold = ErrorHold(100.0, 4)
    assert after_fetch(hold, failed=True, now=100.0 + HOLD_MAX + 1.0) == ErrorHold(
        100.0 + HOLD_MAX + 1.0 + HOLD_BASE, 1
    )


@given(
    st.lists(st.tuples(st.booleans(), st.floats(0.0, 20.0)), max_size=40),
)
def test_a_hold_never_exceeds_the_cap_and_only_failures_make_one(events):
    hold, now = None, 0.0
    for failed, gap in events:
        now += gap
        hold = after_fetch(hold, failed, now)
        if not failed:
            assert hold is None
        else:
            assert hold is not None and hold.until - now <= HOLD_MAX


# ---- what may stand in -----------------------------------------------------------------------


def test_a_stale_entry_within_stale_if_error_stands_in_without_a_fetch(lab):
    entry = lab.entry({"Cache-Control": "max-age=10, stale-if-error=60", "ETag": '"a"'})
    step, action = _step(lab, [entry], lab.T0 + 20)
    assert isinstance(action, Fetch)
    served = step.held_stand_in(lab.T0 + 20)
    assert isinstance(served, Serve) and served.entry == entry and served.status == 200
    status = served.cache_status
    assert status.label == "stale" and status.detail == "stale-if-error"
    # RFC 9211 §2.1: nothing went forward, the answer came from the cache
    member = status.member("cdnlab-edge")
    assert "hit" in member and "fwd" not in member


def test_past_stale_if_error_nothing_stands_in(lab):
    entry = lab.entry({"Cache-Control": "max-age=10, stale-if-error=5"})
    step, _ = _step(lab, [entry], lab.T0 + 20)
    assert step.held_stand_in(lab.T0 + 20) is None


def test_must_revalidate_never_stands_in(lab):
    entry = lab.entry({"Cache-Control": "max-age=10, stale-if-error=60, must-revalidate"})
    step, _ = _step(lab, [entry], lab.T0 + 20)
    assert step.held_stand_in(lab.T0 + 20) is None


def test_a_miss_with_nothing_stored_is_sent(lab):
    step, action = _step(lab, [], lab.T0)
    assert isinstance(action, Fetch)
    assert step.held_stand_in(lab.T0) is None


def test_a_stand_in_honours_the_clients_conditional(lab):
    entry = lab.entry({"Cache-Control": "max-age=10, stale-if-error=60", "ETag": '"a"'})
    step, _ = _step(lab, [entry], lab.T0 + 20, {"If-None-Match": '"a"'})
    served = step.held_stand_in(lab.T0 + 20)
    assert isinstance(served, Serve) and served.status == 304


def test_held_stand_in_agrees_with_failed(lab):
    """The hold answers what a failure would have: the same entry, or nothing."""
    for cc in ("max-age=10, stale-if-error=60", "max-age=10", "max-age=10, stale-if-error=5"):
        entry = lab.entry({"Cache-Control": cc})
        held_step, _ = _step(lab, [entry], lab.T0 + 20)
        failed_step, _ = _step(lab, [entry], lab.T0 + 20)
        held = held_step.held_stand_in(lab.T0 + 20)
        failed = failed_step.failed(None, lab.T0 + 20)
        assert (held is None) == (not isinstance(failed, Serve)), cc
        if held is not None:
            assert isinstance(failed, Serve) and held.entry == failed.entry
