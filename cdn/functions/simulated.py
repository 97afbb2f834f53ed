"""One function at one place (a PoP) as the simulator drives it: instances, time, tallies and cost.

Rules:
- a Lambda@Edge function has an InstancePool (cold starts, keep-warm expiry, throttling beyond
  ``concurrency``, the same rules the live runtime applies) and takes ``timing.time(grant)``;
- a CloudFront Function has no instances: it never starts cold and is never throttled here
  (CloudFront does not publish a per-PoP limit for them); it takes ``timing.duration``;
- every run is tallied; ``report()`` is the function's entry of report.json's ``functions``
  section, with its cost at the given prices (billed duration in 1 ms steps, per invocation).
The caller (sim/) owns time: ``now`` is a parameter and the caller calls ``finish`` at
``now + started.seconds``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Any

from cdn.functions.cost import FunctionPrices, FunctionUsage, billed_duration_ms, usage_cost
from cdn.functions.instances import InstancePool, InstanceTiming, Throttle
from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import FunctionKind

__all__ = [
    "DEFAULT_TIMINGS",
    "SimulatedFunction",
    "Started",
    "functions_section",
    "scaled_timing",
    "timing_of",
]

# The duration model when the topology gives none, per kind (seconds). Assumptions of ours,
# rounded up from bench/functions.py on the development machine: a warm Lambda-style invoke
# adds 0.13-0.18 ms plus the handler, a cold start takes 89-101 ms (process start + import +
# init), a CloudFront Function runs in ~0.03 ms. Measure your own with `cdn fn invoke --bench`.
DEFAULT_TIMINGS = {
    FunctionKind.LAMBDA_EDGE: InstanceTiming(duration=0.0005, init_duration=0.100),
    FunctionKind.CLOUDFRONT_FUNCTION: InstanceTiming(duration=0.00005, init_duration=0.0),
}
# Lambda gives a function CPU in proportion to its memory, one full vCPU at 1,769 MB (AWS Lambda
# developer guide, "Memory and computing power"); more memory adds no single-thread speed.
FULL_VCPU_MB = 1769


def timing_of(spec: FunctionSpec) -> InstanceTiming:
    """The duration model of ``spec``: its ``duration`` / ``init_duration``, else the kind's."""
    default = DEFAULT_TIMINGS[spec.kind]
    return InstanceTiming(
        default.duration if spec.duration is None else spec.duration,
        default.init_duration if spec.init_duration is None else spec.init_duration,
    )


def scaled_timing(timing: InstanceTiming, measured_mb: int, memory_mb: int) -> InstanceTiming:
    """``timing`` measured at ``measured_mb``, moved to ``memory_mb`` (CPU-bound code: CPU share
    grows with memory up to one vCPU at 1,769 MB)."""
    factor = min(measured_mb, FULL_VCPU_MB) / min(memory_mb, FULL_VCPU_MB)
    return InstanceTiming(timing.duration * factor, timing.init_duration * factor)


@dataclass(frozen=True, slots=True)
class Started:
    """A run that got an instance: it takes ``seconds``; ``cold`` when it started one."""

    instance: int
    seconds: float
    cold: bool


