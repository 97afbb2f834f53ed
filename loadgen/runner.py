"""The open-loop engine: send each request at its intended time, never waiting for earlier ones.

Rules:
- A dispatcher walks the schedule and sends each request at its intended time. It never awaits a
  response, so a slow server cannot slow the offered load (no coordinated omission). Plain
  ``http://`` GETs are written straight onto a keep-alive connection of the lean client
  (loadgen.wire: no task per request, connections opened before the schedule starts); other
  requests run as one aiohttp task each.
- Latency runs from the INTENDED start to the last body byte, so time spent queued anywhere
  (behind a busy dispatcher, for a pooled connection, in the server) counts. ``service`` runs
  from the actual start, for contrast. ``lag`` = actual start - intended start.
- Timers fire with about 1 ms granularity, so the dispatcher sleeps until ``plan.spin`` before a
  send time and then yields to the loop (``sleep(0)``) until it is due: sends are on time, and
  above ~1/spin requests/s that keeps a core busy. With ``spin`` 0 it sleeps whole timer ticks
  (``_TICK``) instead: no busy core, sends late by up to a tick (counted as lag, and in latency).
- More than ``plan.max_in_flight`` outstanding requests: the request is dropped and counted, not
  queued silently; lateness shows in the lag histogram.
- Every request sent ends as exactly one response (status < 500) or one error (by kind), so
  ``requests == responses + errors`` and ``scheduled == requests + dropped``.
- Anycast: a request whose edge refuses the connection or loses it before the response head
  (a dead edge) goes to the user's next-nearest edge (same request, latency from its intended
  start), and that edge's users go there for ``MOVE_SECONDS``; only when the last edge fails
  is it an error. A failure after the head is an error (nothing is sent twice). With
  ``plan.head_timeout`` a request without a response byte that long is moved the same way (a
  hung edge, loadgen.wire). When every edge of a user's chain is moved away from, the user
  goes to the one whose move ends first (not to the last, which may be the dead one).

Over 400 lines on purpose: one open-loop run (dispatch, both clients' send paths, anycast,
drain, report) whose parts share the run's hot state; the lean client is in loadgen/wire.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from loadgen.behaviors import BehaviorNames
from loadgen.cache_status import CacheOutcome, classify
from loadgen.latency import DelayedSends, UserLeg
from loadgen.plan import LoadPlan
from loadgen.report import LoadReport, describe_plan
from loadgen.schedule import Batch, Route, Schedule
from loadgen.stats import LoadStats, SampleBuffer, Second, Tally, ratio, value_at_percentile
from loadgen.wire import USER_AGENT, WireClient, WirePool, request_tail

OUTCOME_MEMO = 4096  # distinct (Cache-Status, X-Cache) pairs whose classification is kept
# Refusals, and preflights answered by the edge (204), are categories of their own, whatever the
# headers say (docs/load.md).
REFUSALS = {
    429: CacheOutcome("throttled", False),
    403: CacheOutcome("forbidden", False),
    204: CacheOutcome("preflight", False),
}
YIELD_EVERY = 32  # when behind schedule, let responses in after this many sends
_TICK = 0.001  # the event loop's timer granularity (libuv: 1 ms): the shortest real sleep
# After a connect failure at an edge, its users go to their next-nearest edge this long.
MOVE_SECONDS = 5.0
# Failures before any response byte: the edge is unreachable (refused, reset, closed).
_UNREACHABLE = (
    aiohttp.ClientConnectorError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientOSError,
)
WARM_SECONDS_PER_REQUEST = 0.004  # connections warmed: the asked rate times this, plus
WARM_EXTRA = 4


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot for live display: counts so far, achieved rate, latency and hit ratio so far."""

    elapsed: float
    window: float
    scheduled: int
    sent: int
    responses: int
    errors: int
    dropped: int
    in_flight: int
    asked_rate: float
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    hit_ratio: float
    lag_p99_ms: float


