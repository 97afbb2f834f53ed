"""The geographic model: a scenario's nodes wired from its topology, and the run loop over them.

Rules: thin shell over the core (cdn.workload's request stream, cdn.cache's Store, cdn.http's
decide/absorb, cdn.ring's HashRing, cdn.geo). SimPy's clock drives the run: one process replays
the arrival stream (and hands the clock to purge events at their times), one process per
scheduled purge. Inside a request nothing waits on an event: latency terms are arithmetic
(cdn.latency), node queueing is the Lindley recursion (sim.queueing), collapsing and caching are
sim.node's. The parts, one job each: sim.options (SimOptions), sim.routing (user -> PoP, key ->
peer owner), sim.node (a cache node serving a request), sim.origin, sim.tally (the user requests'
totals), sim.result (SimResult and the report), sim.behaviors (a topology's behaviors in front of
each edge's serve; absent, and costing nothing, without them).

Per request: user location -> PoP (nearest, latency-based, or overflow past a saturated PoP) ->
that PoP's queue -> [peer owner by the ring, if the key is not the PoP's] -> cache decision ->
hit: done | stale: done + background revalidation | revalidate: 304 from upstream, no body |
miss: upstream (shield, then origin). Latency = connection set-up RTTs (new-connection share) +
the user RTT + queueing and service at each node + upstream RTTs + origin service time + transfer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Generator
from itertools import repeat
from operator import itemgetter

import numpy as np
import simpy

from cdn.collapse import Collapser
from cdn.latency import LatencyModel
from cdn.topology import Topology, Workload
from cdn.workload import Catalog, RequestBatch, RequestStream, UserModel
from cdn.workload.writes import storage_writes
from sim import collector
from sim.behaviors import SimGateway
from sim.bulk_random import uniforms
from sim.functions import SimFunctions
from sim.node import CacheNodeSim
from sim.nodecache import NodeCache
from sim.options import ROUTINGS, SimOptions
from sim.origin import OriginSim
from sim.origin_headers import OriginHeaders
from sim.outcomes import HIT_CODES
from sim.purges import Purge, apply_purge
from sim.queueing import ServerQueue
from sim.result import SimResult, build_result
from sim.routing import CANDIDATES, choose, owner_function, user_routes
from sim.stats import TimeSeries, bucket_layout
from sim.tally import RequestTally

# The columns of a served answer (done time, outcome code, body from upstream, Age).
_DONE, _CODE, _UPSTREAM = itemgetter(0), itemgetter(1), itemgetter(2)
SLICE = 4096  # requests served between two conversions of their answers to arrays

__all__ = [
    "CANDIDATES",
    "ROUTINGS",
    "CacheNodeSim",
    "OriginSim",
    "SimOptions",
    "SimResult",
    "Simulation",
]


class CacheKeys:
    """Object ids -> their cache keys (the workload path with ``{id}`` filled in), built once each.

    A list indexed by object id (ids are dense from 0): denser in memory than a dict, and a
    batch's keys come out of it in one C-level pass.
    """

    __slots__ = ("_keys", "path_of", "prefix", "suffix")

    def __init__(self, path: str, path_of: Callable[[int], str] | None = None) -> None:
        """``path_of``: an id's path when it is not ``path``'s (a path mix, Catalog.path_of)."""
        self.prefix, _, self.suffix = path.partition("{id}")
        self.path_of = path_of
        self._keys: list[str | None] = []

    def of(self, ids: list[int]) -> list[str]:
        """The cache keys of ``ids``, in order."""
        keys = self._keys
        top = max(ids) + 1
        if top > len(keys):
            keys.extend([None] * (top - len(keys)))
        found = list(map(keys.__getitem__, ids))
        if None in found:  # objects seen for the first time (found by C-level scans)
            index = found.index(None)
            while True:
                obj = ids[index]
                key = keys[obj]
                if key is None:
                    key = keys[obj] = (
                        f"{self.prefix}{obj}{self.suffix}"
                        if self.path_of is None
                        else self.path_of(obj)
                    )
                found[index] = key
                try:
                    index = found.index(None, index + 1)
                except ValueError:
                    break
        return found  # type: ignore[return-value]


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
        # Called per batch with (batch, latencies in s, edge outcome codes) when set: the demo
        # reads per-request latencies from it (demo.latency); nothing else in the run changes.
        self.on_latencies: Callable[[RequestBatch, np.ndarray, np.ndarray], None] | None = None
        self.purges = (*options.purges, *self._write_purges(workload, expected))
        self._build_nodes(width, buckets)
        self.gate = SimGateway.of(self)  # behaviors / a path mix (sim.behaviors), else None
        # Edge functions (sim.functions): None without any, and then no hook costs anything.
        self.functions = SimFunctions.build(topology, self.nodes)
        self._build_routes()
        self.region_names, self.region_of_user = self._regions()

    # -- construction ----------------------------------------------------------------------------

    def _write_purges(self, workload: Workload, duration: float) -> list[Purge]:
        """The workload's storage writes as hard URL purges on every cache (cdn.workload.writes)."""
        rng = np.random.default_rng([self.seed, 0x57])  # a stream of its own: requests unchanged
        catalog = Catalog(workload)
        writes = storage_writes(workload, duration, rng)
        self.storage_writes = len(writes)
        return [Purge(at=t, kind="url", value=catalog.path_of(obj)) for t, obj in writes]

    def _build_nodes(self, width: float, buckets: int) -> None:
        topology, options, rng = self.topology, self.options, self.rng
        origin = topology.origin
        self.origin = OriginSim(
            origin,
            ServerQueue(origin.capacity_rps, origin.workers, rng, width, buckets),
            self.latency.origin_time,
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
            sim_node.up_delay = self.latency.fetch_leg(node.location.point, upstream.location.point)
            sim_node.origin_extra = self.latency.back_extra("origin")
            sim_node.relay_extra = self.latency.back_extra("relayed")
            peers = topology.peers_of(node)
            if len(peers) > 1:
                workload = self.topology.workload
                sim_node.owner_of = owner_function(
                    peers,
                    self.nodes,
                    self.site,
                    Catalog(workload).path_of if workload.paths else workload.path,
                )
                sim_node.peer_delay = {
                    peer.name: self.latency.fetch_leg(node.location.point, peer.location.point)
                    for peer in peers
                }

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
        self.routes: list[list[tuple[CacheNodeSim, float]]] = user_routes(
            self.users, edges, self.latency
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
        tally = RequestTally(len(self.region_names), self.region_of_user)
        if self.options.faults:
            from sim.faults import run_with_faults

            workload = self.topology.workload
            keys = CacheKeys(workload.path, Catalog(workload).path_of if workload.paths else None)
            return run_with_faults(self, tally, on_progress, keys.of)
        env = simpy.Environment()
        for purge in sorted(self.purges, key=lambda p: p.at):
            env.process(self._purge(env, purge))
        env.process(self._arrivals(env, tally, on_progress))
        with collector.deferred():
            env.run()
        result = build_result(self, tally)
        if self.functions is not None:
            self.functions.add_to(result.report)
        return result

    def _purge(self, env: simpy.Environment, purge: Purge):
        yield env.timeout(purge.at)
        apply_purge(self.nodes.values(), purge)

    def _arrivals(self, env: simpy.Environment, tally: RequestTally, on_progress):
        latency = self.latency
        rng = self.rng
        new_share = latency.new_connection_share
        setup_rtts = latency.setup_rtts
        client_bits = 8.0 / latency.client_bandwidth_bps
        path_bits = 8.0 / min(latency.client_bandwidth_bps, latency.backbone_bandwidth_bps)
        wake = 0.5 * latency.user_wakeups  # each way of the user leg (cdn.latency, Wake-ups)
        hit_codes = np.array(sorted(int(code) for code in HIT_CODES))
        routes = self.routes
        # Per user location: its nearest edge, the one-way delay and the set-up delay there.
        nearest_edge = [route[0][0] for route in routes]
        nearest_one_way = np.array([route[0][1] for route in routes], dtype=np.float64)
        nearest_setup = setup_rtts * 2.0 * nearest_one_way
        workload = self.topology.workload
        keys = CacheKeys(workload.path, Catalog(workload).path_of if workload.paths else None)
        gate = self.gate
        # The gateway outermost (admission), then the edge functions around the cache node.
        serve = CacheNodeSim.serve if self.functions is None else self.functions.serve
        if gate is not None:
            gate.inner = serve
            gate.functions = self.functions
            serve = gate.serve
        routing = self.options.routing
        purge_times = sorted(p.at for p in self.purges)
        series = self.series
        warmup_t, warmup_n = self.warmup_cut()
        origins = [self.origin, *(gate.origins.others() if gate is not None else ())]
        if math.isfinite(warmup_t):
            for origin in origins:
                origin.steady_from = warmup_t
        seen = 0
        for number, batch in enumerate(self.stream.batches(), 1):
            if warmup_n is not None and seen <= warmup_n < seen + len(batch.times):
                warmup_t = float(batch.times[warmup_n - seen])  # the first steady request's time
                for origin in origins:
                    origin.steady_from = warmup_t
            seen += len(batch.times)
            count = len(batch.times)
            last = float(batch.times[-1])
            # The connection set-up draws of the batch, one per request in order (the rng's only
            # use during a run, so the sequence is the per-request one), drawn at once.
            fresh = uniforms(rng, count) < new_share if new_share else np.zeros(count, np.bool_)
            if routing == "nearest":
                users = batch.users
                one_way = nearest_one_way[users]
                arrive = batch.times + np.where(fresh, nearest_setup[users], 0.0) + one_way + wake
                done = np.empty(count, dtype=np.float64)
                codes = np.empty(count, dtype=np.int64)
                upstream = np.empty(count, dtype=np.bool_)
                # Served in slices of SLICE requests (and up to the next purge, then the purge
                # runs): a slice's Python objects (arguments, answers) are reused memory still in
                # the CPU caches, where a whole batch's would stream through main memory.
                start = 0
                while start < count:
                    stop = min(start + SLICE, count)
                    if purge_times:
                        stop = max(start, min(stop, int(batch.times.searchsorted(purge_times[0]))))
                    if stop > start:
                        ids = batch.obj_ids[start:stop].tolist()
                        served = list(
                            map(
                                serve,
                                list(map(nearest_edge.__getitem__, users[start:stop].tolist())),
                                keys.of(ids),
                                ids,
                                batch.sizes[start:stop].tolist(),
                                arrive[start:stop].tolist(),
                                repeat(False, stop - start),
                                repeat(False, stop - start),
                            )
                        )
                        # The answers' columns, one C-level pass each.
                        done[start:stop] = np.fromiter(map(_DONE, served), np.float64, stop - start)
                        codes[start:stop] = np.fromiter(map(_CODE, served), np.int64, stop - start)
                        upstream[start:stop] = np.fromiter(
                            map(_UPSTREAM, served), np.bool_, stop - start
                        )
                    elif purge_times:  # the purge's time has come: it runs before the rest
                        yield env.timeout(purge_times.pop(0) - env.now)
                    start = stop
            else:
                obj_keys = keys.of(batch.obj_ids.tolist())
                one_way, done, codes, upstream = yield from self._routed(
                    env, batch, fresh.tolist(), obj_keys, routes, purge_times, serve
                )
                done, codes = np.array(done), np.array(codes)
            if gate is not None:
                batch = gate.settle(batch)  # answered by the gateway: no body
            bits = np.where(upstream, path_bits, client_bits)
            latencies = done - batch.times + one_way + wake + batch.sizes * bits
            edge_hit = np.isin(codes, hit_codes)
            if gate is not None:
                gate.record(batch, latencies, edge_hit, warmup_t)
            tally.record(batch, latencies, edge_hit, warmup_t, series)
            if self.on_latencies is not None:
                self.on_latencies(batch, latencies, codes)
            for node in self.nodes.values():
                node.sweep(last)
                node.queue.flush()  # fold the batch's arrivals into the counters
            for origin in origins:
                origin.queue.flush()
            if number % collector.YOUNG_EVERY == 0:
                collector.collect_young()
            if last > env.now:
                yield env.timeout(last - env.now)
            if on_progress is not None:
                on_progress(last, tally.requests)

    def _routed(
        self,
        env: simpy.Environment,
        batch: RequestBatch,
        fresh: list[bool],
        obj_keys: list[str],
        routes: list[list[tuple[CacheNodeSim, float]]],
        purge_times: list[float],
        serve: Callable[..., tuple[float, int, bool, int]] = CacheNodeSim.serve,
    ) -> Generator[simpy.Event, None, tuple[np.ndarray, list[float], list[int], list[bool]]]:
        """Serve a batch request by request under latency-based or overflow routing.

        The PoP choice reads the queues' state at each request's time, so choices and service
        interleave. Returns (one-way delays, done times, outcomes, upstream flags).
        """
        routing, overflow_wait = self.options.routing, self.options.overflow_wait
        setup_rtts = self.latency.setup_rtts
        wake = 0.5 * self.latency.user_wakeups
        one_ways: list[float] = []
        done: list[float] = []
        codes: list[int] = []
        upstream: list[bool] = []
        for t, key, obj, size, u, new_connection in zip(
            batch.times.tolist(),
            obj_keys,
            batch.obj_ids.tolist(),
            batch.sizes.tolist(),
            batch.users.tolist(),
            fresh,
            strict=True,
        ):
            while purge_times and t >= purge_times[0]:
                yield env.timeout(purge_times.pop(0) - env.now)
            edge, one_way = choose(routes[u], t, routing, overflow_wait)
            arrive = t + (setup_rtts * 2.0 * one_way if new_connection else 0.0) + one_way + wake
            finished, code, from_upstream, _ = serve(edge, key, obj, size, arrive, False, False)
            one_ways.append(one_way)
            done.append(finished)
            codes.append(code)
            upstream.append(from_upstream)
        return np.array(one_ways), done, codes, upstream

    def warmup_cut(self) -> tuple[float, int | None]:
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
