"""Request collapsing: one upstream fetch per key for concurrent misses.

Rules: pure bookkeeping; the caller passes ``now`` and owns its waiter objects (asyncio futures
in the live edge, SimPy events in the simulator), so both collapse the same way. No clock, no I/O.

Per key (the primary cache key):
- The first miss is the leader (``Lead``): it fetches upstream and must end with ``finish`` or
  ``abandon``.
- Later misses while the leader is in flight follow (``Follow``) and wait, up to ``max_waiters``
  per key; beyond that they fetch on their own (``Bypass("waiters-full")``).
- ``finish(key, cacheable=True)``: the followers are woken to be served from the leader's response
  (the shell still checks it fits each follower's request, e.g. Vary; a mismatch fetches alone).
- ``finish(key, cacheable=False)``: the followers are woken to fetch on their own at once (no
  serialization behind one another), and the key is hit-for-pass until
  ``now + hit_for_pass_seconds``: requests in that time skip collapsing (``Bypass("hit-for-pass")``).
- ``abandon(key)`` (leader error or timeout): the followers are woken to fetch on their own; the key
  is not marked hit-for-pass (an error says nothing about cacheability).
- A follower whose wait passes its ``Follow.deadline`` (``now + wait_timeout``) calls
  ``leave(key, waiter)`` and fetches on its own; ``leave`` says whether it was still waiting (False:
  it was already woken, so the shell should use that outcome instead).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

W = TypeVar("W")

BypassReason = Literal["hit-for-pass", "waiters-full"]


@dataclass(frozen=True, slots=True)
class Lead:
    """This request fetches upstream for ``key``; the caller must ``finish`` or ``abandon`` it."""

    key: str


@dataclass(frozen=True, slots=True)
class Follow:
    """This request waits for the leader of ``key`` until ``deadline`` (then ``leave``)."""

    key: str
    deadline: float


@dataclass(frozen=True, slots=True)
class Bypass:
    """This request fetches on its own without collapsing, for ``reason``."""

    key: str
    reason: BypassReason


Place = Lead | Follow | Bypass  # where a request stands in the collapsing of its key


@dataclass(slots=True)
class CollapseStats:
    """Counts of collapsing decisions since the Collapser was made."""

    leaders: int = 0
    followers: int = 0
    served_from_leader: int = 0
    released_uncacheable: int = 0
    released_abandoned: int = 0
    timeouts: int = 0
    bypass_hit_for_pass: int = 0
    bypass_waiters_full: int = 0


class Collapser(Generic[W]):
    """Leader/follower bookkeeping per key; ``W`` is the shell's waiter type (future, event...)."""

    def __init__(
        self,
        max_waiters: int = 1000,
        hit_for_pass_seconds: float = 10.0,
        wait_timeout: float = 10.0,
    ) -> None:
        if max_waiters < 0:
            raise ValueError(f"max_waiters {max_waiters} < 0 (expected 0 or more; 0 = no waiting)")
        if hit_for_pass_seconds < 0:
            raise ValueError(f"hit_for_pass_seconds {hit_for_pass_seconds} < 0 (expected >= 0)")
        if wait_timeout < 0:
            raise ValueError(f"wait_timeout {wait_timeout} < 0 (expected seconds >= 0)")
        self.max_waiters = max_waiters
        self.hit_for_pass_seconds = hit_for_pass_seconds
        self.wait_timeout = wait_timeout
        self.stats = CollapseStats()
        self._in_flight: dict[str, list[W]] = {}
        # Insertion order is expiry order while `now` does not go backwards (one constant
        # lifetime), so expired marks are dropped from the front in O(1) each.
        self._hit_for_pass: OrderedDict[str, float] = OrderedDict()

    def join(self, key: str, now: float, waiter: W) -> Place:
        """Decide for a miss on ``key`` at ``now``; ``waiter`` is kept until woken if this one follows."""
        self._expire(now)
        until = self._hit_for_pass.get(key)
        if until is not None and now < until:
            self.stats.bypass_hit_for_pass += 1
            return Bypass(key, "hit-for-pass")
        waiters = self._in_flight.get(key)
        if waiters is None:
            self._in_flight[key] = []
            self.stats.leaders += 1
            return Lead(key)
        if len(waiters) >= self.max_waiters:
            self.stats.bypass_waiters_full += 1
            return Bypass(key, "waiters-full")
        waiters.append(waiter)
        self.stats.followers += 1
        return Follow(key, now + self.wait_timeout)

    def finish(self, key: str, cacheable: bool, now: float) -> list[W]:
        """The leader of ``key`` got a response: the followers to wake, in arrival order.

        Cacheable: wake them to be served from it. Not cacheable: wake them to fetch on their own,
        and mark ``key`` hit-for-pass until ``now + hit_for_pass_seconds``.
        """
        waiters = self._in_flight.pop(key, None)
        if waiters is None:
            raise KeyError(f"no fetch in flight for {key!r} (finish called twice, or without Lead)")
        if cacheable:
            self.stats.served_from_leader += len(waiters)
        else:
            self.stats.released_uncacheable += len(waiters)
            if self.hit_for_pass_seconds > 0:
                self._hit_for_pass.pop(key, None)
                self._hit_for_pass[key] = now + self.hit_for_pass_seconds
        return waiters

    def abandon(self, key: str) -> list[W]:
        """The leader of ``key`` failed: the followers to wake to fetch on their own."""
        waiters = self._in_flight.pop(key, None)
        if waiters is None:
            return []
        self.stats.released_abandoned += len(waiters)
        return waiters

    def leave(self, key: str, waiter: W) -> bool:
        """A follower of ``key`` gives up waiting (timeout); True if it was still waiting."""
        waiters = self._in_flight.get(key)
        if waiters is None:
            return False
        for index, candidate in enumerate(waiters):
            if candidate is waiter:
                del waiters[index]
                self.stats.timeouts += 1
                return True
        return False

    def in_flight(self, key: str) -> bool:
        """True while a leader is fetching ``key``."""
        return key in self._in_flight

    def waiting(self, key: str) -> int:
        """How many followers wait for ``key``."""
        return len(self._in_flight.get(key, ()))

    def hit_for_pass_until(self, key: str, now: float) -> float | None:
        """When ``key``'s hit-for-pass mark ends, or None if it has none at ``now``."""
        until = self._hit_for_pass.get(key)
        return until if until is not None and now < until else None

    def clear_hit_for_pass(self, key: str) -> None:
        """Forget ``key``'s hit-for-pass mark (e.g. after a purge)."""
        self._hit_for_pass.pop(key, None)

    def __len__(self) -> int:
        """Keys with a fetch in flight."""
        return len(self._in_flight)

    def _expire(self, now: float) -> None:
        marks = self._hit_for_pass
        while marks:
            key, until = next(iter(marks.items()))
            if until > now:
                break
            del marks[key]
