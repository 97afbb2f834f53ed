"""The open-loop engine: send each request at its intended time, never waiting for earlier ones.

Rules:
- A dispatcher walks the schedule and starts one task per request at its intended time. It never
  awaits a response, so a slow server cannot slow the offered load (no coordinated omission).
- Latency runs from the INTENDED start to the last body byte, so time spent queued anywhere
  (behind a busy dispatcher, for a pooled connection, in the server) counts. ``service`` runs
  from the actual start, for contrast. ``lag`` = actual start - intended start.
- Timers fire with about 1 ms granularity, so the dispatcher sleeps until ``plan.spin`` before a
  send time and then yields to the loop (``sleep(0)``) until it is due.
- More than ``plan.max_in_flight`` outstanding requests: the request is dropped and counted, not
  queued silently; lateness shows in the lag histogram.
- Every request sent ends as exactly one response (status < 500) or one error (by kind), so
  ``requests == responses + errors`` and ``scheduled == requests + dropped``.
- Anycast: a request whose edge refuses the connection or loses it before the response head
  (a dead edge) goes to the user's next-nearest edge (same request, latency from its intended
  start), and that edge's users go there for ``MOVE_SECONDS``; only when the last edge fails
  is it an error. A failure after the head is an error (nothing is sent twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from loadgen.cache_status import classify
from loadgen.plan import LoadPlan
from loadgen.report import LoadReport, describe_plan
from loadgen.schedule import Route, Schedule
from loadgen.stats import LoadStats, Tally, ratio, record_seconds, value_at_percentile

USER_AGENT = "cdnlab-load/0.1"
YIELD_EVERY = 32  # when behind schedule, let responses in after this many sends
# After a connect failure at an edge, its users go to their next-nearest edge this long.
MOVE_SECONDS = 5.0
# Failures before any response byte: the edge is unreachable (refused, reset, closed).
_UNREACHABLE = (
    aiohttp.ClientConnectorError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientOSError,
)


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
    """Books each request's outcome into LoadStats; seconds count from ``t0`` (the run start)."""

    def __init__(self, stats: LoadStats, t0: float) -> None:
        self.stats = stats
        self.t0 = t0

    def _slices(self, route: Route) -> tuple[Tally, Tally, Tally, Tally]:
        stats = self.stats
        pop = stats.pops.get(route.pop) or stats.pops.setdefault(route.pop, Tally())
        region = stats.regions.get(route.region) or stats.regions.setdefault(route.region, Tally())
        location = stats.locations.get(route.location) or stats.locations.setdefault(
            route.location, Tally()
        )
        return stats.total, pop, region, location

    def _second(self, at: float) -> int:
        return max(0, int(at - self.t0))

    def dropped(self, intended: float) -> None:
        """A request not sent because too many were in flight."""
        self.stats.dropped += 1
        self.stats.second(self._second(intended)).dropped += 1

    def sent(self, started: float, lag: float) -> None:
        """A request started ``lag`` seconds after its intended time."""
        record_seconds(self.stats.lag, max(lag, 0.0))
        self.stats.second(self._second(started)).sent += 1

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
    ) -> None:
        """A response arrived in full; 5xx responses are booked as errors."""
        stats = self.stats
        code = str(status)
        stats.status_codes[code] = stats.status_codes.get(code, 0) + 1
        if status >= 500:
            self.error(route, intended, started, done, f"http_{status // 100}xx")
            return
        outcome = classify(cache_status, x_cache)
        latency = done - intended
        by_status = stats.by_cache_status.get(outcome.status) or stats.by_cache_status.setdefault(
            outcome.status, Tally()
        )
        is_hit = outcome.is_hit
        for tally in (*self._slices(route), by_status):
            tally.requests += 1
            tally.responses += 1
            tally.bytes += size
            if is_hit:
                tally.hits += 1
                tally.hit_bytes += size
            if outcome.origin_fetch:
                tally.origin_requests += 1
                if outcome.status != "revalidated":
                    tally.origin_bytes += size
            record_seconds(tally.latency, latency)
        record_seconds(stats.service, done - started)
        second = stats.second(self._second(done))
        second.completed += 1
        if is_hit:
            second.hits += 1
        record_seconds(second.histogram(), latency)

    def error(self, route: Route, intended: float, started: float, done: float, kind: str) -> None:
        """A request that failed (transport error, timeout or 5xx)."""
        del intended, started
        stats = self.stats
        stats.error_kinds[kind] = stats.error_kinds.get(kind, 0) + 1
        by_status = stats.by_cache_status.setdefault("error", Tally())
        for tally in (*self._slices(route), by_status):
            tally.requests += 1
            tally.errors += 1
        stats.second(self._second(done)).errors += 1


