"""The predicted side: run the simulator on the topology and workload the load generator used.

Rules: the simulator gets the same topology (its workload, with the demo's rate), the same seed
and the same duration, and the load generator sends Poisson arrivals (its default), as the
simulator's stream does, so both replay one request sequence (cdn.workload.RequestStream).
The per-cache counts are read from the finished Simulation's nodes, because report.json gives
ratios but not every raw count this comparison needs (bytes passed to owner peers).

Peer sharding: the live edge and sim.model both hash ``cdn.ring.peer_key`` (the primary cache
key, ``http://<origin host:port>/obj/42``), so they pick the same owner peer; ``ring_agrees``
checks it on a sample of objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cdn.ring import HashRing, peer_key
from cdn.topology import Topology
from demo.compare import NodeFigures, RunFigures
from demo.functions import predicted_functions
from demo.latency import SimLatencies
from sim.model import SimOptions, SimResult, Simulation

RING_CHECK_OBJECTS = 64


@dataclass(frozen=True, slots=True)
class Prediction:
    """The simulator's result and the figures drawn from it."""

    result: SimResult
    figures: RunFigures
    ring_agrees: bool  # simulated peer owners are the live edges' owners (per-edge comparable)
    latencies: SimLatencies | None = None  # per-request latencies, all and per edge (demo.latency)


def live_key(topology: Topology, obj: int) -> str:
    """What a live edge of ``topology`` hashes for object ``obj`` (its cache key, edge/proxy.py)."""
    origin = topology.origin
    path = topology.workload.path.replace("{id}", str(obj))
    return peer_key(f"{origin.host}:{origin.port}", path)


def ring_agrees(simulation: Simulation) -> bool:
    """True when every sharded simulated edge picks the same owner as the live edge would."""
    topology = simulation.topology
    for name, node in simulation.nodes.items():
        if node.owner_of is None:
            continue
        ring = HashRing([peer.name for peer in topology.peers_of(topology.node(name))])
        for obj in range(RING_CHECK_OBJECTS):
            if node.owner_of(obj).node.name != ring.owner(live_key(topology, obj)):
                return False
    return True


def predicted_figures(simulation: Simulation, result: SimResult) -> RunFigures:
    """The predicted side from a finished ``simulation`` and its ``result``."""
    caches = {}
    for name, node in simulation.nodes.items():
        pop = result.report["pops"][name]
        caches[name] = NodeFigures(
            role=node.node.role,
            requests=node.requests,
            forwarded_to_peer=node.forwarded,
            outcomes={k: int(v) for k, v in pop["outcomes"].items()},
            bytes=node.bytes - node.forwarded_bytes,
            # Live edges count a collapsed follower's body as from upstream, not the cache.
            hit_bytes=node.bytes_hit - node.bytes_collapsed,
            upstream_requests=node.upstream_requests,
        )
    report = result.report
    return RunFigures(
        caches=caches,
        origin_requests=int(report["origin"]["requests"]),
        origin_bytes=int(report["origin"]["bytes"]),
        user_requests=int(report["requests"]),
        latency_ms=dict(report.get("latency_ms") or {}),
        functions=predicted_functions(report),
    )


def predict(
    topology: Topology,
    *,
    seed: int,
    duration: float,
    on_progress: Callable[[float, int], None] | None = None,
) -> Prediction:
    """Simulate ``duration`` seconds of ``topology``'s workload with ``seed`` (nearest routing)."""
    options = SimOptions(seed=seed, duration=duration, routing="nearest")
    simulation = Simulation(topology, options)
    agrees = ring_agrees(simulation)
    latencies = simulation.on_latencies = SimLatencies.of(simulation)
    result = simulation.run(on_progress)
    return Prediction(result, predicted_figures(simulation, result), agrees, latencies)
