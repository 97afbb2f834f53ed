"""Latency terms of a request: the formulas the simulator charges and the live twin emulates.

Rules: seconds everywhere; pure functions of points, sizes and the topology's ``[network]``
settings (no clock, no I/O, no global random: a new-connection draw is a bool the caller made
with its own seeded rng). Propagation is great-circle distance over fibre (cdn.geo, 200 km/ms)
times route inflation. Connection set-up costs one RTT for TCP and one more for TLS, paid only by
the share of requests on new connections; upstream hops reuse pooled connections. Transfer is the
object size over the narrowest link on the path (responses stream through the tiers, so the
bottleneck sets the pace).

The user <-> edge leg of one request, as the simulator charges it (sim.model) and the load
generator emulates it (loadgen.latency):

- ``to_edge(one_way, new_connection)``: before the request reaches the edge, the one-way delay,
  plus ``setup_rtts`` round trips when the request opens a new connection;
- ``from_edge(one_way, size, from_upstream)``: after the edge has the response, the one-way delay
  back plus the transfer of ``size`` bytes (client bandwidth for a body from the edge's cache,
  the narrowest link for one streamed from upstream).

Everything between (queueing and service at nodes, the upstream round trips, the origin's
service time) is the path's own: the simulator computes it, the live cluster takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdn.geo import Point, propagation_delay
from cdn.topology import Network

__all__ = ["LatencyModel"]


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """The network part of a request's latency, from a topology's ``[network]`` table."""

    route_inflation: float = 1.5
    new_connection_share: float = 0.0
    tls: bool = True
    client_bandwidth_bps: float = 100e6
    backbone_bandwidth_bps: float = 1e9
    origin_service: float = 0.020

    @classmethod
    def from_network(cls, network: Network) -> LatencyModel:
        """The model for a topology's ``[network]`` settings."""
        return cls(
            route_inflation=network.route_inflation,
            new_connection_share=network.new_connection_share,
            tls=network.tls,
            client_bandwidth_bps=network.client_bandwidth_mbps * 1e6,
            backbone_bandwidth_bps=network.backbone_bandwidth_mbps * 1e6,
            origin_service=network.origin_service_ms / 1000.0,
        )

    def one_way(self, a: Point, b: Point) -> float:
        """One-way propagation delay from ``a`` to ``b`` along an inflated fibre route, seconds."""
        return propagation_delay(a, b, self.route_inflation)

    def rtt(self, a: Point, b: Point) -> float:
        """Round-trip propagation time between ``a`` and ``b``, seconds."""
        return 2.0 * self.one_way(a, b)

    @property
    def setup_rtts(self) -> int:
        """Round trips a new connection pays before the request: TCP, plus TLS when enabled."""
        return 2 if self.tls else 1

    def client_transfer(self, size: int) -> float:
        """Seconds to deliver ``size`` bytes over the user's link."""
        return size * 8.0 / self.client_bandwidth_bps

    def path_transfer(self, size: int, upstream_hops: int) -> float:
        """Seconds to stream ``size`` bytes to the user through ``upstream_hops`` backbone hops."""
        bandwidth = self.client_bandwidth_bps
        if upstream_hops > 0:
            bandwidth = min(bandwidth, self.backbone_bandwidth_bps)
        return size * 8.0 / bandwidth

    def setup(self, one_way: float) -> float:
        """Seconds a new connection's set-up round trips cost over a leg of ``one_way`` seconds."""
        return self.setup_rtts * 2.0 * one_way

    def to_edge(self, one_way: float, new_connection: bool) -> float:
        """User -> edge: seconds from the user's send until the request reaches the edge."""
        return one_way + (self.setup(one_way) if new_connection else 0.0)

    def from_edge(self, one_way: float, size: int, from_upstream: bool) -> float:
        """Edge -> user: seconds from the response being ready at the edge to its last byte
        at the user (the way back plus the transfer; ``from_upstream``: the body streams from
        a shield or the origin, at the narrowest link's pace)."""
        return one_way + self.path_transfer(size, 1 if from_upstream else 0)
