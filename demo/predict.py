"""The predicted side: run the simulator on the topology and workload the load generator used.

Rules: the simulator gets the same topology (its workload, with the demo's rate), the same seed
and the same duration, and the load generator sends Poisson arrivals (its default), as the
simulator's stream does, so both replay one request sequence (cdn.workload.RequestStream).
The per-cache counts are read from the finished Simulation's nodes, because report.json gives
ratios but not every raw count this comparison needs (bytes passed to owner peers).

Peer sharding: a live edge picks a key's owner peer by hashing its cache key, which carries the
site (``http://<origin host:port>/obj/42``), while sim.model hashes the bare path (``/obj/42``).
The two rings then agree on about a third of the keys only, and per-edge figures cannot be
compared. ``EdgeKeyedSimulation`` hashes the live edge's key instead (an adaptation kept here
until sim.model does the same); ``ring_agrees`` checks that it took effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cdn.http import cache_key
from cdn.ring import HashRing
from cdn.topology import Node, Topology
from demo.compare import NodeFigures, RunFigures
from sim.model import CacheNodeSim, SimOptions, SimResult, Simulation

RING_CHECK_OBJECTS = 64


@dataclass(frozen=True, slots=True)
class Prediction:
    """The simulator's result and the figures drawn from it."""

    result: SimResult
    figures: RunFigures
    ring_agrees: bool  # simulated peer owners are the live edges' owners (per-edge comparable)


def live_key(topology: Topology, obj: int) -> str:
    """The cache key a live edge of ``topology`` uses for object ``obj`` (edge/proxy.py)."""
    origin = topology.origin
    path = topology.workload.path.replace("{id}", str(obj))
    return cache_key("http", f"{origin.host}:{origin.port}", path)


class EdgeKeyedSimulation(Simulation):
    """A Simulation whose peer rings hash the live edge's cache key (see the module docstring)."""

    def _owner_function(self, peers: Sequence[Node]) -> Callable[[int], CacheNodeSim]:
        ring = HashRing([peer.name for peer in peers])
        nodes = self.nodes
        memo: dict[int, CacheNodeSim] = {}
        topology = self.topology

        def owner_of(obj: int) -> CacheNodeSim:
            found = memo.get(obj)
            if found is None:
                found = memo[obj] = nodes[ring.owner(live_key(topology, obj))]
            return found

        return owner_of


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


def _forwarded_bytes(simulation: Simulation) -> dict[str, int]:
    """Bytes each edge passed on for keys another peer owns (``nearest`` routing, as the demo)."""
    forwarded: dict[str, int] = {}
    routes = simulation.routes
    for batch in simulation.stream.batches():
        for obj, size, user in zip(
            batch.obj_ids.tolist(), batch.sizes.tolist(), batch.users.tolist(), strict=True
        ):
            edge = routes[user][0][0]
            owner_of = edge.owner_of
            if owner_of is not None and owner_of(obj) is not edge:
                name = edge.node.name
                forwarded[name] = forwarded.get(name, 0) + size
    return forwarded


def predicted_figures(simulation: Simulation, result: SimResult) -> RunFigures:
    """The predicted side from a finished ``simulation`` and its ``result``."""
    forwarded_bytes = _forwarded_bytes(simulation)
    caches = {}
    for name, node in simulation.nodes.items():
        pop = result.report["pops"][name]
        caches[name] = NodeFigures(
            role=node.node.role,
            requests=node.requests,
            forwarded_to_peer=node.forwarded,
            outcomes={k: int(v) for k, v in pop["outcomes"].items()},
            bytes=node.bytes - forwarded_bytes.get(name, 0),
            hit_bytes=node.bytes_hit,
            upstream_requests=node.upstream_requests,
        )
    report = result.report
    return RunFigures(
        caches=caches,
        origin_requests=int(report["origin"]["requests"]),
        origin_bytes=int(report["origin"]["bytes"]),
        user_requests=int(report["requests"]),
        latency_ms=dict(report.get("latency_ms") or {}),
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
    simulation = EdgeKeyedSimulation(topology, options)
    agrees = ring_agrees(simulation)
    result = simulation.run(on_progress)
    return Prediction(result, predicted_figures(simulation, result), agrees)
