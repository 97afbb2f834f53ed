"""The error hold: after an upstream failure, stale-if-error copies stand in without asking.

Rules: pure (``now`` is a parameter). RFC 5861 §4 lets a cache serve a stale response "when an
error is encountered"; it does not say how long an error lasts. Asking a failing upstream once
per request turns an outage into a storm: at 1,000 requests/s every request for an expired
object crosses edge, shield and origin (refused) before the shield's stale copy comes back, and
the edge's copy, stale on arrival, is revalidated again on the next request. Like Varnish's
grace with a sick backend and nginx's ``max_fails``/``fail_timeout``, a cache therefore treats
an upstream as still failing for a short **hold** after a failure: a fetch that a stored stale
copy may answer on error (``CacheStep.held_stand_in``) is answered by it without being sent;
fetches with nothing to stand in (misses, must-revalidate) are still sent, and the first
answer after the hold, if not a failure, ends it. A failure after a hold ran out doubles the
next one (``HOLD_BASE`` 1 s up to ``HOLD_MAX`` 10 s); failures of fetches sent during a hold do
not lengthen it.

What counts as a failure (``failed_fetch``): no answer (refused, reset, timed out), an answer
with a 5xx of ``UPSTREAM_ERROR_STATUSES``, or an answer the upstream cache itself served stale
on error (its Cache-Status member says ``detail=stale-if-error``:
``cdn.http.cache_status.stood_in_on_error``). The live edge and the simulator keep one hold per
node and upstream route and drive it with these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdn.http.decision import UPSTREAM_ERROR_STATUSES

__all__ = ["HOLD_BASE", "HOLD_MAX", "ErrorHold", "after_fetch", "failed_fetch", "is_held"]

HOLD_BASE = 1.0  # seconds: the first hold after an upstream failure
HOLD_MAX = 10.0  # seconds: the longest hold (nginx's fail_timeout default)


@dataclass(frozen=True, slots=True)
class ErrorHold:
    """An upstream held as failing until ``until``; ``strikes``: holds in a row (backoff)."""

    until: float
    strikes: int


def is_held(hold: ErrorHold | None, now: float) -> bool:
    """Is the upstream held as failing at ``now``?"""
    return hold is not None and now < hold.until


def failed_fetch(status: int | None, stood_in: bool) -> bool:
    """Does a fetch's outcome count as an upstream failure?

    ``status``: the upstream's answer status, None when there was no answer (refused, reset,
    timed out); ``stood_in``: the upstream served a stale copy because its own upstream failed.
    """
    return status is None or status in UPSTREAM_ERROR_STATUSES or stood_in


def after_fetch(hold: ErrorHold | None, failed: bool, now: float) -> ErrorHold | None:
    """The hold after a fetch that ended at ``now`` (``failed``: ``failed_fetch``'s verdict).

    A success ends the hold. A failure during a hold leaves it as it is (requests sent before it
    began fail too); after a hold ran out, it starts the next one, twice as long as the last (from
    ``HOLD_BASE`` again when the last ended more than ``HOLD_MAX`` ago).
    """
    if not failed:
        return None
    if hold is None:
        return ErrorHold(now + HOLD_BASE, 1)
    if now < hold.until:
        return hold
    if now >= hold.until + HOLD_MAX:  # a new incident, long after the last hold: start over
        return ErrorHold(now + HOLD_BASE, 1)
    strikes = hold.strikes + 1
    return ErrorHold(now + min(HOLD_BASE * 2.0 ** (strikes - 1), HOLD_MAX), strikes)