class SimulatedFunction:
    """One function at one PoP."""

    def __init__(self, spec: FunctionSpec, timing: InstanceTiming) -> None:
        self.spec = spec
        self.timing = timing
        self.pool = (
            InstancePool(spec.concurrency, spec.keep_warm)
            if spec.kind is FunctionKind.LAMBDA_EDGE
            else None
        )
        self.invocations = 0
        self.cold_starts = 0
        self.throttles = 0
        # Lambda bills the handler's run; the init phase of a cold start is not billed here.
        # CloudFront Functions are billed per invocation only: no billed duration.
        self._billed = billed_duration_ms(timing.duration * 1000) if self.pool is not None else 0
        self._warm: dict[int, Started] = {}  # Started of a warm run by instance, made once
        self._no_instance = Started(-1, timing.duration, False)
        # (end, instance, start) of the ``run``s not released yet, a heap
        self._pending: list[tuple[float, int, float]] = []
        # ``run``'s constants: the pool's idle map (kept in time order, never rebound)
        self._duration = timing.duration
        self._keep_warm = spec.keep_warm
        self._idle = self.pool._idle if self.pool is not None else {}

    def start(self, now: float) -> Started | Throttle:
        """A request reaches the function's trigger at ``now``."""
        self.invocations += 1
        pool = self.pool
        if pool is None:
            return self._no_instance
        grant = pool.acquire(now)
        if type(grant) is Throttle:
            self.throttles += 1
            return grant
        if grant.cold:
            self.cold_starts += 1
            started = Started(grant.instance, self.timing.time(grant), True)
        else:
            started = self._warm.get(grant.instance)
            if started is None:
                started = self._warm[grant.instance] = Started(
                    grant.instance, self.timing.duration, False
                )
        return started

    def run(self, now: float) -> float:
        """``start`` and ``finish`` in one call for a caller that knows no other clock than the
        request times: the seconds the run takes from ``now`` (init included when cold), or -1.0
        when throttled. The simulator's hot path.

        The run's instance goes back to the pool at ``now + seconds``: runs ended by ``now`` are
        released before this one starts. Callers may come slightly out of time order (requests
        reach a PoP with different network delays): a run that ends before a run already
        started later on an instance begins takes that instance warm, as it would have in time
        order (nothing else changes: the instance stays busy with its later run).
        """
        pending = self._pending
        if pending:
            first = pending[0]
            end = first[0]
            if end <= now:
                if len(pending) == 1 and now - end < self._keep_warm:
                    idle = self._idle
                    if not idle or end >= idle[next(reversed(idle))]:
                        # The one run in flight ended and its instance, now the most recently
                        # used idle one, would be taken again warm: keep it busy (what release
                        # + take_warm do, without the pool's bookkeeping).
                        self.invocations += 1
                        seconds = self._duration
                        pending[0] = (now + seconds, first[1], now)
                        return seconds
                release = self.pool.release  # type: ignore[union-attr]
                while pending and pending[0][0] <= now:
                    end, instance, _ = heappop(pending)
                    release(instance, end)
            elif len(pending) == 1 and first[2] >= now + self._duration:
                # Out of order: this run ends before the one run in flight began on its
                # instance; in time order it would have taken that (then idle) instance warm.
                self.invocations += 1
                return self._duration
        pool = self.pool
        if pool is None:
            self.invocations += 1
            return self._duration
        instance = pool.take_warm(now)
        seconds = self._duration
        if instance >= 0:
            self.invocations += 1
        else:
            for _, _, later in pending:
                if later >= now + seconds:  # fits before a later run of that instance
                    self.invocations += 1
                    return seconds
            started = self.start(now)
            if type(started) is Throttle:
                return -1.0
            instance, seconds = started.instance, started.seconds
        heappush(pending, (now + seconds, instance, now))
        return seconds

    @property
    def billed_ms(self) -> int:
        """Billed milliseconds: every unthrottled run bills its duration in whole ms."""
        return (self.invocations - self.throttles) * self._billed

    def finish(self, started: Started, now: float) -> None:
        """The run ``started`` ended at ``now`` (its instance goes back to the warm pool)."""
        if self.pool is not None:
            self.pool.release(started.instance, now)

    def usage(self) -> FunctionUsage:
        """What was billed: throttled invocations are not billed."""
        memory = self.spec.memory if self.pool is not None else 2
        return FunctionUsage(
            self.spec.kind, memory, self.invocations - self.throttles, self.billed_ms
        )

    def report(self, prices: FunctionPrices) -> dict[str, Any]:
        """This function's entry of report.json's ``functions`` section."""
        return {
            "function": self.spec.name,
            "kind": self.spec.kind.value,
            "invocations": self.invocations,
            "cold_starts": self.cold_starts,
            "throttles": self.throttles,
            "billed_ms": self.billed_ms,
            "cost": usage_cost(prices, self.usage()),
        }


def functions_section(
    by_pop: Mapping[str, Iterable[SimulatedFunction]], prices: FunctionPrices
) -> dict[str, Any]:
    """report.json's ``functions`` section: totals per function, each PoP's entries, total cost."""
    pops: dict[str, list[dict[str, Any]]] = {}
    totals: dict[str, dict[str, Any]] = {}
    for pop, functions in sorted(by_pop.items()):
        for function in functions:
            entry = function.report(prices)
            pops.setdefault(pop, []).append(entry)
            total = totals.setdefault(
                entry["function"],
                {
                    "kind": entry["kind"],
                    "invocations": 0,
                    "cold_starts": 0,
                    "throttles": 0,
                    "billed_ms": 0,
                    "cost": 0.0,
                },
            )
            for key in ("invocations", "cold_starts", "throttles", "billed_ms", "cost"):
                total[key] += entry[key]
    return {
        "functions": totals,
        "pops": pops,
        "cost": sum(total["cost"] for total in totals.values()),
    }
