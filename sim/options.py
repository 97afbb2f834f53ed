"""How to run a scenario: the options a caller hands ``Simulation`` (overrides and model knobs).

Rules: a frozen value checked on construction; bad values fail with the value in the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdn.cache.policies import POLICIES
from cdn.faults import Fault
from sim.purges import Purge

ROUTINGS = ("nearest", "latency", "overflow")


@dataclass(frozen=True, slots=True)
class SimOptions:
    """How to run a scenario: overrides of the topology and model knobs."""

    seed: int | None = None
    requests: int | None = None
    duration: float | None = None
    routing: str = "nearest"
    policy: str | None = None
    cache_size: int | None = None
    purges: tuple[Purge, ...] = ()
    overflow_wait: float = 0.050  # seconds of queued work that make a PoP "saturated"
    buckets: int = 200
    exact_http: bool = False  # call absorb() for every fill (no EntryTemplate); for checks
    # Steady state: leave out the cold start. ``warmup`` seconds of simulated time, or
    # ``warmup_share`` of the run (of the requests with ``requests``, else of the duration).
    warmup: float = 0.0
    warmup_share: float = 0.0
    # A fault scenario (cdn.faults) to apply: the run goes request by request (sim.faults).
    faults: tuple[Fault, ...] = ()
    # The load generator's anycast withdrawal of a hung edge (loadgen.plan.LoadPlan.head_timeout):
    # a user whose edge has not answered in this many seconds goes to the next-nearest edge.
    head_timeout: float | None = None
    # The load generator's request timeout (loadgen.plan.LoadPlan.timeout, 10 s by default): a
    # user request not answered in this many seconds is an error (fault runs).
    client_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.routing not in ROUTINGS:
            raise ValueError(
                f"routing {self.routing!r} is not known (expected {', '.join(ROUTINGS)})"
            )
        if self.policy is not None and self.policy not in POLICIES:
            raise ValueError(
                f"policy {self.policy!r} is not known (expected {', '.join(POLICIES)})"
            )
        if self.requests is not None and self.requests < 1:
            raise ValueError(f"requests {self.requests} < 1")
        if self.warmup < 0:
            raise ValueError(f"warm-up {self.warmup} s is negative (expected seconds >= 0)")
        if not 0 <= self.warmup_share < 1:
            raise ValueError(f"warm-up share {self.warmup_share} is not in [0, 1)")
        if self.warmup and self.warmup_share:
            raise ValueError("give a warm-up in seconds or as a share of the run, not both")
        if not self.client_timeout > 0:
            raise ValueError(
                f"client timeout {self.client_timeout!r} is out of range (expected seconds > 0)"
            )
