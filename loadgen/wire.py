"""A lean HTTP/1.1 keep-alive client for plain GETs: the load generator's hot path.

Rules:
- One request at a time per connection (no pipelining); a connection is reused for as long as the
  server keeps it alive (httptools' ``should_keep_alive``: HTTP/1.1 without ``Connection: close``).
- No task and no future per request: ``WireClient.send`` writes the request bytes on an idle
  connection and returns; the connection's ``data_received`` parses the response (httptools, the
  llhttp parser) and books it through the ``Outcomes`` callbacks when the body is complete.
- A request that finds no idle connection waits in its pool's FIFO queue; a new connection is
  opened for it while the client holds fewer than ``connections``. Waiting counts in its latency.
- A failed connect fails the request that asked for it (``connect_refused`` / ``connect_error``).
- A request on a reused connection that the server closed before answering a byte (the keep-alive
  race: the server closed the idle connection as the request went out) is sent once more on
  another connection, as aiohttp and browsers do; a second loss is an error.
- Every request sent ends in exactly one ``Outcomes.response`` or ``Outcomes.error`` call, also
  on timeouts (checked by a sweeper every ``sweep`` s) and when the client closes.
- With ``head_timeout``, a request with somewhere else to go (its route has a ``fallback``) that
  has no response byte ``head_timeout`` s after it reached its pool (waiting for a connection
  counts) is taken back and handed to ``redirect`` as ``head_timeout``, like an unreachable
  edge: a hung edge (SIGSTOP) accepts connections and never answers, and anycast withdraws it
  rather than letting its users time out. Its connection is closed, and the requests still
  waiting for a connection to that edge are handed over at once (nothing of them was sent).
- ``warm(n)`` opens connections before the schedule starts, so sends do not pay the handshake.
- A body without Content-Length or chunking ends when the server closes the connection.
- Only plain ``http://`` GETs with fixed headers take this path; anything else uses aiohttp.

Over 400 lines on purpose: the lean client's protocol, pool and client are one small HTTP/1.1
client; they call each other on every request and are tested as one.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httptools

USER_AGENT = "cdnlab-load/0.1"
# Failures before any response byte: the edge is unreachable (refused, reset, closed).
UNREACHABLE = frozenset(
    {"connect_refused", "connect_error", "connection_reset", "server_disconnected"}
)
HEAD_TIMEOUT = "head_timeout"  # no response byte within ``head_timeout``: the edge hangs
REDIRECTED = UNREACHABLE | {HEAD_TIMEOUT}


class Outcomes(Protocol):
    """Where a request's outcome goes (the runner's Recorder)."""

    def response(
        self,
        route: Any,
        intended: float,
        started: float,
        done: float,
        status: int,
        cache_status: str | None,
        x_cache: str | None,
        size: int,
        target: bytes | str | None = None,
    ) -> None: ...

    def error(
        self, route: Any, intended: float, started: float, done: float, kind: str
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a pool connects: host, port and the Host header value."""

    host: str
    port: int
    authority: str


