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

Overheads of the live path (``network.wakeup_ms``, ``fetch_overhead_ms``,
``relay_fetch_overhead_ms``, ``cached_fetch_overhead_ms``, ``origin_overhead_ms``): the live
twin runs every hop as a Python process on a shared machine, and each hop costs time beyond the
emulated delays: a node that idles between events takes time to take one up (the kernel waking
it, a virtual CPU being scheduled, the event loop's timer granularity), and its code runs on a
CPU shared with everything else. Measured per component, on the path each applies to:

- ``wakeup``: the user <-> edge leg pays it twice (``USER_WAKEUPS``: the edge takes up the
  request, the user takes up the response); half on each way. Measured on hits at the edges;
- ``fetch_overhead``: a fetch from the origin, beyond its emulated round trip (the node's
  round-trip timer, the HTTP client's work, the origin taking up the request, the node waking
  for the answer after idling through the origin's service time). Measured on misses of a node
  whose upstream is the origin;
- ``relay_fetch_overhead``: a fetch from a cache that passes it on (its own miss to a shield or
  the origin, a collapsed wait), beyond the round trip; the fetches further up are charged
  their own. Measured on misses two fetches deep, less the fetch from the origin; None (not
  set): as ``fetch_overhead``;
- ``cached_fetch_overhead``: a fetch the fetched node answers from its cache (a peer hit, a
  shield hit), beyond its round trip. Measured on peer hits and shield hits; None (not set): as
  ``fetch_overhead``;
- ``origin_overhead``: the origin, beyond its emulated service time (its timer, the body).

Probes showed the split (docs/demo.md): a fetch the upstream answers from its cache costs less
than one it passes on, and a miss two fetches deep less than twice a one-fetch miss.

A fetch's up leg is its propagation plus half the cached-fetch overhead (``fetch_leg``); the way
back adds the propagation and the rest of the fetch's own overhead (``back_extra``), known once
the fetched node answered. All 0 unless a topology sets them; ``cdn demo`` measures them on the
machine before each run (``estimate_overheads`` over probes of every node, demo.calibrate) when
latency is emulated.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from cdn.geo import Point, propagation_delay
from cdn.topology import Network

__all__ = [
    "USER_WAKEUPS",
    "LatencyModel",
    "Overheads",
    "Probe",
    "estimate_overheads",
    "interquartile_mean",
]

USER_WAKEUPS = 2  # the edge takes up the request; the user takes up the response


@dataclass(frozen=True, slots=True)
class Probe:
    """One calibration request: its measured time, what the model charges it without overheads
    (round trips and service time) and the upstream fetches on its path (seconds)."""

    measured: float
    charged: float
    fetches: int


@dataclass(frozen=True, slots=True)
class Overheads:
    """The live path's overheads (seconds): see the module's docstring."""

    wakeup: float
    fetch: float
    origin: float
    cached_fetch: float
    relay_fetch: float


def interquartile_mean(values: Iterable[float]) -> float:
    """The mean of the middle half of ``values`` (a quarter dropped at each end; the median of
    fewer than four): as robust to a few outliers as the median, and steadier than it when the
    samples fall in two groups (a probe that found the CPU free, one that waited for it)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values: expected at least one")
    cut = len(ordered) // 4
    if cut == 0:
        return statistics.median(ordered)
    return statistics.fmean(ordered[cut : len(ordered) - cut])


def _central(values: Iterable[float], what: str) -> float:
    values = list(values)
    if not values:
        raise ValueError(f"no {what} probe: expected at least one")
    return interquartile_mean(values)


def estimate_overheads(
    takeups: Iterable[float],
    origin: Iterable[Probe],
    through: Iterable[Probe],
    cached: Iterable[Probe] = (),
) -> Overheads:
    """The overheads from probes, each the interquartile mean of its samples, floored at 0.

    ``takeups``: times of hits at an edge (no fetch, no service time): two wake-ups each.
    ``origin``: probes of the origin: two wake-ups plus the origin's overhead. ``through``:
    misses whose ``fetches`` hops each pass the request on, the last to the origin: those one
    fetch deep give the fetch from the origin; deeper ones, less it, the relay fetch per further
    hop (none: the relay fetch is the fetch). ``cached``: probes answered from the cache of the
    node one hop away, a peer or a shield (none: the cached fetch is the fetch)."""
    through = [p for p in through if p.fetches > 0]
    cached = [p for p in cached if p.fetches > 0]
    wakeup = max(0.0, _central(takeups, "take-up") / USER_WAKEUPS)
    user = USER_WAKEUPS * wakeup
    at_origin = max(0.0, _central((p.measured - p.charged - user for p in origin), "origin"))
    rest = [(p.measured - p.charged - user - at_origin, p.fetches) for p in through]
    fetch = max(0.0, _central((r for r, k in rest if k == 1), "one-fetch miss"))
    deeper = [(r - fetch) / (k - 1) for r, k in rest if k > 1]
    relay = max(0.0, interquartile_mean(deeper)) if deeper else fetch
    if not cached:
        return Overheads(wakeup, fetch, at_origin, fetch, relay)
    per_fetch = _central(((p.measured - p.charged - user) / p.fetches for p in cached), "cached")
    return Overheads(wakeup, fetch, at_origin, max(0.0, per_fetch), relay)


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """The network part of a request's latency, from a topology's ``[network]`` table."""

    route_inflation: float = 1.5
    new_connection_share: float = 0.0
    tls: bool = True
    client_bandwidth_bps: float = 100e6
    backbone_bandwidth_bps: float = 1e9
    origin_service: float = 0.020
    wakeup: float = 0.0
    fetch_overhead: float = 0.0
    origin_overhead: float = 0.0
    cached_fetch_overhead: float | None = None  # None: as fetch_overhead
    relay_fetch_overhead: float | None = None  # None: as fetch_overhead

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
            wakeup=network.wakeup_ms / 1000.0,
            fetch_overhead=network.fetch_overhead_ms / 1000.0,
            origin_overhead=network.origin_overhead_ms / 1000.0,
            cached_fetch_overhead=_seconds(network.cached_fetch_overhead_ms),
            relay_fetch_overhead=_seconds(network.relay_fetch_overhead_ms),
        )

    def one_way(self, a: Point, b: Point) -> float:
        """One-way propagation delay from ``a`` to ``b`` along an inflated fibre route, seconds."""
        return propagation_delay(a, b, self.route_inflation)

    def rtt(self, a: Point, b: Point) -> float:
        """Round-trip propagation time between ``a`` and ``b``, seconds."""
        return 2.0 * self.one_way(a, b)

    @property
    def cached_fetch(self) -> float:
        """Seconds a fetch the fetched node answers from its cache costs beyond its round trip."""
        cached = self.cached_fetch_overhead
        return self.fetch_overhead if cached is None else cached

    @property
    def relay_fetch(self) -> float:
        """Seconds a fetch from a cache that passes it on costs beyond its round trip."""
        relay = self.relay_fetch_overhead
        return self.fetch_overhead if relay is None else relay

    def fetch_leg(self, a: Point, b: Point) -> float:
        """The up leg of a fetch from ``a`` to ``b``, seconds: the propagation plus half the
        cached-fetch overhead (what every fetch pays, whatever the answer)."""
        return self.one_way(a, b) + 0.5 * self.cached_fetch

    def back_extra(self, answered: str) -> float:
        """What the way back of a fetch adds to ``fetch_leg``, seconds, by how the fetched node
        ``answered``: ``cached`` (from its cache), ``relayed`` (a cache that passed the request
        on) or ``origin`` (the origin). With ``fetch_leg`` both ways, a fetch costs its round
        trip plus its own overhead."""
        overhead = {
            "cached": self.cached_fetch,
            "relayed": self.relay_fetch,
            "origin": self.fetch_overhead,
        }[answered]
        return overhead - self.cached_fetch

    @property
    def origin_time(self) -> float:
        """Seconds the origin takes per request: its service time plus its overhead."""
        return self.origin_service + self.origin_overhead

    @property
    def user_wakeups(self) -> float:
        """Seconds of wake-ups on the user <-> edge leg, half each way (``USER_WAKEUPS``)."""
        return USER_WAKEUPS * self.wakeup

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