class LoadRun:
    """One run of a plan: a session, a dispatcher and the tasks in flight."""

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
        self.recorder = Recorder(self.stats, 0.0)
        self.session: aiohttp.ClientSession | None = None

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

    def progress(self) -> Progress:
        """The current counts and rates."""
        stats = self.stats
        elapsed = max(self.clock() - self.t0, 1e-9)
        sent = stats.total.requests + len(self.in_flight)
        latency = stats.total.latency
        return Progress(
            elapsed=elapsed,
            window=self.plan.duration or 0.0,
            scheduled=stats.scheduled,
            sent=sent,
            responses=stats.total.responses,
            errors=stats.total.errors,
            dropped=stats.dropped,
            in_flight=len(self.in_flight),
            asked_rate=self.schedule.asked_rate,
            achieved_rate=sent / elapsed,
            p50_ms=value_at_percentile(latency, 50) / 1000.0,
            p99_ms=value_at_percentile(latency, 99) / 1000.0,
            hit_ratio=ratio(stats.total.hits, stats.total.responses),
            lag_p99_ms=value_at_percentile(stats.lag, 99) / 1000.0,
        )

    async def _fetch(self, url: str, route: Route, intended: float) -> None:
        clock = self.clock
        started = clock()
        recorder = self.recorder
        recorder.sent(started, started - intended)
        assert self.session is not None
        path = url[len(route.base_url) :]
        route = self._anycast(route, started)
        while True:
            try:
                response = await self.session.get(route.base_url + path, headers=route.headers)
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
        """``route``, or the next-nearest edge's while this one's users are moved away."""
        moved = self.moved
        while route.fallback is not None and moved and moved.get(route.pop, 0.0) > now:
            route = route.fallback
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
            )

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        clock = self.clock
        spin = self.plan.spin
        cap = self.plan.max_in_flight
        stats = self.stats
        in_flight = self.in_flight
        resolve = self.schedule.resolve
        batches = self.schedule.batches()
        first = next(batches, None)
        self.t0 = clock() + self.plan.start_delay
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
                    await asyncio.sleep(0)
                    unyielded = 0
                if self.stopping:
                    break
                stats.scheduled += 1
                self.last_intended = offset
                if len(in_flight) >= cap:
                    self.recorder.dropped(due)
                    continue
                url, route = resolve(batch, k)
                task = loop.create_task(self._fetch(url, route, due))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
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

    async def run(self) -> LoadReport:
        """Send the whole schedule, wait for the responses, and return the report."""
        plan = self.plan
        # The cap is per edge: a hung edge holding its connections must not starve the users
        # of the other edges (they are other people, with pools of their own).
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=plan.connections)
        timeout = aiohttp.ClientTimeout(total=plan.timeout)
        started = self.clock()
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": USER_AGENT},
        ) as session:
            self.session = session
            reporter = None
            if self.on_progress is not None:
                reporter = asyncio.get_running_loop().create_task(self._report_progress())
            # Long-lived objects (modules, topology, schedule) out of the collector's way: a full
            # collection over them would pause sends for milliseconds.
            gc.collect()
            gc.freeze()
            try:
                await self._dispatch()
                if self.in_flight:
                    await asyncio.wait(set(self.in_flight), timeout=plan.timeout + 1.0)
                leftovers = set(self.in_flight)
                for task in leftovers:
                    task.cancel()
                if leftovers:
                    await asyncio.gather(*leftovers, return_exceptions=True)
            finally:
                gc.unfreeze()
                if reporter is not None:
                    reporter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reporter
                    self.on_progress(self.progress())
        elapsed = self.clock() - started
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
