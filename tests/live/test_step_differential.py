"""Differential: the core's cache step, the live edge and the simulator's node answer alike.

Hypothesis generates request/response sequences (methods, Cache-Control on both sides, Vary,
Range, client conditionals, purges, clock steps) and runs each through
(a) the core: ``CacheStep`` over a ``cdn.cache.Store``, driven by the minimal shell below;
(b) the live edge in front of a scripted origin, both on one injected clock, with the fast
    path on and off (one edge and origin per test, a fresh path per example);
(c) the simulator's node (``CacheNodeSim.serve``, templates off and on) for the sequences it
    models: plain GETs, purges and clock steps, with zero-latency queues and upstream.
Per request: the same status, X-Cache and Cache-Status (the cache outcome), the same Age and
the same count of upstream fetches so far. This is what makes "one decision path" true.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdn.cache import Store as EntryStore
from cdn.http import (
    CacheStep,
    Fetch,
    Forward,
    Headers,
    Join,
    Keep,
    Reject,
    Relay,
    Renew,
    Request,
    Response,
    Serve,
    format_http_date,
)
from cdn.http.error_hold import ErrorHold, after_fetch, failed_fetch, is_held
from edge.server import EdgeServer
from edge.settings import EdgeSettings

BODY = b"0123456789abcdefghij"
NAME = "edge-d"
TOKEN = "differential-token"
START = 1_800_000_000.0

# ---- the sequences -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """One client request to the example's path."""

    method: str = "GET"
    cache_control: str | None = None
    accept_encoding: str | None = None
    range: str | None = None
    if_none_match: str | None = None

    def fields(self) -> list[tuple[str, str]]:
        pairs = [
            ("Cache-Control", self.cache_control),
            ("Accept-Encoding", self.accept_encoding),
            ("Range", self.range),
            ("If-None-Match", self.if_none_match),
        ]
        return [(name, value) for name, value in pairs if value is not None]


@dataclass(frozen=True)
class Purge:
    """Purge the example's path at the cache (hard or soft)."""

    soft: bool


@dataclass(frozen=True)
class Wait:
    """Move the clock on by whole seconds."""

    seconds: int


@dataclass(frozen=True)
class Answer:
    """One scripted origin answer (the n-th fetch gets the n-th answer, then the last)."""

    status: int = 200
    cache_control: str | None = "max-age=10"
    vary: bool = False
    etag: str | None = None


def origin_reply(answers: list[Answer], index: int, fields: Headers) -> tuple[int, list]:
    """What the scripted origin answers to its ``index``-th request with ``fields``."""
    answer = answers[min(index, len(answers) - 1)]
    pairs: list[tuple[str, str]] = []
    if answer.cache_control is not None:
        pairs.append(("Cache-Control", answer.cache_control))
    if answer.vary:
        pairs.append(("Vary", "Accept-Encoding"))
    if answer.etag is not None:
        pairs.append(("ETag", answer.etag))
    asked = fields.get("if-none-match")
    if answer.status == 200 and answer.etag and asked and answer.etag in asked:
        return 304, pairs
    return answer.status, pairs


@dataclass(frozen=True)
class Seen:
    """What one request got: status, X-Cache, Cache-Status member, Age, fetches so far."""

    status: int
    x_cache: str
    cache_status: str
    age: int | None
    fetches: int


