"""The geographic model: users, routing, PoP tiers, peers, collapsing and purges over the core.

Rules: thin shell over the core (cdn.workload's request stream, cdn.cache's Store, cdn.http's
decide/absorb, cdn.ring's HashRing, cdn.geo). SimPy's clock drives the run: one process replays
the arrival stream (and hands the clock to purge events at their times), one process per
scheduled purge. Inside a request nothing waits on an event: latency terms are arithmetic
(sim.latency), node queueing is the Lindley recursion (sim.queueing), and request collapsing keeps,
per node and key, the time the in-flight fetch completes (later requests for the key before then
wait for it; after a stale-while-revalidate refresh starts they are served stale). A miss is
stored as soon as it is decided, timestamped with its completion time; the in-flight check comes
before the cache lookup, so nothing is served before it has arrived.

Per request: user location -> PoP (nearest, latency-based, or overflow past a saturated PoP) ->
that PoP's queue -> [peer owner by the ring, if the key is not the PoP's] -> cache decision ->
hit: done | stale: done + background revalidation | revalidate: 304 from upstream, no body |
miss: upstream (shield, then origin). Latency = connection set-up RTTs (new-connection share) +
the user RTT + queueing and service at each node + upstream RTTs + origin service time + transfer.
Statistics stream (HDR histograms, per-bucket counters), so memory does not grow with run length.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from cdn.cache.policies import POLICIES
from cdn.collapse import Collapser, Follow, Lead
from cdn.geo import distance_km
from cdn.ring import HashRing, peer_key
from cdn.topology import Node, Topology
from cdn.workload import RequestStream, UserModel
from sim.httpcache import (
    BYPASS,
    COLLAPSED,
    HIT,
    HIT_CODES,
    MISS,
    NOT_STORED,
    OUTCOMES,
    REVALIDATED,
    STALE,
    STORED,
    UNCACHEABLE,
    NodeCache,
    OriginHeaders,
)
from sim.latency import LatencyModel
from sim.purges import Purge
from sim.queueing import ServerQueue
from sim.report import SCHEMA_VERSION, ratio
from sim.stats import (
    LatencyHistogram,
    TimeSeries,
    bucket_layout,
    latency_summary,
    span_lengths,
)

ROUTINGS = ("nearest", "latency", "overflow")
CANDIDATES = 3  # PoPs considered per user location by latency-based and overflow routing


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


class OriginSim:
    """The origin: a queue of ``capacity_rps`` plus a fixed service time per request."""

    __slots__ = (
        "bytes",
        "node",
        "queue",
        "requests",
        "series",
        "service_time",
        "steady_bytes",
        "steady_from",
        "steady_requests",
    )

    def __init__(self, node: Node, queue: ServerQueue, service_time: float, series: TimeSeries):
        self.node = node
        self.queue = queue
        self.service_time = service_time
        self.requests = 0
        self.bytes = 0
        self.series = series
        self.steady_from = math.inf  # requests arriving from then on count as steady state
        self.steady_requests = self.steady_bytes = 0

    def fetch(self, t: float, size: int, conditional: bool) -> float:
        """Serve a request arriving at ``t``; the time its response leaves the origin."""
        wait, service = self.queue.serve(t)
        self.requests += 1
        series = self.series
        index = series.index(t)
        series.series["origin_requests"][index] += 1
        steady = t >= self.steady_from
        if steady:
            self.steady_requests += 1
        if not conditional:
            self.bytes += size
            series.series["origin_bytes"][index] += size
            if steady:
                self.steady_bytes += size
        return t + wait + service + self.service_time


class CacheNodeSim:
    """A shield or edge: its queue, its NodeCache, its collapsing, its upstream, peers, counters."""

    __slots__ = (
        "bytes",
        "bytes_collapsed",
        "bytes_hit",
        "cache",
        "collapsed",
        "collapser",
        "forwarded",
        "forwarded_bytes",
        "hits",
        "leaders",
        "node",
        "origin_bytes",
        "outcomes",
        "owner_of",
        "peer_delay",
        "queue",
        "refreshing",
        "requests",
        "up_delay",
        "upstream",
        "upstream_bytes",
        "upstream_requests",
    )

    def __init__(
        self, node: Node, queue: ServerQueue, cache: NodeCache, collapser: Collapser[None]
    ) -> None:
        self.node = node
        self.queue = queue
        self.cache = cache
        self.collapser = collapser
        self.upstream: CacheNodeSim | OriginSim | None = None
        self.up_delay = 0.0
        self.owner_of: Callable[[int], CacheNodeSim] | None = None
        self.peer_delay: dict[str, float] = {}
        # key -> (completion time, fill result) of the fetch led here; the Collapser learns the
        # end (finish/abandon) lazily, at the next request for the key or the next sweep.
        self.leaders: dict[str, tuple[float, int]] = {}
        self.refreshing: dict[str, float] = {}  # key -> end of its background refresh
        self.requests = self.hits = self.bytes = self.bytes_hit = self.bytes_collapsed = 0
        self.upstream_requests = self.upstream_bytes = self.origin_bytes = 0
        self.collapsed = self.forwarded = self.forwarded_bytes = 0
        self.outcomes = [0] * len(OUTCOMES)

    def serve(
        self, key: str, obj: int, size: int, t: float, from_peer: bool, conditional: bool
    ) -> tuple[float, int, bool, int]:
        """Handle a request arriving at ``t``.

        Returns (response-ready time, outcome, whether the body came from upstream, Age of the
        response in whole seconds, which the requesting cache subtracts from its freshness).
        """
        self.requests += 1
        wait, service = self.queue.serve(t)
        t += wait + service
        leader = self.leaders.get(key)
        if leader is not None and leader[0] <= t:
            self._end_lead(key, leader)
            leader = None
        owner_of = self.owner_of
        if owner_of is not None and not from_peer:
            owner = owner_of(obj)
            if owner is not self:
                if leader is not None:
                    return self._follow(key, obj, size, t, conditional, leader, owner)
                return self._forward(key, obj, size, t, conditional, owner, True)
        if not conditional:
            self.bytes += size
        cache = self.cache
        refresh_until = self.refreshing.get(key)
        if refresh_until is not None:
            if refresh_until > t:
                self._count_hit(STALE, size, conditional)
                return t, STALE, False, cache.age_of(key, t)
            del self.refreshing[key]
        if leader is not None:
            return self._follow(key, obj, size, t, conditional, leader, None)
        code, found = cache.lookup(key, t)
        if code == HIT:
            self._count_hit(HIT, size, conditional)
            age = found.corrected_initial_age + t - found.response_time
            return t, HIT, False, int(age) if age > 0 else 0
        if code == STALE:
            self._count_hit(STALE, size, conditional)
            age = cache.age_of(key, t)
            done, up_age = self._fetch(key, obj, size, t, True)
            cache.refresh(key, obj, size, found, t, done, up_age)
            self.refreshing[key] = done
            return t, STALE, False, age
        if code == BYPASS:
            self.outcomes[BYPASS] += 1
            done, up_age = self._fetch(key, obj, size, t, conditional)
            return done, BYPASS, not conditional, up_age
        lead = type(self.collapser.join(key, t, None)) is Lead  # else hit-for-pass: alone
        if code == REVALIDATED:
            self._count_hit(REVALIDATED, size, conditional)
            done, up_age = self._fetch(key, obj, size, t, True)
            result = STORED
            if not cache.refresh(key, obj, size, found, t, done, up_age):
                done, up_age = self._fetch(key, obj, size, done, False)
                result = NOT_STORED
            if lead:
                self.leaders[key] = (done, result)
            return done, REVALIDATED, False, cache.age_of(key, done)
        # A miss fetches the whole object even for a conditional request (decide() strips the
        # client's validators from a miss): the node stores it and answers 304 downstream.
        self.outcomes[MISS] += 1
        done, up_age = self._fetch(key, obj, size, t, False)
        result = cache.fill(key, obj, size, found, t, done, up_age)
        if lead:
            self.leaders[key] = (done, result)
        return done, MISS, not conditional, up_age

    def _count_hit(self, code: int, size: int, conditional: bool) -> None:
        self.outcomes[code] += 1
        self.hits += 1
        if not conditional:
            self.bytes_hit += size

    def _forward(
        self,
        key: str,
        obj: int,
        size: int,
        t: float,
        conditional: bool,
        owner: CacheNodeSim,
        join: bool,
    ) -> tuple[float, int, bool, int]:
        """Pass a request for a key ``owner`` holds to it (one peer hop each way).

        As on the edge the non-owner collapses first (``join``): its leader's answer is served
        to its followers (the peer's response is served, not stored, by the non-owner).
        """
        lead = join and type(self.collapser.join(key, t, None)) is Lead
        self.forwarded += 1
        delay = self.peer_delay[owner.node.name]
        done, code, upstream, age = owner.serve(key, obj, size, t + delay, True, conditional)
        done += delay
        if not conditional:
            self.bytes += size
            self.forwarded_bytes += size
        if lead:
            self.leaders[key] = (done, self.cache.relayed)
        return done, code, upstream, age

    def _follow(
        self,
        key: str,
        obj: int,
        size: int,
        t: float,
        conditional: bool,
        leader: tuple[float, int],
        owner: CacheNodeSim | None,
    ) -> tuple[float, int, bool, int]:
        """A request for a key whose fetch is in flight here: the core Collapser decides."""
        done, result = leader
        joined = self.collapser.join(key, t, None)
        if type(joined) is Follow:
            self.collapsed += 1
            if done <= joined.deadline and result == STORED:
                if owner is not None and not conditional:
                    self.bytes += size
                self._count_hit(COLLAPSED, size, conditional)
                if not conditional:
                    self.bytes_collapsed += size
                return done, COLLAPSED, not conditional, self.cache.age_of(key, done)
            if done > joined.deadline:  # timed out: leave and fetch alone
                self.collapser.leave(key, None)
                t = joined.deadline
            else:  # woken by an uncacheable or abandoned leader: fetch alone now
                t = done
        # Alone (waiters full, timed out, released): fetch without storing; the leader's copy
        # is the one kept.
        if owner is not None:
            return self._forward(key, obj, size, t, conditional, owner, False)
        self.outcomes[MISS] += 1
        done, up_age = self._fetch(key, obj, size, t, False)
        return done, MISS, not conditional, up_age

    def _end_lead(self, key: str, leader: tuple[float, int]) -> None:
        """Tell the Collapser how the fetch led here ended (as the edge's Ticket does)."""
        del self.leaders[key]
        done, result = leader
        if result == STORED:
            self.collapser.finish(key, True, done)
        elif result == UNCACHEABLE:
            self.collapser.finish(key, False, done)
        else:
            self.collapser.abandon(key)

    def _fetch(
        self, key: str, obj: int, size: int, t: float, conditional: bool
    ) -> tuple[float, int]:
        upstream = self.upstream
        delay = self.up_delay
        self.upstream_requests += 1
        if not conditional:
            self.upstream_bytes += size
        if isinstance(upstream, OriginSim):
            if not conditional:
                self.origin_bytes += size
            return upstream.fetch(t + delay, size, conditional) + delay, 0
        assert upstream is not None
        done, _, _, age = upstream.serve(key, obj, size, t + delay, False, conditional)
        return done + delay, age

    def sweep(self, now: float) -> None:
        """End the fetches and refreshes that completed before ``now`` (bounds memory)."""
        leaders = self.leaders
        ended = [(done, key) for key, (done, _) in leaders.items() if done <= now]
        for _, key in sorted(ended):
            self._end_lead(key, leaders[key])
        refreshing = self.refreshing
        if refreshing:
            self.refreshing = {k: until for k, until in refreshing.items() if until > now}


@dataclass
class SimResult:
    """What a run produced: the report plus what the plots need."""

    report: dict[str, Any]
    series: TimeSeries
    region_histograms: dict[str, LatencyHistogram]
    user_points: list[tuple[float, float, int]] = field(default_factory=list)
    pop_points: list[tuple[str, float, float, int, str]] = field(default_factory=list)
    # (name, lat, lon, requests) of the origin, for the world map
    origin_point: tuple[str, float, float, int] | None = None


class Simulation:
    """A scenario ready to run: ``Simulation(topology, options).run(on_progress)``."""

    def __init__(self, topology: Topology, options: SimOptions | None = None) -> None:
        self.topology = topology
        self.options = options = options or SimOptions()
        workload = topology.workload
        self.seed = workload.seed if options.seed is None else options.seed
        self.users = UserModel(workload.users)
        duration = options.duration
        if duration is None:
            duration = math.inf if options.requests is not None else workload.duration
        self.stream = RequestStream(
            workload, users=self.users, seed=self.seed, duration=duration, limit=options.requests
        )
        expected = duration if math.isfinite(duration) else options.requests / workload.rate
        self.expected_duration = expected
        width, buckets = bucket_layout(expected, options.buckets)
        self.series = TimeSeries(
            ("requests", "hits", "bytes", "bytes_hit", "origin_requests", "origin_bytes"),
            width,
            buckets,
        )
        self.latency = LatencyModel.from_network(topology.network)
        self.rng = random.Random(self.seed)
        self._build_nodes(width, buckets)
        self._build_routes()
        self.region_names, self.region_of_user = self._regions()

    # -- construction ----------------------------------------------------------------------------

    def _build_nodes(self, width: float, buckets: int) -> None:
        topology, options, rng = self.topology, self.options, self.rng
        origin = topology.origin
        self.origin = OriginSim(
            origin,
            ServerQueue(origin.capacity_rps, origin.workers, rng, width, buckets),
            self.latency.origin_service,
            self.series,
        )
        self.nodes: dict[str, CacheNodeSim] = {}
        for node in topology.caches:
            rule = self._rule()
            cache = NodeCache(
                options.cache_size or node.cache_size,
                options.policy or node.policy,
                topology.edge_settings.cache_config(),
                OriginHeaders(rule),
                exact=options.exact_http,
            )
            queue = ServerQueue(node.capacity_rps, node.workers, rng, width, buckets)
            settings = topology.edge_settings
            collapser: Collapser[None] = Collapser(
                max_waiters=settings.collapse_max_waiters,
                hit_for_pass_seconds=cache.config.hit_for_pass_seconds,
                wait_timeout=settings.collapse_timeout,
            )
            self.nodes[node.name] = CacheNodeSim(node, queue, cache, collapser)
        for sim_node in self.nodes.values():
            node = sim_node.node
            upstream = topology.upstream_of(node)
            assert upstream is not None
            sim_node.upstream = (
                self.origin if upstream.role == "origin" else self.nodes[upstream.name]
            )
            sim_node.up_delay = self.latency.one_way(node.location.point, upstream.location.point)
            peers = topology.peers_of(node)
            if len(peers) > 1:
                sim_node.owner_of = self._owner_function(peers)
                sim_node.peer_delay = {
                    peer.name: self.latency.one_way(node.location.point, peer.location.point)
                    for peer in peers
                }

    def _owner_function(self, peers: Sequence[Node]) -> Callable[[int], CacheNodeSim]:
        """The owner of an object in a peer group: the ring over what the live edge hashes."""
        ring = HashRing([peer.name for peer in peers])
        nodes = self.nodes
        memo: dict[int, CacheNodeSim] = {}
        path = self.topology.workload.path
        site = self.site

        def owner_of(obj: int) -> CacheNodeSim:
            found = memo.get(obj)
            if found is None:
                key = peer_key(site, path.replace("{id}", str(obj)))
                found = memo[obj] = nodes[ring.owner(key)]
            return found

        return owner_of

    @property
    def site(self) -> str:
        """The origin's ``host:port``: the site in the live edges' cache keys."""
        origin = self.topology.origin
        return f"{origin.host}:{origin.port}"

    def _rule(self):
        workload = self.topology.workload
        return self.topology.rule_for(workload.path.split("{id}")[0])

    def _build_routes(self) -> None:
        edges = [self.nodes[edge.name] for edge in self.topology.edges]
        self.routes: list[list[tuple[CacheNodeSim, float]]] = []
        for user in self.users.locations:
            point = user.location.point
            ranked = sorted(
                edges, key=lambda e: (distance_km(point, e.node.location.point), e.node.name)
            )[:CANDIDATES]
            self.routes.append(
                [(edge, self.latency.one_way(point, edge.node.location.point)) for edge in ranked]
            )

    def _regions(self) -> tuple[list[str], np.ndarray]:
        by_city = self.topology.workload.users.source == "cities"
        names = sorted({(u.continent if by_city else u.name) for u in self.users.locations})
        index = {name: i for i, name in enumerate(names)}
        of_user = np.array(
            [index[u.continent if by_city else u.name] for u in self.users.locations],
            dtype=np.int64,
        )
        return names, of_user

    # -- running ---------------------------------------------------------------------------------

    def run(self, on_progress: Callable[[float, int], None] | None = None) -> SimResult:
        """Run the scenario to the end; ``on_progress(sim_seconds, requests)`` after each batch."""
        env = simpy.Environment()
        histograms = [LatencyHistogram() for _ in self.region_names]
        user_counts = np.zeros(len(self.users), dtype=np.int64)
        user_bytes = np.zeros(len(self.users), dtype=np.int64)
        state = {"requests": 0, "bytes": 0, "hits": 0, "bytes_hit": 0, "end": 0.0}
        state.update(steady_requests=0, steady_bytes=0, steady_hits=0, steady_bytes_hit=0)
        self.steady_histogram = LatencyHistogram()
        for purge in sorted(self.options.purges, key=lambda p: p.at):
            env.process(self._purge(env, purge))
        env.process(self._arrivals(env, histograms, user_counts, user_bytes, state, on_progress))
        env.run()
        return self._result(histograms, user_counts, user_bytes, state)

    def _purge(self, env: simpy.Environment, purge: Purge):
        yield env.timeout(purge.at)
        for node in self.nodes.values():
            store = node.cache.store
            if purge.kind == "tag":
                store.purge_tag(purge.value, soft=purge.soft)
            elif purge.kind == "prefix":
                store.purge_prefix(purge.value, soft=purge.soft)
            else:
                store.purge_key(purge.value, soft=purge.soft)

    def _arrivals(self, env, histograms, user_counts, user_bytes, state, on_progress):
        latency = self.latency
        rng_random = self.rng.random
        new_share = latency.new_connection_share
        setup_rtts = latency.setup_rtts
        client_bits = 8.0 / latency.client_bandwidth_bps
        path_bits = 8.0 / min(latency.client_bandwidth_bps, latency.backbone_bandwidth_bps)
        prefix, _, suffix = self.topology.workload.path.partition("{id}")
        hit_codes = HIT_CODES
        routes = self.routes
        routing = self.options.routing
        overflow_wait = self.options.overflow_wait
        purge_times = sorted(p.at for p in self.options.purges)
        next_purge = purge_times.pop(0) if purge_times else math.inf
        series = self.series
        width = series.bucket_width
        region_of_user = self.region_of_user
        steady_histogram = self.steady_histogram
        warmup_t, warmup_n = self._warmup_cut()
        if math.isfinite(warmup_t):
            self.origin.steady_from = warmup_t
        seen = 0
        for batch in self.stream.batches():
            if warmup_n is not None and seen <= warmup_n < seen + len(batch.times):
                warmup_t = float(batch.times[warmup_n - seen])  # the first steady request's time
                self.origin.steady_from = warmup_t
            seen += len(batch.times)
            times = batch.times.tolist()
            ids = batch.obj_ids.tolist()
            sizes = batch.sizes.tolist()
            users = batch.users.tolist()
            latencies = [0.0] * len(times)
            edge_hit = [False] * len(times)
            for i, (t, obj, size, u) in enumerate(zip(times, ids, sizes, users, strict=True)):
                while t >= next_purge:
                    yield env.timeout(next_purge - env.now)
                    next_purge = purge_times.pop(0) if purge_times else math.inf
                route = routes[u]
                if routing == "nearest":
                    edge, one_way = route[0]
                else:
                    edge, one_way = self._choose(route, t, routing, overflow_wait)
                setup = 0.0
                if new_share and rng_random() < new_share:
                    setup = setup_rtts * 2.0 * one_way
                arrive = t + setup + one_way
                done, code, upstream, _ = edge.serve(
                    f"{prefix}{obj}{suffix}", obj, size, arrive, False, False
                )
                latencies[i] = done - t + one_way + size * (path_bits if upstream else client_bits)
                edge_hit[i] = code in hit_codes
            # Vectorised bookkeeping of the batch.
            lat = np.array(latencies)
            regions = region_of_user[batch.users]
            for region in np.unique(regions).tolist():
                histograms[region].record_many(lat[regions == region])
            np.add.at(user_counts, batch.users, 1)
            np.add.at(user_bytes, batch.users, batch.sizes)
            hits = np.array(edge_hit)
            if batch.times[-1] >= warmup_t:
                steady = batch.times >= warmup_t
                steady_histogram.record_many(lat[steady])
                steady_sizes = batch.sizes[steady]
                state["steady_requests"] += len(steady_sizes)
                state["steady_bytes"] += int(steady_sizes.sum())
                state["steady_hits"] += int(hits[steady].sum())
                state["steady_bytes_hit"] += int(batch.sizes[steady & hits].sum())
            index = (batch.times / width).astype(np.int64)
            series.grow(int(index[-1]) + 1)
            buckets = series.buckets
            for name, weights in (
                ("requests", None),
                ("hits", hits.astype(np.float64)),
                ("bytes", batch.sizes.astype(np.float64)),
                ("bytes_hit", np.where(hits, batch.sizes, 0).astype(np.float64)),
            ):
                counts = np.bincount(index, weights=weights, minlength=buckets)
                values = series.series[name]
                for j in np.flatnonzero(counts).tolist():
                    values[j] += float(counts[j])
            state["requests"] += len(times)
            state["bytes"] += int(batch.sizes.sum())
            state["hits"] += int(hits.sum())
            state["bytes_hit"] += int(batch.sizes[hits].sum())
            state["end"] = times[-1]
            for node in self.nodes.values():
                node.sweep(times[-1])
            if times[-1] > env.now:
                yield env.timeout(times[-1] - env.now)
            if on_progress is not None:
                on_progress(times[-1], state["requests"])

    def _warmup_cut(self) -> tuple[float, int | None]:
        """(time, request index) where the steady state starts; (inf, None) without a warm-up.

        The index is set (and the time found during the run) for a share of a request count.
        """
        options = self.options
        if options.warmup:
            return options.warmup, None
        if not options.warmup_share:
            return math.inf, None
        if options.requests is not None:
            return math.inf, math.ceil(options.warmup_share * options.requests)
        return options.warmup_share * self.expected_duration, None

    @staticmethod
    def _choose(route, t: float, routing: str, overflow_wait: float):
        if routing == "overflow":
            for edge, one_way in route:
                if edge.queue.backlog(t + one_way) < overflow_wait:
                    return edge, one_way
            return min(route, key=lambda r: r[0].queue.backlog(t + r[1]))
        return min(route, key=lambda r: 2.0 * r[1] + r[0].queue.backlog(t + r[1]))

    # -- the report ------------------------------------------------------------------------------

    def _result(self, histograms, user_counts, user_bytes, state) -> SimResult:
        topology, cost = self.topology, self.topology.cost
        overall = LatencyHistogram()
        for histogram in histograms:
            overall.merge(histogram)
        pops: dict[str, Any] = {}
        cost_pops: dict[str, float] = {}
        egress_total = requests_total = origin_total = 0.0
        outcomes = [0] * len(OUTCOMES)
        end = max(
            [state["end"], self.origin.queue.last_arrival]
            + [n.queue.last_arrival for n in self.nodes.values()]
        )
        for name, sim_node in sorted(self.nodes.items()):
            node = sim_node.node
            mean_utilization, peak_utilization = sim_node.queue.utilization(end)
            is_edge = node.role == "edge"
            # Users pay CDN egress at edges; shields' bytes stay inside the CDN.
            egress = sim_node.bytes / 1e9 * cost.egress_price(node.region) if is_edge else 0.0
            per_requests = sim_node.requests / 10_000 * cost.per_10k_requests if is_edge else 0.0
            origin_egress = sim_node.origin_bytes / 1e9 * cost.origin_egress_per_gb
            total = egress + per_requests + origin_egress
            egress_total += egress
            requests_total += per_requests
            origin_total += origin_egress
            cost_pops[name] = total
            if is_edge:
                for i, count in enumerate(sim_node.outcomes):
                    outcomes[i] += count
            store = sim_node.cache.store
            pops[name] = {
                "role": node.role,
                "city": node.location.label,
                "region": node.region,
                "policy": store.policy_name,
                "capacity": store.capacity,
                "requests": sim_node.requests,
                "hits": sim_node.hits,
                "hit_ratio": ratio(sim_node.hits, sim_node.requests - sim_node.forwarded),
                "byte_hit_ratio": ratio(
                    sim_node.bytes_hit, sim_node.bytes - sim_node.forwarded_bytes
                ),
                "bytes": sim_node.bytes,
                "forwarded_to_peer": sim_node.forwarded,
                "collapsed": sim_node.collapsed,
                "outcomes": dict(zip(OUTCOMES, sim_node.outcomes, strict=True)),
                "upstream_requests": sim_node.upstream_requests,
                "upstream_bytes": sim_node.upstream_bytes,
                "utilization": mean_utilization,
                "peak_utilization": peak_utilization,
                "cost": {
                    "egress": egress,
                    "requests": per_requests,
                    "origin_egress": origin_egress,
                    "total": total,
                },
            }
        regions = {}
        counts_by_region = np.bincount(
            self.region_of_user, weights=user_counts, minlength=len(self.region_names)
        )
        bytes_by_region = np.zeros(len(self.region_names), dtype=np.int64)
        np.add.at(bytes_by_region, self.region_of_user, user_bytes)
        for i, name in enumerate(self.region_names):
            regions[name] = {
                "requests": int(counts_by_region[i]),
                "bytes": int(bytes_by_region[i]),
                "latency_ms": latency_summary(histograms[i]),
            }
        served = state["bytes"]
        series = self.series
        used = max(series.used(), 1)
        origin_mean, origin_peak = self.origin.queue.utilization(end)
        report = {
            "schema_version": SCHEMA_VERSION,
            "mode": "geo",
            "scenario": topology.name,
            "seed": self.seed,
            "routing": self.options.routing,
            "duration_s": state["end"],
            "requests": state["requests"],
            "bytes": served,
            "hits": state["hits"],
            "hit_ratio": ratio(state["hits"], state["requests"]),
            "byte_hit_ratio": ratio(state["bytes_hit"], served),
            "outcomes": dict(zip(OUTCOMES, outcomes, strict=True)),
            "origin": {
                "requests": self.origin.requests,
                "bytes": self.origin.bytes,
                "utilization": origin_mean,
                "peak_utilization": origin_peak,
            },
            "origin_offload": 1.0 - ratio(self.origin.bytes, served) if served else 0.0,
            "latency_ms": latency_summary(overall),
            "pops": pops,
            "regions": regions,
            "cost": {
                "pops": cost_pops,
                "egress": egress_total,
                "requests": requests_total,
                "origin_egress": origin_total,
                "total": egress_total + requests_total + origin_total,
            },
            "purges": [
                {"at": p.at, "kind": p.kind, "value": p.value, "soft": p.soft}
                for p in self.options.purges
            ],
            "steady": self._steady(state),
            "timeseries": {
                "x": "seconds",
                "bucket_s": series.bucket_width,
                "last_bucket_s": float(span_lengths(series.bucket_width, used, end)[-1]),
                **{name: values[:used] for name, values in series.series.items()},
            },
        }
        user_points = [
            (u.location.point.lat, u.location.point.lon, int(user_counts[u.index]))
            for u in self.users.locations
        ]
        pop_points = [
            (
                n.node.name,
                n.node.location.point.lat,
                n.node.location.point.lon,
                n.requests,
                n.node.role,
            )
            for n in self.nodes.values()
        ]
        origin = topology.origin
        return SimResult(
            report=report,
            series=series,
            region_histograms=dict(zip(self.region_names, histograms, strict=True)),
            user_points=user_points,
            pop_points=pop_points,
            origin_point=(
                origin.name,
                origin.location.point.lat,
                origin.location.point.lon,
                self.origin.requests,
            ),
        )

    def _steady(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """The steady-state figures (requests after the warm-up), or None without a warm-up."""
        warmup_t, _ = self._warmup_cut()
        if not math.isfinite(warmup_t):
            warmup_t = self.origin.steady_from
        if not (self.options.warmup or self.options.warmup_share):
            return None
        served = state["steady_bytes"]
        origin = self.origin
        return {
            "warmup_s": warmup_t if math.isfinite(warmup_t) else None,
            "requests": state["steady_requests"],
            "bytes": served,
            "hits": state["steady_hits"],
            "hit_ratio": ratio(state["steady_hits"], state["steady_requests"]),
            "byte_hit_ratio": ratio(state["steady_bytes_hit"], served),
            "origin": {"requests": origin.steady_requests, "bytes": origin.steady_bytes},
            "origin_offload": 1.0 - ratio(origin.steady_bytes, served) if served else 0.0,
            "latency_ms": latency_summary(self.steady_histogram),
        }


_ = (BYPASS, NOT_STORED, UNCACHEABLE, MISS, REVALIDATED, COLLAPSED)