def error_kind(exc: BaseException) -> str:
    """A short name for why a request failed: connect_refused, timeout, server_disconnected, ..."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connect_refused"
        return "connect_error"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server_disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "payload_error"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "bad_response"
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        return "connection_reset" if isinstance(exc, ConnectionResetError) else "os_error"
    return type(exc).__name__


class Recorder:
    """Books each request's outcome into LoadStats; seconds count from ``t0`` (the run start).

    Latencies wait in a SampleBuffer and reach their histograms on ``flush()``: before anything
    reads the stats (progress, the report) and before a second is sealed.
    """

    def __init__(
        self,
        stats: LoadStats,
        t0: float,
        behavior_of: BehaviorNames | None = None,
        leg: UserLeg | None = None,
    ) -> None:
        self.stats = stats
        self.t0 = t0
        self.behavior_of = behavior_of  # topologies with behaviors: a slice per behavior
        self.leg = leg  # the emulated user <-> edge leg: its way back is added to each response
        self.samples = SampleBuffer()
        self._outcomes: dict[tuple[str | None, str | None], CacheOutcome] = {}

    def flush(self) -> None:
        """Add the buffered latencies to their histograms."""
        self.samples.flush()

    def _second_at(self, at: float) -> Second:
        index = max(0, int(at - self.t0))
        seconds = self.stats.seconds
        if index >= len(seconds):
            self.samples.flush()  # a new second seals an older one: its samples go in first
        return self.stats.second(index)

    def _outcome(self, cache_status: str | None, x_cache: str | None) -> CacheOutcome:
        # classify is a pure function of the two headers: keep its output per header pair.
        key = (cache_status, x_cache)
        found = self._outcomes.get(key)
        if found is None:
            found = classify(cache_status, x_cache)
            if len(self._outcomes) < OUTCOME_MEMO:
                self._outcomes[key] = found
        return found

    def _slices(self, route: Route) -> tuple[Tally, Tally, Tally, Tally]:
        stats = self.stats
        pop = stats.pops.get(route.pop) or stats.pops.setdefault(route.pop, Tally())
        region = stats.regions.get(route.region) or stats.regions.setdefault(route.region, Tally())
        location = stats.locations.get(route.location) or stats.locations.setdefault(
            route.location, Tally()
        )
        return stats.total, pop, region, location

    def dropped(self, intended: float) -> None:
        """A request not sent because too many were in flight."""
        self.stats.dropped += 1
        self._second_at(intended).dropped += 1

    def sent(self, started: float, lag: float) -> None:
        """A request started ``lag`` seconds after its intended time."""
        self.samples.add(self.stats.lag, max(lag, 0.0))
        self._second_at(started).sent += 1

    def response(
        self,
        route: Route,
        intended: float,
        started: float,
        done: float,
        status: int,
        cache_status: str | None,
        x_cache: str | None,
        size: int,
        target: bytes | str | None = None,
    ) -> None:
        """A response arrived in full; 5xx responses are booked as errors; 429, 403 and 204 as
        throttled, forbidden and preflight (their own cache-status categories). ``target``: the request
        line or path, for the behavior slice."""
        stats = self.stats
        code = str(status)
        stats.status_codes[code] = stats.status_codes.get(code, 0) + 1
        if status >= 500:
            self.error(route, intended, started, done, f"http_{status // 100}xx")
            return
        outcome = REFUSALS.get(status) or self._outcome(cache_status, x_cache)
        if self.leg is not None:  # the way back and the transfer (loadgen.latency)
            done += self.leg.after(route.one_way, size, not outcome.is_hit)
        latency = done - intended
        add = self.samples.add
        by_status = stats.by_cache_status.get(outcome.status) or stats.by_cache_status.setdefault(
            outcome.status, Tally()
        )
        is_hit = outcome.is_hit
        slices = (*self._slices(route), by_status)
        if outcome.path is not None:  # where the body came from (loadgen.cache_status.PATHS)
            by_path = stats.by_path.get(outcome.path) or stats.by_path.setdefault(
                outcome.path, Tally()
            )
            slices += (by_path,)
        if self.behavior_of is not None and target is not None:
            name = self.behavior_of(target)
            slices += (stats.behaviors.get(name) or stats.behaviors.setdefault(name, Tally()),)
        for tally in slices:
            tally.requests += 1
            if status == 429:
                tally.throttled += 1
            elif status == 403:
                tally.forbidden += 1
            elif status == 204:
                tally.preflight += 1
            tally.responses += 1
            tally.bytes += size
            if is_hit:
                tally.hits += 1
                tally.hit_bytes += size
            if outcome.origin_fetch:
                tally.origin_requests += 1
                if outcome.status != "revalidated":
                    tally.origin_bytes += size
            add(tally.latency, latency)
        add(stats.service, done - started)
        second = self._second_at(done)
        second.completed += 1
        if is_hit:
            second.hits += 1
        if outcome.status == "stale":
            second.stale += 1
        add(second.histogram(), latency)

    def error(self, route: Route, intended: float, started: float, done: float, kind: str) -> None:
        """A request that failed (transport error, timeout or 5xx)."""
        del intended, started
        stats = self.stats
        stats.error_kinds[kind] = stats.error_kinds.get(kind, 0) + 1
        by_status = stats.by_cache_status.setdefault("error", Tally())
        for tally in (*self._slices(route), by_status):
            tally.requests += 1
            tally.errors += 1
        self._second_at(done).errors += 1


Ready = Callable[[], Awaitable[float | None]]


class LoadRun:
    """One run of a plan: a client, a dispatcher and the requests in flight.

    Plain ``http://`` GETs go through the lean keep-alive client (loadgen.wire), without a task
    per request; ``https://`` targets (or ``plan.client == "aiohttp"``) through aiohttp.
    """

    def __init__(
        self,
        plan: LoadPlan,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 0.5,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.plan = plan
        self.schedule = Schedule(plan)
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.clock = clock
        self.stats = LoadStats()
        self.moved: dict[str, float] = {}  # edge -> until when its users go elsewhere
        self.in_flight: set[asyncio.Task[None]] = set()
        self.t0 = 0.0
        self.last_send = 0.0
        self.last_intended = 0.0
        self.stopping = False
        seed = plan.seed if plan.seed is not None else self.schedule.workload.seed
        self.leg = UserLeg.for_run(
            self.schedule.topology, seed, plan.shard, bool(self.schedule.targets)
        )
        self.delayed: DelayedSends | None = None  # sends waiting for their user leg (run())
        self.recorder = Recorder(
            self.stats, 0.0, BehaviorNames.of(self.schedule.topology), self.leg
        )
        self.session: aiohttp.ClientSession | None = None
        self.wire: WireClient | None = None
        self.lean = uses_wire(plan, self.schedule)
        self.warmed = 0
        # Per route (by identity): the wire pool and the request bytes after the path.
        self._wire_routes: dict[int, tuple[WirePool, bytes]] = {}

    def stop(self) -> None:
        """Stop sending (requests in flight still finish); the report covers what was sent."""
        self.stopping = True

    @property
    def window(self) -> float:
        """Seconds the schedule spans: the duration, or up to the last intended send."""
        duration = self.plan.duration
        if duration is not None and self.plan.trace is None and self.plan.requests is None:
            return duration
        gap = 1.0 / self.schedule.asked_rate if self.schedule.asked_rate > 0 else 0.0
        span = self.last_intended + gap
        return min(span, duration) if duration is not None else span

    def outstanding(self) -> int:
        """Requests sent and not yet answered."""
        if self.wire is not None:  # plus the sends still on their emulated way to the edge
            waiting = self.delayed.pending if self.delayed is not None else 0
            return self.wire.in_flight + waiting
        return len(self.in_flight)

    def progress(self) -> Progress:
        """The current counts and rates."""
        self.recorder.flush()
        stats = self.stats
        elapsed = max(self.clock() - self.t0, 1e-9)
        in_flight = self.outstanding()
        sent = stats.total.requests + in_flight
        latency = stats.total.latency
        return Progress(
            elapsed=elapsed,
            window=self.plan.duration or 0.0,
            scheduled=stats.scheduled,
            sent=sent,
            responses=stats.total.responses,
            errors=stats.total.errors,
            dropped=stats.dropped,
            in_flight=in_flight,
            asked_rate=self.schedule.asked_rate,
            achieved_rate=sent / elapsed,
            p50_ms=value_at_percentile(latency, 50) / 1000.0,
            p99_ms=value_at_percentile(latency, 99) / 1000.0,
            hit_ratio=ratio(stats.total.hits, stats.total.responses),
            lag_p99_ms=value_at_percentile(stats.lag, 99) / 1000.0,
        )

    async def _fetch(self, url: str, route: Route, intended: float, method: str = "GET") -> None:
        clock = self.clock
        started = clock()
        recorder = self.recorder
        recorder.sent(started, started - intended)
        assert self.session is not None
        path = url[len(route.base_url) :]
        route = self._anycast(route, started)
        if self.leg is not None and self.delayed is not None:  # the user -> edge leg
            arrived = asyncio.get_running_loop().create_future()
            self.delayed.at(started + self.leg.before(route.one_way), arrived.set_result, None)
            await arrived
        while True:
            try:
                response = await self.session.request(
                    method, route.base_url + path, headers=route.headers
                )
            except asyncio.CancelledError:
                recorder.error(route, intended, started, clock(), "cancelled")
                raise
            except _UNREACHABLE as exc:
                if route.fallback is None:
                    recorder.error(route, intended, started, clock(), error_kind(exc))
                    return
                # As anycast would: this edge is unreachable, its users go to the next-nearest.
                self.moved[route.pop] = clock() + MOVE_SECONDS
                route = self._anycast(route.fallback, clock())
                continue
            except Exception as exc:  # every failure is tallied by kind, never raised
                recorder.error(route, intended, started, clock(), error_kind(exc))
                return
            try:
                await self._read(response, route, intended, started)
            except asyncio.CancelledError:
                recorder.error(route, intended, started, clock(), "cancelled")
                raise
            except Exception as exc:
                recorder.error(route, intended, started, clock(), error_kind(exc))
            return

    def _anycast(self, route: Route, now: float) -> Route:
        """``route``, or the next-nearest edge's while this one's users are moved away; when
        every edge of the chain is moved away from, the one whose move ends first."""
        moved = self.moved
        first = route
        while route.fallback is not None and moved and moved.get(route.pop, 0.0) > now:
            route = route.fallback
        if route.fallback is None and moved and moved.get(route.pop, 0.0) > now:
            soonest: Route | None = first
            best = first
            while soonest is not None:
                if moved.get(soonest.pop, 0.0) < moved.get(best.pop, 0.0):
                    best = soonest
                soonest = soonest.fallback
            return best
        return route

    async def _read(
        self, response: aiohttp.ClientResponse, route: Route, intended: float, started: float
    ) -> None:
        async with response:
            body = await response.read()
            done = self.clock()
            headers = response.headers
            cache_status = ", ".join(headers.getall("Cache-Status", ())) or None
            self.recorder.response(
                route,
                intended,
                started,
                done,
                response.status,
                cache_status,
                headers.get("X-Cache"),
                len(body),
                str(response.url.raw_path_qs),
            )

    def _send_task(self, batch: Batch, k: int, due: float) -> None:
        method, url, route = self.schedule.resolve(batch, k)
        task = asyncio.get_running_loop().create_task(self._fetch(url, route, due, method))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    def _send_wire(self, batch: Batch, k: int, due: float) -> None:
        method, path, route = self.schedule.resolve_path(batch, k)
        started = self.clock()
        if self.moved:
            route = self._anycast(route, started)
        pool, tail = self._wire_routes[id(route)]
        self.recorder.sent(started, started - due)
        assert self.wire is not None
        data = (method + " " + path).encode("latin-1") + tail  # a POST has no body (length 0)
        if self.leg is not None and self.delayed is not None:  # the user -> edge leg
            arrive = started + self.leg.before(route.one_way)
            self.delayed.at(arrive, self.wire.send, pool, data, route, due, started)
            return
        self.wire.send(pool, data, route, due, started)

    async def _dispatch(self, start_at: float | None) -> None:
        clock = self.clock
        spin = self.plan.spin
        cap = self.plan.max_in_flight
        stats = self.stats
        outstanding = self.outstanding
        send = self._send_wire if self.wire is not None else self._send_task
        batches = self.schedule.batches()
        first = next(batches, None)
        if start_at is None:
            self.t0 = clock() + self.plan.start_delay
        else:
            # An agreed wall-clock start (several processes or machines): the same instant here.
            self.t0 = clock() + (start_at - time.time())
        self.recorder.t0 = self.t0
        t0 = self.t0
        unyielded = 0
        batch = first
        while batch is not None and not self.stopping:
            for k, offset in enumerate(batch.times):
                due = t0 + offset
                wait = due - clock()
                if wait > spin:
                    await asyncio.sleep(wait - spin)
                    unyielded = 0
                while clock() < due:
                    # spin 0: whole timer ticks, never a busy loop (sends late by up to a tick)
                    await asyncio.sleep(0 if spin else _TICK)
                    unyielded = 0
                if self.stopping:
                    break
                stats.scheduled += 1
                self.last_intended = offset
                if outstanding() >= cap:
                    self.recorder.dropped(due)
                    continue
                send(batch, k, due)
                self.last_send = clock()
                unyielded += 1
                if unyielded >= YIELD_EVERY:
                    await asyncio.sleep(0)
                    unyielded = 0
            batch = next(batches, None)

    async def _report_progress(self) -> None:
        assert self.on_progress is not None
        while True:
            await asyncio.sleep(self.progress_interval)
            self.on_progress(self.progress())

    def _prepare_wire(self) -> WireClient:
        plan = self.plan
        wire = WireClient(
            self.recorder,
            connections=plan.connections,
            timeout=plan.timeout,
            clock=self.clock,
            head_timeout=plan.head_timeout,
        )
        for row in self.schedule.routes:
            for first in row:
                route: Route | None = first
                while route is not None and id(route) not in self._wire_routes:
                    pool = wire.pool(route.base_url)
                    tail = request_tail(pool.origin, route.headers, close=plan.new_connections)
                    self._wire_routes[id(route)] = (pool, tail)
                    route = route.fallback
        wire.redirect = self._wire_anycast
        return wire

    def _wire_anycast(self, route: Route, data: bytes) -> tuple[WirePool, bytes, Route] | None:
        """As ``_fetch`` does for aiohttp: an unreachable edge's users go to their next-nearest
        edge for ``MOVE_SECONDS``; this request goes there now (None: no edge is left)."""
        if route.fallback is None:
            return None
        now = self.clock()
        self.moved[route.pop] = now + MOVE_SECONDS
        target = self._anycast(route.fallback, now)
        pool, tail = self._wire_routes[id(target)]
        method, path = data.split(b" ", 2)[:2]
        return pool, method + b" " + path + tail, target

    def warm_connections(self) -> int:
        """Connections per pool opened before the schedule starts (0 with new connections)."""
        plan = self.plan
        if plan.new_connections or not plan.warm:
            return 0
        assert self.wire is not None
        pools = max(len(self.wire.pools), 1)
        # About what the asked rate keeps busy at a few ms per request, within the cap.
        wanted = math.ceil(self.schedule.asked_rate * WARM_SECONDS_PER_REQUEST) + WARM_EXTRA
        return max(1, min(wanted, plan.connections // pools))

    async def _drain(self) -> None:
        timeout = self.plan.timeout + 1.0
        if self.wire is not None:
            deadline = self.clock() + timeout
            while self.outstanding() and self.clock() < deadline:
                await asyncio.sleep(0.005)
            await self.wire.close("cancelled")
            return
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=timeout)
        leftovers = set(self.in_flight)
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.gather(*leftovers, return_exceptions=True)

    async def run(self, ready: Ready | None = None) -> LoadReport:
        """Open (and warm) connections, send the whole schedule, wait for the responses.

        ``ready``, when given, is awaited once the connections are warm; it returns the agreed
        wall-clock start (``time.time()`` seconds) or None to start now.
        """
        plan = self.plan
        started = self.clock()
        session = None
        if self.leg is not None:
            self.delayed = DelayedSends(asyncio.get_running_loop(), self.clock, plan.spin)
        if self.lean:
            self.wire = self._prepare_wire()
            self.warmed = await self.wire.warm(self.warm_connections())
            self.wire.start()
        else:
            # The cap is per edge: a hung edge holding its connections must not starve the users
            # of the other edges (they are other people, with pools of their own).
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=plan.connections)
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=plan.timeout),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": USER_AGENT},
            )
            self.session = session
        start_at = plan.start_at
        reporter = None
        try:
            # Long-lived objects (modules, topology, schedule) out of the collector's way: a full
            # collection over them would pause sends for milliseconds. Done before the start is
            # agreed: it can take a good part of a second.
            gc.collect()
            gc.freeze()
            if ready is not None:
                start_at = await ready()
            if self.on_progress is not None:
                reporter = asyncio.get_running_loop().create_task(self._report_progress())
            try:
                await self._dispatch(start_at)
                await self._drain()
            finally:
                gc.unfreeze()
        finally:
            if reporter is not None:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
                self.on_progress(self.progress())
            if self.wire is not None:
                await self.wire.close("cancelled")
            if session is not None:
                await session.close()
        elapsed = self.clock() - started
        self.recorder.flush()
        for second in self.stats.seconds:
            second.seal()
        send_span = max(self.last_send - self.t0, 0.0)
        window = self.window
        achieved = ratio(self.stats.total.requests, max(window, send_span))
        asked = self.schedule.asked_rate
        if plan.trace is not None:
            # A trace's rate is what its timestamps ask: the records sent over their span.
            asked = ratio(self.stats.scheduled, window)
        return LoadReport(
            stats=self.stats,
            asked_rate=asked,
            achieved_rate=achieved,
            window=window,
            elapsed=elapsed,
            plan=describe_plan(plan, self.schedule),
            shards=[f"{plan.shard[0]}/{plan.shard[1]}"],
        )


def uses_wire(plan: LoadPlan, schedule: Schedule) -> bool:
    """True when every request of ``plan`` can take the lean client (plain http:// GETs)."""
    if plan.client == "aiohttp":
        return False
    return all(route.base_url.startswith("http://") for row in schedule.routes for route in row)


async def run_load(
    plan: LoadPlan,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    progress_interval: float = 0.5,
) -> LoadReport:
    """Run ``plan`` open-loop in the running event loop and return its LoadReport."""
    return await LoadRun(plan, on_progress=on_progress, progress_interval=progress_interval).run()


def run_load_sync(plan: LoadPlan, **kwargs: object) -> LoadReport:
    """``run_load`` in a fresh uvloop event loop (for callers without a loop of their own)."""
    import uvloop

    return uvloop.run(run_load(plan, **kwargs))  # type: ignore[arg-type]