ETAGS = st.sampled_from([None, '"v1"', '"v2"'])
ANSWERS = st.lists(
    st.builds(
        Answer,
        status=st.sampled_from([200, 200, 200, 200, 404, 503]),
        cache_control=st.sampled_from(
            [
                "max-age=10",
                "max-age=100",
                "max-age=0",
                "no-store",
                "no-cache",
                "private",
                "s-maxage=5",
                "max-age=2, stale-while-revalidate=5",
                "max-age=2, stale-if-error=20",
                None,
            ]
        ),
        vary=st.booleans(),
        etag=ETAGS,
    ),
    min_size=1,
    max_size=4,
)
ASKS = st.builds(
    Ask,
    method=st.sampled_from(["GET", "GET", "GET", "HEAD", "POST"]),
    cache_control=st.sampled_from([None, None, "no-cache", "max-age=0", "only-if-cached"]),
    accept_encoding=st.sampled_from([None, "gzip", "br"]),
    range=st.sampled_from([None, None, "bytes=0-1", "bytes=0-1,5-6", "bytes=abc", "bytes=50-"]),
    if_none_match=st.sampled_from([None, None, '"v1"', '"v2"']),
)
STEPS = st.lists(
    st.one_of(
        st.just(Ask()),
        st.builds(Ask, accept_encoding=st.sampled_from(["gzip", "br"])),
        ASKS,
        ASKS,
        st.builds(Wait, st.sampled_from([1, 3, 11, 30])),
        st.builds(Purge, st.booleans()),
    ),
    min_size=1,
    max_size=10,
)
PLAIN_STEPS = st.lists(
    st.one_of(
        st.just(Ask()),
        st.just(Ask()),
        st.builds(Wait, st.sampled_from([1, 3, 11, 30])),
        st.builds(Purge, st.booleans()),
    ),
    min_size=1,
    max_size=8,
)
PLAIN_ANSWERS = st.lists(
    st.builds(
        Answer,
        status=st.just(200),
        cache_control=st.sampled_from(
            [
                "max-age=10",
                "max-age=0",
                "no-store",
                "no-cache",
                "s-maxage=5",
                None,
                "max-age=2, stale-while-revalidate=5",
            ]
        ),
        vary=st.booleans(),
        etag=st.sampled_from(['"v1"', '"v2"']),
    ),
    min_size=1,
    max_size=4,
)

# ---- (a) the core, driven by a minimal shell ---------------------------------------------


def edge_settings(**changes) -> EdgeSettings:
    return EdgeSettings(name=NAME, host="127.0.0.1", port=0, admin_token=TOKEN, **changes)


def run_core(steps: list, answers: list[Answer], start: float) -> list[Seen]:
    """The sequence through ``CacheStep`` alone (what every shell must reproduce)."""
    config = edge_settings().cache_config
    name = edge_settings().cache_status_name
    store = EntryStore(1 << 20)
    key, now, fetches, seen = "k", start, 0, []
    hold: ErrorHold | None = None  # the edge's error hold (cdn.http.error_hold), as edge.misses

    def fetch(step: CacheStep, method: str, fields: Headers) -> Response:
        nonlocal fetches
        status, pairs = origin_reply(answers, fetches, fields)
        fetches += 1
        pairs.append(("Date", format_http_date(now)))
        size = 0 if status == 304 or method == "HEAD" else len(BODY)
        return Response(status, Headers(pairs), size)

    def note(status: int, cache_status, age: int | None) -> None:
        seen.append(Seen(status, cache_status.x_cache, cache_status.member(name), age, fetches))

    for item in steps:
        if isinstance(item, Wait):
            now += item.seconds
            continue
        if isinstance(item, Purge):
            store.purge_key(key, soft=item.soft)
            continue
        request = Request(item.method, "/d", Headers([("Host", "x"), *item.fields()]))
        step = CacheStep(store, config, request, key, now)
        action = step.next()
        if isinstance(action, Join):
            action = step.joined(None, now, waited=False)
        if isinstance(action, Fetch) and is_held(hold, now):
            stand_in = step.held_stand_in(now)
            if stand_in is not None:  # the upstream is held as failing: not sent
                action = stand_in
        while True:
            if isinstance(action, Serve):
                if action.refresh is not None:  # the background refresh, at once
                    answer = fetch(step, "GET", action.refresh.headers)
                    done = step.received(answer, now, now)
                    if isinstance(done, Keep):
                        store.put(done.entry)
                    elif isinstance(done, Renew):
                        for entry in done.entries:
                            store.put(entry)
                note(action.status, action.cache_status, action.age)
                break
            if isinstance(action, Reject):
                note(action.status, action.cache_status, None)
                break
            assert isinstance(action, Fetch | Forward)
            method = action.method if isinstance(action, Fetch) else item.method
            response = fetch(step, method, action.headers)
            if isinstance(action, Fetch):
                hold = after_fetch(hold, failed_fetch(response.status, stood_in=False), now)
            result = step.received(response, now, now)
            if isinstance(result, Fetch):
                action = result
                continue
            if isinstance(result, Keep):
                entry = result.entry
                if entry.size != len(BODY):  # the shell keeps the real body length
                    entry = type(entry).create(
                        key=entry.key, variant=entry.variant, status=entry.status,
                        headers=entry.headers, size=len(BODY), request_time=now,
                        response_time=now, config=config,
                    )  # fmt: skip
                store.put(entry)
                action = step.answer(entry, now, stored=False)
                continue
            if isinstance(result, Renew):
                for entry in result.entries:
                    store.put(entry)
                action = step.answer(result.entries[0], now)
                continue
            if isinstance(result, Serve):
                action = result
                continue
            assert isinstance(result, Relay)
            if result.invalidate:
                store.purge_key(key)
            note(response.status, result.cache_status, None)
            break
    return seen


