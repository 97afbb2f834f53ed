"""Function instances: warm pool, cold starts, keep-warm expiry and concurrency, as one state machine.

Rules:
- a request takes the most recently used idle instance (warm); when none is idle and fewer
  than ``concurrency`` instances exist, a new one starts (cold); otherwise it is throttled at
  once (Lambda never queues a synchronous invoke: no silent serialization);
- an instance idle for ``keep_warm`` seconds is stopped (scale to zero);
- an instance that timed out, crashed or ran out of memory is released with ``keep=False``
  and never reused (the next request starts a fresh one).
The live runtime (fn/) and the simulator drive the same object; ``now`` is always a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

__all__ = ["Grant", "InstancePool", "InstanceTiming", "Throttle"]


@dataclass(frozen=True, slots=True)
class Grant:
    """Run on ``instance``; ``cold`` when it has to start first."""

    instance: int
    cold: bool


@dataclass(frozen=True, slots=True)
class Throttle:
    """No instance is free and ``concurrency`` are busy: refuse (429 / 503)."""

    busy: int
    concurrency: int


class InstancePool:
    """The instances of one function at one place (an edge, a PoP)."""

    def __init__(self, concurrency: int, keep_warm: float) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency {concurrency} is below 1")
        if keep_warm < 0:
            raise ValueError(f"keep_warm {keep_warm} is negative")
        self.concurrency = concurrency
        self.keep_warm = keep_warm
        # instance -> idle since, kept in time order: the oldest first (expiry looks at the
        # front), the most recently used last (a request takes it): O(1) both.
        self._idle: dict[int, float] = {}
        self._busy: set[int] = set()
        self._next = 0
        self._warm_grants: list[Grant] = []  # Grant(i, cold=False) by instance, made once
        self.cold_starts = 0
        self.throttles = 0

    @property
    def busy(self) -> int:
        """Instances running a request now (concurrent executions)."""
        return len(self._busy)

    @property
    def warm(self) -> int:
        """Idle instances ready to take a request."""
        return len(self._idle)

    def acquire(self, now: float) -> Grant | Throttle:
        """An instance for a request arriving at ``now``, or Throttle."""
        idle = self._idle
        if idle:
            if now - next(iter(idle.values())) >= self.keep_warm:
                self.expire(now)
            if idle:
                instance = next(reversed(idle))
                del idle[instance]
                self._busy.add(instance)
                return self._warm_grants[instance]
        if len(self._busy) >= self.concurrency:
            self.throttles += 1
            return Throttle(len(self._busy), self.concurrency)
        instance = self._next
        self._next += 1
        self._warm_grants.append(Grant(instance, cold=False))
        self._busy.add(instance)
        self.cold_starts += 1
        return Grant(instance, cold=True)

    def take_warm(self, now: float) -> int:
        """``acquire``'s warm case without a Grant: the instance taken, or -1 (then call
        ``acquire``: it starts one cold or throttles). The simulator's hot path."""
        idle = self._idle
        if idle and now - next(iter(idle.values())) < self.keep_warm:
            instance = next(reversed(idle))
            del idle[instance]
            self._busy.add(instance)
            return instance
        return -1

    def release(self, instance: int, now: float, *, keep: bool = True) -> None:
        """``instance`` finished at ``now``; ``keep=False`` retires it (killed or broken)."""
        self._busy.discard(instance)
        if keep:
            idle = self._idle
            if idle and now < idle[next(reversed(idle))]:  # out of time order (the simulator)
                idle[instance] = now
                ordered = sorted(idle.items(), key=itemgetter(1))
                idle.clear()
                idle.update(ordered)
            else:
                idle[instance] = now

    def expire(self, now: float) -> list[int]:
        """Stop instances idle for ``keep_warm`` by ``now``; returns their ids."""
        idle = self._idle
        expired = []
        keep_warm = self.keep_warm
        for instance, since in idle.items():
            if now - since < keep_warm:
                break  # the rest went idle later
            expired.append(instance)
        for instance in expired:
            del idle[instance]
        return expired

    def next_expiry(self) -> float | None:
        """When the next idle instance expires (None when none is idle)."""
        if not self._idle:
            return None
        return next(iter(self._idle.values())) + self.keep_warm


@dataclass(frozen=True, slots=True)
class InstanceTiming:
    """A function's run time model: ``duration`` per invoke, plus ``init_duration`` when cold."""

    duration: float
    init_duration: float = 0.0

    def time(self, grant: Grant) -> float:
        """Seconds the function adds to a request on ``grant``."""
        return self.duration + (self.init_duration if grant.cold else 0.0)
