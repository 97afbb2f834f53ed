"""The schedule of a load run: intended send times, URLs and routes, in time order, in batches.

Requests come from the workload model of cdn.workload (the simulator's stream: same catalog,
popularity, sizes, users, seed and sharding) or from a trace's timestamps (cdn.trace readers).
Each request's user location picks its route: the user's nearest edge of the topology (cdn.geo
nearest, as the simulator routes), or the ``--target`` URLs in turn (round robin).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import numpy as np

from cdn.gateway.compression import accept_encoding_field
from cdn.geo import Point, ranked_by_distance
from cdn.latency import LatencyModel
from cdn.topology import Node, Topology, Workload
from cdn.trace import open_trace
from cdn.workload.arrivals import RequestStream
from cdn.workload.catalog import Catalog
from cdn.workload.draws import coding_seed, draw_coding
from cdn.workload.users import UserLocation, UserModel
from loadgen.credentials import Credentials
from loadgen.plan import LoadPlan, check_plan, check_target
from loadgen.profile import Profile, constant_profile, parse_profile

TRACE_USER_STREAM = 0x54524345  # "TRCE": seeds the user draws of trace requests
TRACE_CHUNK = 1 << 14


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes and how it is reported: pop (edge name or target), region, location."""

    pop: str
    base_url: str
    region: str
    location: str
    headers: dict[str, str]
    # The user's next-nearest edge, where it goes after a connect failure here (as anycast).
    fallback: Route | None = None
    # One-way propagation delay user -> this edge, seconds (cdn.latency; set only when the
    # topology emulates latency: loadgen.latency then emulates the user <-> edge leg).
    one_way: float = 0.0


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive scheduled requests: intended times (s from the start), paths and user indexes.

    URLs and routes are resolved one request at a time (``Schedule.resolve``) as requests are
    sent, so a batch of 65,536 requests costs no long pause to prepare.
    """

    times: list[float]
    keys: list[int] | list[str]  # object ids (workload) or paths (trace)
    users: list[int]
    first: int  # sequence number of the batch's first request in this process

    def __len__(self) -> int:
        return len(self.times)


def _edge_point(node: Node) -> Point:
    return node.location.point


def _pop_name(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc + parts.path


class Schedule:
    """The requests one process sends for ``plan`` (its shard), as time-ordered batches."""

    def __init__(self, plan: LoadPlan) -> None:
        check_plan(plan)
        self.plan = plan
        self.topology: Topology = plan.resolved_topology()
        workload = self.topology.workload
        if plan.rate is not None:
            workload = replace(workload, rate=float(plan.rate))
        if plan.objects is not None:
            workload = replace(workload, objects=int(plan.objects))
        self.workload: Workload = workload
        self.users = UserModel(workload.users)
        self.targets = tuple(check_target(t) for t in plan.targets)
        self.shard_index, self.shard_count = plan.shard
        self.profile: Profile = (
            constant_profile(workload.rate)
            if plan.profile.strip().lower() == "constant"
            else parse_profile(plan.profile, workload.rate, plan.duration)
        )
        self.edges: tuple[Node, ...] = self.topology.edges
        self.catalog = Catalog(workload)
        self._path_of = self.catalog.path_of
        # Keys and signatures per request (loadgen.credentials); rows of routes per key variant.
        self.credentials = Credentials.of(self.topology, self.catalog, plan.seed)
        variants = self.credentials.variants if self.credentials is not None else None
        # The codings clients accept (workload.accept_encoding), drawn per request as the
        # simulator draws them (cdn.workload.draws.draw_coding); routes per (variant, coding).
        # Without the key nothing is added (aiohttp then sends its own default field).
        self._codings = workload.accept_encoding
        self._coding_fields: tuple[dict[str, str], ...] = ({},)
        if self._codings != (("identity", 1.0),):
            self._coding_fields = tuple(
                {"Accept-Encoding": accept_encoding_field(c)} for c, _ in self._codings
            )
        self._coding_index = {c: i for i, (c, _) in enumerate(self._codings)}
        self._coding_uniform = random.Random(
            coding_seed(workload.seed if plan.seed is None else plan.seed)
        ).random
        self._variant_routes = [
            self._build_routes({**v, **c}) for v in (variants or ({},)) for c in self._coding_fields
        ]
        self._routes = [row for rows in self._variant_routes for row in rows]
        self.stream: RequestStream | None = None
        if plan.trace is None:
            self.stream = self._build_stream()

    # -- routes ------------------------------------------------------------------------------

    def _build_routes(self, api_key: dict[str, str]) -> list[list[Route]]:
        """routes[target or 0][user]: in topology mode one row (each user's nearest edge);
        every route sends the ``api_key`` header(s)."""
        rows: list[list[Route]] = []
        locations: tuple[UserLocation, ...] = self.users.locations
        by_city = self.workload.users.source == "cities"

        def region(user: UserLocation) -> str:
            # As the simulator reports regions: continents for city users, else region names.
            return user.continent if by_city else user.name

        def headers(user: UserLocation) -> dict[str, str]:
            if not self.plan.location_header:
                return dict(api_key)
            point = user.location.point
            return {"X-Client-Location": f"{point.lat:.4f},{point.lon:.4f}", **api_key}

        if self.targets:
            for target in self.targets:
                rows.append(
                    [
                        Route(_pop_name(target), target, region(u), u.name, headers(u))
                        for u in locations
                    ]
                )
        else:
            row = []
            edge_urls = dict(self.plan.edge_urls)
            network = self.topology.network
            model = LatencyModel.from_network(network) if network.emulate_latency else None
            for user in locations:
                point = user.location.point
                ranked = ranked_by_distance(point, self.edges, _edge_point)
                route = None
                for edge in reversed(ranked):  # nearest last: each route falls back to the next
                    url = edge_urls.get(edge.name, edge.url).rstrip("/")
                    one_way = model.one_way(point, edge.location.point) if model else 0.0
                    route = Route(
                        edge.name, url, region(user), user.name, headers(user), route, one_way
                    )
                assert route is not None
                row.append(route)
            rows.append(row)
        return rows

    @property
    def routes(self) -> list[list[Route]]:
        """routes[target or 0][user] of every key variant: every route a request can take."""
        return self._routes

    @property
    def pops(self) -> list[str]:
        """Names of the pops (edges or targets) requests can go to, in topology/target order."""
        if self.targets:
            return [_pop_name(t) for t in self.targets]
        return [edge.name for edge in self.edges]

    # -- the workload stream -----------------------------------------------------------------

    def _horizon(self) -> float:
        """Seconds of the run's time window (math.inf when only --requests bounds it)."""
        return self.plan.duration if self.plan.duration is not None else math.inf

    def _build_stream(self) -> RequestStream:
        plan = self.plan
        rate = self.workload.rate
        horizon = self._horizon()
        # Stream time s maps to run time T with C(T) = rate * s (see loadgen.profile).
        stream_end = math.inf if math.isinf(horizon) else self.profile.count_until(horizon) / rate
        full = RequestStream(
            self.workload,
            users=self.users,
            catalog=self.catalog,
            seed=plan.seed,
            arrival=plan.arrival,
            duration=stream_end,
        )
        if plan.requests is not None:
            full = full.limited(plan.requests)
        if self.shard_count == 1:
            return full
        if plan.requests is not None:
            # A shard keeps its part of the first N requests of the whole stream: end the window
            # just after the N-th request of the full stream.
            last = None
            for batch in full.batches():
                last = float(batch.times[-1])
            if last is None:
                return full.shard(self.shard_index, self.shard_count).window(0.0, 0.0)
            stream_end = min(stream_end, math.nextafter(last, math.inf))
            return RequestStream(
                self.workload,
                users=self.users,
                catalog=self.catalog,
                seed=plan.seed,
                arrival=plan.arrival,
                duration=stream_end,
            ).shard(self.shard_index, self.shard_count)
        return full.shard(self.shard_index, self.shard_count)

    @property
    def asked_rate(self) -> float:
        """Mean asked rate of this process (requests/s) over the run's window."""
        horizon = self._horizon()
        if self.plan.trace is not None or math.isinf(horizon):
            return self.workload.rate / self.shard_count if self.plan.trace is None else 0.0
        return self.profile.count_until(horizon) / horizon / self.shard_count

    def batches(self) -> Iterator[Batch]:
        """The schedule in time order."""
        if self.stream is not None:
            yield from self._stream_batches()
        else:
            yield from self._trace_batches()

    def resolve(self, batch: Batch, k: int) -> tuple[str, str, Route]:
        """The method, URL and route of request ``k`` of ``batch``."""
        method, path, route = self.resolve_path(batch, k)
        return method, route.base_url + path, route

    def resolve_path(self, batch: Batch, k: int) -> tuple[str, str, Route]:
        """The method, path (without the base URL) and route of request ``k`` of ``batch``
        (its route sends its API key; its path carries its query variant and signature, its
        method is the mix's: loadgen.credentials)."""
        key = batch.keys[k]
        path = key if isinstance(key, str) else self._path_of(key)
        method = "GET"
        variant = 0
        if self.credentials is not None:
            method, path, variant = self.credentials.for_request(key, path)
        if len(self._coding_fields) > 1:
            coding = draw_coding(self._coding_uniform, self._codings)
            variant = variant * len(self._coding_fields) + self._coding_index[coding]
        rows = self._variant_routes[variant]
        return method, path, rows[(batch.first + k) % len(rows)][batch.users[k]]

    def _stream_batches(self) -> Iterator[Batch]:
        assert self.stream is not None
        rate = self.workload.rate
        identity = self.profile.is_constant and self.profile.rates[0] == rate
        horizon = self._horizon()
        sent = 0
        for batch in self.stream.batches():
            times = batch.times
            if not identity:
                times = self.profile.time_of(
                    times * rate, horizon if math.isfinite(horizon) else 0.0
                )
            yield Batch(times.tolist(), batch.obj_ids.tolist(), batch.users.tolist(), sent)
            sent += len(batch)

    def _trace_batches(self) -> Iterator[Batch]:
        plan = self.plan
        assert plan.trace is not None
        prefix, _, suffix = self.workload.path.partition("{id}")
        horizon = self._horizon()
        limit = plan.requests
        seed = self.workload.seed if plan.seed is None else plan.seed
        first_time: float | None = None
        index = 0
        sent = 0
        pending: list[tuple[float, str]] = []
        pending_users: list[float] = []
        rng = None
        for record in open_trace(plan.trace):
            if limit is not None and index >= limit:
                break
            if first_time is None:
                first_time = record.time
            t = record.time - first_time
            if t >= horizon:
                break
            if index % TRACE_CHUNK == 0:
                rng = np.random.default_rng(
                    [seed % (1 << 64), TRACE_USER_STREAM, index // TRACE_CHUNK]
                )
            assert rng is not None
            u = float(rng.random())
            mine = index % self.shard_count == self.shard_index
            index += 1
            if not mine:
                continue
            pending.append((t, f"{prefix}{record.obj_id}{suffix}"))
            pending_users.append(u)
            if len(pending) >= TRACE_CHUNK:
                yield self._trace_batch(pending, pending_users, sent)
                sent += len(pending)
                pending, pending_users = [], []
        if pending:
            yield self._trace_batch(pending, pending_users, sent)

    def _trace_batch(
        self, items: list[tuple[float, str]], uniforms: list[float], first: int
    ) -> Batch:
        users = self.users.indexes_for(np.array(uniforms)).tolist()
        return Batch([t for t, _ in items], [path for _, path in items], users, first)
