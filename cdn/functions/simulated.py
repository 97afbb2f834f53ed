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
from typing import Any

from cdn.functions.cost import FunctionPrices, FunctionUsage, billed_duration_ms, usage_cost
from cdn.functions.instances import Grant, InstancePool, InstanceTiming, Throttle
from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import FunctionKind

__all__ = ["SimulatedFunction", "Started", "functions_section"]


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
        self.billed_ms = 0
        self.busy_seconds = 0.0

    def start(self, now: float) -> Started | Throttle:
        """A request reaches the function's trigger at ``now``."""
        self.invocations += 1
        if self.pool is None:
            return self._started(Grant(-1, cold=False))
        grant = self.pool.acquire(now)
        if isinstance(grant, Throttle):
            self.throttles += 1
            return grant
        if grant.cold:
            self.cold_starts += 1
        return self._started(grant)

    def _started(self, grant: Grant) -> Started:
        seconds = self.timing.time(grant)
        # Lambda bills the handler's run; the init phase of a cold start is not billed here.
        self.billed_ms += billed_duration_ms(self.timing.duration * 1000)
        self.busy_seconds += seconds
        return Started(grant.instance, seconds, grant.cold)

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
