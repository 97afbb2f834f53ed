"""Settings of one origin server: where it listens, what it serves and which faults it injects.

Rules: a frozen value built from a topology and/or command-line flags; no I/O here (the
admin token's environment variable is read by ``serving.auth.admin_token_from_env``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cdn.topology import CacheRule, Topology, Workload
from origin.faults import Faults
from serving.limits import ConnectionLimits

__all__ = ["OriginSettings"]


@dataclass(frozen=True, slots=True)
class OriginSettings:
    """Everything `create_app` and `run` need; ``port=0`` picks a free port."""

    host: str = "127.0.0.1"
    port: int = 8100
    cache_rules: tuple[CacheRule, ...] = ()
    workload: Workload = field(default_factory=Workload)
    faults: Faults = field(default_factory=Faults)
    admin_token: str | None = None
    access_log: bool = False
    name: str = "origin"
    # Largest body `?size=` may ask for (the edge's streaming test needs 200 MiB).
    max_size: int = 1024**3
    # Bodies larger than this are streamed in chunks of this size instead of sent at once.
    chunk_size: int = 64 * 1024
    # With faults.down at start-up: switch down off after this many seconds (None: stay down).
    down_for: float | None = None
    # Seed of the fault rng (jitter, error and stall draws); None means the workload's seed.
    fault_seed: int | None = None
    # Longest delay `/echo?delay=` accepts, in seconds.
    max_delay: float = 300.0
    # Request records kept for `GET /_cdn/requests`.
    request_log_size: int = 1000
    # Header, body and idle timeouts and the connection cap (serving.limits).
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    # Graceful shutdown (drain): how long in-flight requests may take to finish.
    drain_timeout: float = 10.0
    # Seconds every non-admin request waits before it is handled: the topology's
    # network.origin_service_ms when it emulates latency (the simulator's origin service time).
    service_time: float = 0.0

    @classmethod
    def from_topology(
        cls, topology: Topology, node: str | None = None, **overrides: Any
    ) -> OriginSettings:
        """Settings of the topology's origin called ``node`` (None: its [origin], or the first
        [[origin]]): its host, port, cache rules and workload. ValueError naming the origins
        when ``node`` is none of them."""
        origin = topology.origin
        if node is not None:
            found = [o for o in topology.origins if o.name == node]
            if not found:
                names = ", ".join(o.name for o in topology.origins)
                raise ValueError(
                    f"{topology.source} has no origin {node!r} (expected one of {names})"
                )
            origin = found[0]
        base = cls(
            host=origin.host,
            port=origin.port,
            cache_rules=topology.cache_rules,
            workload=topology.workload,
            name=origin.name,
            service_time=topology.network.origin_service_ms / 1000.0
            if topology.network.emulate_latency
            else 0.0,
        )
        return replace(base, **overrides)

    def with_changes(self, **changes: Any) -> OriginSettings:
        """A copy with ``changes`` (e.g. ``port=0`` in tests)."""
        return replace(self, **changes)

    @property
    def seed(self) -> int:
        """Seed of the fault rng."""
        return self.workload.seed if self.fault_seed is None else self.fault_seed
