"""The fault schedule as the simulator asks it, and the figures of each phase of its window.

Rules: pure (no clock, no I/O); ``Schedule`` answers what holds for a node or the origin at a
time (``cdn.faults.Fault`` is the scenario format), ``phase_of`` says whether a time is before,
during or after the fault window, ``PhaseFigures`` adds up one phase (sim.faults fills them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdn.faults import ORIGIN_KINDS, Fault
from sim.report import ratio
from sim.stats import LatencyHistogram

__all__ = ["PHASES", "PhaseFigures", "Schedule", "phase_of"]

PHASES = ("before", "during", "after")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A fault scenario as questions the run asks: what holds for ``node`` at ``t``."""

    faults: tuple[Fault, ...]

    def node_fault(self, name: str, t: float) -> Fault | None:
        """The node fault (kill, stop, restart, partition) holding for ``name`` at ``t``."""
        for fault in self.faults:
            if fault.node == name and fault.kind not in ORIGIN_KINDS and fault.active(t):
                return fault
        return None

    def origin_fault(self, kind: str, t: float, origin: str) -> Fault | None:
        """The fault of ``kind`` holding at ``t`` on the origin called ``origin``."""
        for fault in self.faults:
            if fault.kind == kind and fault.node == origin and fault.active(t):
                return fault
        return None

    def window(self, run_end: float) -> tuple[float, float]:
        """The fault window: the first fault's start to the last one's end (``run_end`` for
        a kill, which is never undone)."""
        start = min(fault.at for fault in self.faults)
        end = max(run_end if fault.end is None else fault.end for fault in self.faults)
        return start, max(end, start)

    def restarts(self) -> list[Fault]:
        """The restarts, in start order (each empties its node's cache)."""
        return [fault for fault in self.faults if fault.kind == "restart"]


def phase_of(t: float, window: tuple[float, float]) -> int:
    """0 (before), 1 (during) or 2 (after) the fault ``window`` for a time ``t``."""
    start, end = window
    return 0 if t < start else (1 if t < end else 2)


class PhaseFigures:
    """The figures of one phase (before / during / after)."""

    __slots__ = ("errors", "hits", "latency", "origin", "requests", "stale", "stale_upstream")

    def __init__(self) -> None:
        self.requests = self.errors = self.stale = self.hits = self.origin = 0
        self.stale_upstream = 0
        self.latency = LatencyHistogram()

    def report(self) -> dict[str, Any]:
        """This phase's figures for ``report["faults"]["phases"]``."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "stale_served": self.stale,
            "stale_served_any_tier": self.stale_upstream,
            "origin_requests": self.origin,
            "hits": self.hits,
            "hit_ratio": ratio(self.hits, self.requests),
            "p99_ms": self.latency.percentile_ms(99) if self.latency.count else 0.0,
        }
