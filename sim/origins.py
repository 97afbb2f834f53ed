"""Several origins in the simulator: each ``[[origin]]`` its own server, and the behaviors that
fetch from one directly (as the live edge's ``edge.routes`` does).

Rules: a behavior whose ``target_origin`` is the topology's first origin goes the usual way
(peers, shield, origin: ``CacheNodeSim.upstream``). One that names another ``[[origin]]``, an
``[[external_origin]]`` or an ``[[origin_group]]`` is fetched by the edge from that origin
directly: no peer owner, no shield, one hop from the edge's city to the origin's. A group's
requests go to its primary here; its secondary takes them only when the primary is down, which
only a fault run models (``sim.faults``, the core's ``cdn.gateway.failover``).
- Each topology origin is an ``OriginSim`` of its own: its city (the hop's latency), its
  ``capacity_rps`` and ``workers`` (its queue), its request and byte counts (report.json's
  ``origins``). The origin service time is the network's (``network.origin_service_ms``), as
  for the first origin. An external origin is modelled at the first origin's place and capacity
  (the topology says nothing else of it), with counts of its own.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cdn.gateway.behaviors import Gateway
from cdn.topology import Topology
from sim.origin import OriginSim
from sim.queueing import ServerQueue

__all__ = ["DirectRoute", "SimOrigins"]


class DirectRoute:
    """How one edge reaches one origin directly: the origin and the one-way delay to it."""

    __slots__ = ("delay", "origin")

    def __init__(self, origin: OriginSim, delay: float) -> None:
        self.origin = origin
        self.delay = delay


class SimOrigins:
    """Every origin of a simulation by name, and each behavior's direct target (or None)."""

    def __init__(self, sim: Any, gateway: Gateway) -> None:
        topology: Topology = sim.topology
        series = sim.series
        self.by_name: dict[str, OriginSim] = {topology.origin.name: sim.origin}
        nodes = [
            *topology.more_origins,
            *(replace(topology.origin, name=e.name) for e in gateway.external_origins),
        ]
        for node in nodes:
            if node.name in self.by_name:
                continue
            # A generator of its own per origin: the run's other draws stay as they were.
            rng = random.Random(f"origin:{sim.seed}:{node.name}")
            queue = ServerQueue(
                node.capacity_rps, node.workers, rng, series.bucket_width, series.buckets
            )
            self.by_name[node.name] = OriginSim(node, queue, sim.latency.origin_service, series)
        self.latency = sim.latency
        # Per behavior (by index): the origin its misses go to directly, None: the usual way.
        self.targets: list[OriginSim | None] = [
            self._target(gateway, behavior.target_origin, topology.origin.name)
            for behavior in gateway.behaviors
        ]
        self._routes: dict[tuple[int, int], DirectRoute] = {}

    def _target(self, gateway: Gateway, target: str, main: str) -> OriginSim | None:
        group = gateway.origin_group(target)
        if group is not None:
            return self.by_name.get(group.members[0], self.by_name[main])
        if target == main:
            return None
        return self.by_name.get(target, self.by_name[main])

    def route(self, edge: Any, origin: OriginSim) -> DirectRoute:
        """The direct route from ``edge`` (a ``CacheNodeSim``) to ``origin``, built once."""
        route = self._routes.get((id(edge), id(origin)))
        if route is None:
            delay = self.latency.one_way(edge.node.location.point, origin.node.location.point)
            route = self._routes[id(edge), id(origin)] = DirectRoute(origin, delay)
        return route

    def others(self) -> Iterable[OriginSim]:
        """The origins besides the first (whose queues the run flushes as the first's)."""
        return list(self.by_name.values())[1:]

    def report(self) -> dict[str, dict[str, int]]:
        """report.json's ``origins``: each origin's requests and body bytes."""
        return {
            name: {"requests": origin.requests, "bytes": origin.bytes}
            for name, origin in self.by_name.items()
        }