def origin_of(base_url: str) -> Origin:
    """The host, port and authority of an ``http://`` base URL; ValueError for anything else."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{base_url!r} is not a plain http:// URL (expected http://host:port)")
    return Origin(parts.hostname, parts.port or 80, parts.netloc)


def request_tail(origin: Origin, headers: dict[str, str], close: bool = False) -> bytes:
    """Everything of a GET request after its path: version, Host, User-Agent, ``headers``."""
    lines = [f" HTTP/1.1\r\nHost: {origin.authority}\r\nUser-Agent: {USER_AGENT}"]
    lines += [f"\r\n{name}: {value}" for name, value in headers.items()]
    if close:
        lines.append("\r\nConnection: close")
    lines.append("\r\n\r\n")
    return "".join(lines).encode("latin-1")


class _Pending:
    """A request waiting for a connection."""

    __slots__ = ("data", "intended", "queued", "retried", "route", "started")

    def __init__(
        self,
        data: bytes,
        route: Any,
        intended: float,
        started: float,
        retried: bool = False,
        queued: float = 0.0,
    ) -> None:
        self.data = data
        self.route = route
        self.intended = intended
        self.started = started
        self.retried = retried
        self.queued = queued  # when it began waiting in its pool (for the head timeout)


class WireConnection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, pool: WirePool) -> None:
        self.pool = pool
        self.client = pool.client
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.busy = False
        self.data = b""
        self.served = 0  # responses completed on this connection
        self.retried = False
        self.route: Any = None
        self.intended = 0.0
        self.started = 0.0
        self.since = 0.0  # when this try reached the pool (for the head timeout)
        self.size = 0
        self.cache_status: list[str] = []
        self.x_cache: str | None = None
        self.complete = False
        self.got_bytes = False
        self.closed = False
        self.status = 0
        self.keep_alive = False
        self.headers_done = False
        self.framed = False  # Content-Length or Transfer-Encoding seen

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is no asyncio.Transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if not self.busy:  # nothing asked (e.g. a 408 on an idle connection): drop it
            self.close()
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail("bad_response")
            return
        if self.complete:
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy and self.headers_done and not self.framed and exc is None:
            # A body delimited by the connection's close (no Content-Length, not chunked).
            self.status = self.parser.get_status_code()
            self.keep_alive = False
            self._finish()
        elif self.busy and self.served and not self.got_bytes and not self.retried:
            # The keep-alive race: send it once more on another connection.
            self.busy = False
            self.pool.retry(
                _Pending(self.data, self.route, self.intended, self.started, True, self.since)
            )
        elif self.busy:
            if isinstance(exc, ConnectionResetError):
                kind = "connection_reset"
            elif self.got_bytes:
                kind = "payload_error"
            else:
                kind = "server_disconnected"
            self._end_error(kind)
        self.pool.lost(self)

    # -- httptools callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        length = len(name)
        if length == 12 and name.lower() == b"cache-status":
            self.cache_status.append(value.decode("latin-1"))
        elif length == 7 and name.lower() == b"x-cache":
            self.x_cache = value.decode("latin-1")
        elif (length == 14 and name.lower() == b"content-length") or (
            length == 17 and name.lower() == b"transfer-encoding"
        ):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)

    def on_message_complete(self) -> None:
        # Read while the parser still holds this message (it resets for the next one after).
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True

    # -- requests ----------------------------------------------------------------------------

    def start(
        self,
        data: bytes,
        route: Any,
        intended: float,
        started: float,
        retried: bool = False,
        since: float | None = None,
    ) -> None:
        """Send one request on this (idle, open) connection; ``since``: when it reached the
        pool (now when None)."""
        self.busy = True
        self.data = data
        self.retried = retried
        self.route = route
        self.intended = intended
        self.started = started
        self.since = self.client.clock() if since is None else since
        self.size = 0
        self.cache_status = []
        self.x_cache = None
        self.complete = False
        self.got_bytes = False
        self.headers_done = False
        self.framed = False
        assert self.transport is not None
        self.transport.write(data)

    def _reset(self) -> None:
        self.busy = False
        self.route = None
        self.complete = False

    def _finish(self) -> None:
        client = self.client
        done = client.clock()
        status = self.status
        keep = self.keep_alive
        route, intended, started = self.route, self.intended, self.started
        cache_status = ", ".join(self.cache_status) if self.cache_status else None
        self._reset()
        self.served += 1
        client.in_flight -= 1
        client.outcomes.response(
            route, intended, started, done, status, cache_status, self.x_cache, self.size, self.data
        )
        if keep and not self.closed:
            self.pool.idle_again(self)
        else:
            self.close()

    def _end_error(self, kind: str) -> None:
        route, intended, started = self.route, self.intended, self.started
        self._reset()
        self.client.ended(route, self.data, intended, started, kind)

    def _fail(self, kind: str) -> None:
        if self.busy:
            self._end_error(kind)
        self.close()

    def close(self) -> None:
        """Close the transport; a request in flight on it ends as an error when it is lost."""
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()
            self.pool.lost(self)

    def expire(self, kind: str) -> None:
        """End the request in flight as ``kind`` (a timeout) and drop the connection."""
        self._fail(kind)


class WirePool:
    """The connections to one origin: idle ones, opening ones, and requests waiting in order."""

    def __init__(self, client: WireClient, origin: Origin) -> None:
        self.client = client
        self.origin = origin
        self.idle: list[WireConnection] = []
        self.all: set[WireConnection] = set()
        self.waiting: deque[_Pending] = deque()
        self.opening = 0

    def send(self, data: bytes, route: Any, intended: float, started: float) -> None:
        """Send now on an idle connection, or queue (opening a connection if allowed)."""
        idle = self.idle
        while idle:
            connection = idle.pop()
            if not connection.closed:
                connection.start(data, route, intended, started)
                return
        self.waiting.append(_Pending(data, route, intended, started, queued=self.client.clock()))
        if self.opening < len(self.waiting) and self.client.may_open():
            self.open(for_request=True)

    def retry(self, item: _Pending) -> None:
        """Send ``item`` again, first in line (its connection was lost before an answer)."""
        self.waiting.appendleft(item)
        self._serve_waiting()

    def _serve_waiting(self) -> None:
        while self.waiting and self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                item = self.waiting.popleft()
                connection.start(
                    item.data, item.route, item.intended, item.started, item.retried, item.queued
                )

    def open(self, *, for_request: bool) -> None:
        """Start opening one connection (in the background)."""
        self.opening += 1
        self.client.opened += 1
        self.client.tasks.add(
            task := asyncio.get_running_loop().create_task(self._open(for_request))
        )
        task.add_done_callback(self.client.tasks.discard)

    async def _open(self, for_request: bool) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await loop.create_connection(
                lambda: WireConnection(self), self.origin.host, self.origin.port
            )
        except Exception as exc:  # each failed connect fails the oldest waiting request
            self.opening -= 1
            self.client.opened -= 1
            kind = "connect_refused" if isinstance(exc, ConnectionRefusedError) else "connect_error"
            if for_request and len(self.waiting) > self.opening:
                item = self.waiting.popleft()
                self.client.fail_waiting(item, kind)
            return
        self.opening -= 1
        connection = protocol
        assert isinstance(connection, WireConnection)
        self.all.add(connection)
        self.idle_again(connection)

    def idle_again(self, connection: WireConnection) -> None:
        """``connection`` is free: give it the oldest waiting request, or keep it idle."""
        if self.waiting:
            item = self.waiting.popleft()
            connection.start(
                item.data, item.route, item.intended, item.started, item.retried, item.queued
            )
        else:
            self.idle.append(connection)

    def lost(self, connection: WireConnection) -> None:
        """``connection`` closed: forget it; open another if requests are still waiting."""
        if connection in self.all:
            self.all.discard(connection)
            self.client.opened -= 1
        with contextlib.suppress(ValueError):
            self.idle.remove(connection)
        if self.waiting and self.opening < len(self.waiting) and self.client.may_open():
            self.open(for_request=True)


class WireClient:
    """Pools of keep-alive connections by origin, a connection cap, and request timeouts."""

    def __init__(
        self,
        outcomes: Outcomes,
        *,
        connections: int,
        timeout: float,
        clock: Callable[[], float],
        sweep: float = 0.1,
        head_timeout: float | None = None,
    ) -> None:
        self.outcomes = outcomes
        self.connections = connections
        self.timeout = timeout
        self.head_timeout = head_timeout
        self.clock = clock
        self.sweep = min(sweep, timeout / 4)
        self.pools: dict[str, WirePool] = {}
        self.in_flight = 0
        self.opened = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        # Where a request goes when its edge is unreachable: (pool, request bytes, route) or None.
        self.redirect: Callable[[Any, bytes], tuple[WirePool, bytes, Any] | None] | None = None

    def pool(self, base_url: str) -> WirePool:
        """The pool for ``base_url`` (created on first use)."""
        found = self.pools.get(base_url)
        if found is None:
            found = self.pools[base_url] = WirePool(self, origin_of(base_url))
        return found

    def may_open(self) -> bool:
        """True while fewer than ``connections`` are open or opening."""
        return self.opened < self.connections

    def send(
        self, pool: WirePool, data: bytes, route: Any, intended: float, started: float
    ) -> None:
        """Send ``data`` (a whole GET request) through ``pool``; its outcome is booked later."""
        self.in_flight += 1
        pool.send(data, route, intended, started)

    def fail_waiting(self, item: _Pending, kind: str) -> None:
        """End a request that never got a connection."""
        self.ended(item.route, item.data, item.intended, item.started, kind)

    def ended(self, route: Any, data: bytes, intended: float, started: float, kind: str) -> None:
        """A request failed as ``kind``: sent elsewhere when the edge was unreachable and
        ``redirect`` names another place (anycast), else booked as an error."""
        if kind in REDIRECTED and self.redirect is not None:
            moved = self.redirect(route, data)
            if moved is not None:
                pool, moved_data, moved_route = moved
                pool.send(moved_data, moved_route, intended, started)
                return
        self.in_flight -= 1
        self.outcomes.error(route, intended, started, self.clock(), kind)

    async def warm(self, per_pool: int) -> int:
        """Open up to ``per_pool`` connections to every pool (within the cap); how many opened."""
        for pool in self.pools.values():
            for _ in range(per_pool):
                if not self.may_open():
                    break
                pool.open(for_request=False)
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=self.timeout)
        return sum(len(pool.idle) for pool in self.pools.values())

    def start(self) -> None:
        """Start the timeout sweeper."""
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep)
            now = self.clock()
            self.expire(now - self.timeout)
            if self.head_timeout is not None:
                self.withdraw(now - self.head_timeout)

    def expire(self, before: float) -> None:
        """End as ``timeout`` every request started before ``before`` (waiting or in flight)."""
        for pool in self.pools.values():
            while pool.waiting and pool.waiting[0].started < before:
                self.fail_waiting(pool.waiting.popleft(), "timeout")
            for connection in list(pool.all):
                if connection.busy and connection.started < before:
                    connection.expire("timeout")

    def withdraw(self, before: float) -> None:
        """Redirect (as ``head_timeout``) every request with a fallback route that has had no
        response byte since it reached its pool before ``before``; a pool that had one gives
        up its other waiting requests with a fallback too (its edge is taken as hung)."""
        if self.redirect is None:
            return
        for pool in self.pools.values():
            hung = False
            for connection in list(pool.all):
                if (
                    connection.busy
                    and not connection.got_bytes
                    and connection.since < before
                    and getattr(connection.route, "fallback", None) is not None
                ):
                    hung = True
                    connection.expire(HEAD_TIMEOUT)
            waiting = pool.waiting
            if waiting and (hung or waiting[0].queued < before):
                kept: deque[_Pending] = deque()
                while waiting:
                    item = waiting.popleft()
                    if getattr(item.route, "fallback", None) is not None:
                        self.fail_waiting(item, HEAD_TIMEOUT)
                    else:
                        kept.append(item)
                waiting.extend(kept)

    async def close(self, kind: str = "cancelled") -> None:
        """End what is still in flight as ``kind`` and close every connection."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        for pool in self.pools.values():
            while pool.waiting:
                self.fail_waiting(pool.waiting.popleft(), kind)
            for connection in list(pool.all):
                if connection.busy:
                    connection.expire(kind)
                connection.close()
        await asyncio.sleep(0)