# ---- (b) the live edge -------------------------------------------------------------------


class Clock:
    """The injected wall clock of the edge and the scripted origin."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class LiveLab:
    """One scripted origin and one edge on a private event loop, reused across examples."""

    def __init__(self, fast_path: bool) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = Clock()
        self.answers: dict[str, list[Answer]] = {}
        self.fetches: dict[str, int] = {}
        self.paths = itertools.count()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._origin)
        self.origin = TestServer(app, host="127.0.0.1")
        self.loop.run_until_complete(self.origin.start_server())
        origin_url = str(self.origin.make_url("")).rstrip("/")
        self.edge = EdgeServer(
            edge_settings(
                upstream_url=origin_url,
                site_host=origin_url.split("//", 1)[1],
                shutdown_timeout=2.0,
                fast_path=fast_path,
            ),
            clock=self.clock,
        )
        self.loop.run_until_complete(self.edge.start())
        self.session = self.loop.run_until_complete(self._session())

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False)

    async def _origin(self, request: web.Request) -> web.Response:
        path = request.path
        index = self.fetches[path]
        self.fetches[path] = index + 1
        status, pairs = origin_reply(self.answers[path], index, Headers(request.headers.items()))
        pairs.append(("Date", format_http_date(self.clock())))
        body = None if status == 304 else BODY
        return web.Response(status=status, headers=pairs, body=body)

    def run(self, steps: list, answers: list[Answer]) -> tuple[float, list[Seen]]:
        path = f"/d/{next(self.paths)}"
        self.answers[path] = answers
        self.fetches[path] = 0
        self.clock.now += 1000  # a new example starts on a fresh second, far from the last
        start = self.clock.now
        return start, self.loop.run_until_complete(self._run(path, steps))

    async def _run(self, path: str, steps: list) -> list[Seen]:
        seen = []
        url = self.edge.url + path
        for item in steps:
            if isinstance(item, Wait):
                self.clock.now += item.seconds
                continue
            if isinstance(item, Purge):
                headers = {"Authorization": f"Bearer {TOKEN}"}
                if item.soft:
                    headers["X-Purge-Soft"] = "1"
                async with self.session.request("PURGE", url, headers=headers) as response:
                    assert response.status == 200
                continue
            async with self.session.request(
                item.method,
                url,
                headers=dict(item.fields()),
                skip_auto_headers=("Accept-Encoding", "User-Agent"),
            ) as response:
                await response.read()
                age = response.headers.get("Age")
                members = response.headers.get("Cache-Status", "").split(", ")
                await self._settle()
                seen.append(
                    Seen(
                        response.status,
                        response.headers.get("X-Cache", ""),
                        members[-1],
                        None if age is None else int(age),
                        self.fetches[path],
                    )
                )
        return seen

    async def _settle(self) -> None:
        """Wait (by polling) for background refreshes to end, as the core does them at once."""
        from edge.app import PROXY

        proxy = self.edge.app[PROXY]
        for _ in range(500):
            if not proxy.refreshing and not proxy.refresher.tasks:
                return
            await asyncio.sleep(0.002)
        raise AssertionError("a background refresh did not end")

    def close(self) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.run_until_complete(self.edge.stop())
        self.loop.run_until_complete(self.origin.close())
        self.loop.close()


@pytest.fixture(scope="module", params=[True, False], ids=["fast-path", "no-fast-path"])
def live(request) -> Iterator[LiveLab]:
    lab = LiveLab(fast_path=request.param)
    yield lab
    lab.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, answers=ANSWERS)
def test_the_edge_answers_as_the_core(live: LiveLab, steps: list, answers: list[Answer]) -> None:
    start, edge_seen = live.run(steps, answers)
    assert edge_seen == run_core(steps, answers, start)


# ---- (c) the simulator's node ------------------------------------------------------------


class ZeroQueue:
    """A node queue whose service takes no time (``sim.queueing.ServerQueue``'s ``finish``)."""

    def finish(self, arrival: float) -> float:
        return arrival


class CountingUpstream:
    """An upstream that answers at once and counts the fetches (the scripted origin's index)."""

    def __init__(self) -> None:
        self.fetches = 0

    def serve(self, key, obj, size, t, from_peer, conditional):
        self.fetches += 1
        from sim.outcomes import MISS  # the simulator is imported where it is driven

        return t, MISS, True, 0  # an upstream that fetched it (sim.node reads the code)


class ScriptedOriginHeaders:
    """``sim.origin_headers.OriginHeaders``'s interface over the scripted answers."""

    def __init__(self, answers: list[Answer], upstream: CountingUpstream) -> None:
        from cdn.topology import CacheRule

        self.answers = answers
        self.upstream = upstream
        self.rule = CacheRule("/", None)  # read by template probes (no tags)

    def fields(self, obj_id: int, now: float, age: int, body: bool = True) -> list:
        _, pairs = origin_reply(self.answers, 0, Headers())
        return [*pairs, ("Date", format_http_date(now))]

    def response(self, obj_id: int, size: int, now: float, age: int = 0) -> Response:
        status, pairs = origin_reply(self.answers, 0, Headers())
        return Response(status, Headers([*pairs, ("Date", format_http_date(now))]), size)

    def answer(self, fetch: Fetch, obj_id: int, size: int, now: float, age: int = 0) -> Response:
        status, pairs = origin_reply(self.answers, self.upstream.fetches - 1, fetch.headers)
        pairs.append(("Date", format_http_date(now)))
        return Response(status, Headers(pairs), 0 if status == 304 else size)


def run_sim(steps: list, answers: list[Answer], start: float, node) -> list[Seen]:
    """The sequence through ``CacheNodeSim.serve`` (plain GETs: what the simulator models)."""
    from cdn.collapse import Collapser
    from sim.node import CacheNodeSim
    from sim.nodecache import NodeCache
    from sim.outcomes import Outcome

    config = edge_settings().cache_config
    upstream = CountingUpstream()
    cache = NodeCache(1 << 20, "lru", config, ScriptedOriginHeaders(answers, upstream), exact=True)
    collapser = Collapser(hit_for_pass_seconds=config.hit_for_pass_seconds)
    sim_node = CacheNodeSim(node, ZeroQueue(), cache, collapser)  # type: ignore[arg-type]
    sim_node.upstream = upstream  # type: ignore[assignment]
    now, seen = start, []
    for item in steps:
        if isinstance(item, Wait):
            now += item.seconds
        elif isinstance(item, Purge):
            cache.store.purge_key("k", soft=item.soft)
        else:
            _, code, _, age = sim_node.serve("k", 1, len(BODY), now, False, False)
            seen.append((Outcome(code).name, age, upstream.fetches))
    return seen


_SIM_OUTCOME = {"HIT": "HIT", "STALE": "STALE", "REVALIDATED": "REVALIDATED"}


@settings(max_examples=150, deadline=None)
@given(steps=PLAIN_STEPS, answers=PLAIN_ANSWERS)
def test_the_simulators_node_answers_as_the_core(steps, answers) -> None:
    expected = [
        (_SIM_OUTCOME.get(seen.x_cache, "MISS"), seen.age or 0, seen.fetches)
        for seen in run_core(steps, answers, START)
    ]
    node = SimpleNamespace(name="edge-d")  # the topology node: only its name is read
    assert run_sim(steps, answers, START, node) == expected
