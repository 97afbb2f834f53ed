"""Pre-rendered HTTP/1.1 responses for the hit path: header bytes built once, written as is.

Rules: a fresh hit's status line and header block change only when its Age (or the ttl in
Cache-Status) changes, i.e. once a second, so the edge renders them once per second per
stored object (``render_head``) and a hit writes those bytes and the body straight to the
transport (``PrerenderedResponse``), skipping aiohttp's per-response header dict, defaults
and serialisation. Used only where the bytes are the same as aiohttp would send: an HTTP/1.1
keep-alive request (no ``Connection`` field needed) and a status that carries a body
(``renderable_status``). Header values are checked for CR/LF when rendered, as aiohttp's
serialiser checks them per response. Everything else goes through ``web.Response``.

``HitFirstHandler`` goes one step further: on a connection idle between requests, the
requests that just arrived are offered to a ``WireHit`` callable (``Proxy.wire_hit``) inside
``data_received``, and a hit is written there and then, with no aiohttp request, task or
response object. The first request it declines, and all after it, go to aiohttp as usual
(order is kept: nothing is answered early while a request is in progress). The callable also
gets the connection's client address and scheme (read once per connection), which the gateway's
checks need (a signed policy's IP condition, per-client limits).

The callable may also answer a future (a Lambda-style viewer-request function's invoke, started
on arrival): the request then stays first in the queue, later requests on the connection are
parsed and queued but not answered, and aiohttp is not woken, until the future is done. Its
result is the hit's (status, bytes), written then (and the requests queued behind it are offered
in turn), or a ``HandOff`` (or None): the request and all after it go to aiohttp, and the
handler reads the hand-off's value with ``handed_over(request)`` (the invoke's answer, so the
function is not invoked twice).

With ``hold`` (an edge whose wire path runs a function per hit) the answers made in a pass of
the event loop over its ready connections (not those that arrive later as a future's result,
which are written when they arrive) are written at the end of that pass
(``HitFirstServer.held``, one callback per pass), so a client with many connections is woken
once per pass, not once per answer; a connection's held answers are written before aiohttp is
woken for it (order is kept), and at most the high-water mark is held per connection.

Field values pass obs-text through (RFC 9110 §5.5: octets 0x80-0xFF are opaque data). aiohttp's
parsers read such an octet as a surrogate escape (``"\udcfc"`` for 0xFC), and its C header
serializer drops surrogates; ``pass_obs_text()`` (called by the edge's server) has every header
block aiohttp writes in this process (answers to clients, requests upstream) encoded with
``surrogateescape``, so each octet goes out as it came in. All-ASCII blocks, nearly all, still go
through aiohttp's own serializer; ``render_head`` and ``render_fields`` encode the same way.

This module is the edge's only user of aiohttp's private internals (RequestHandler's
``_messages``, ``_waiter`` and keep-alive fields, ``Server._kwargs``, ``Application._handle``,
StreamResponse's state, ``http_writer._serialize_headers``), tested with aiohttp 3.14
(pyproject.toml pins ``>=3.14,<3.15``). They are checked at import (``HIT_FIRST_SUPPORTED``,
``OBS_TEXT_SUPPORTED``); without them the edge uses aiohttp's plain handler and serializer, and
tests/live/test_edge_wire_internals.py fails on the pinned version.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from aiohttp import hdrs, http_writer, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http import HttpVersion11
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import EMPTY_PAYLOAD
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from multidict import CIMultiDictProxy

from serving.guard import ErrorFields, GuardedHandler, GuardedRunner
from serving.limits import ConnectionLimits

__all__ = [
    "HIT_FIRST_SUPPORTED",
    "JOIN_LIMIT",
    "OBS_TEXT_SUPPORTED",
    "GuardedHitFirstHandler",
    "GuardedHitFirstServer",
    "HandOff",
    "HitFirstHandler",
    "HitFirstRunner",
    "HitFirstServer",
    "PrerenderedResponse",
    "WireHit",
    "handed_over",
    "http_date",
    "pass_obs_text",
    "render_fields",
    "render_head",
    "renderable_status",
    "routed_handler",
]

log = logging.getLogger("cdnlab.edge")


@dataclass(frozen=True, slots=True)
class HandOff:
    """A pending wire answer's "not a hit": aiohttp serves the request, and its handler gets
    ``value`` from ``handed_over`` (what the fast path already learned, e.g. an invoke's result)."""

    value: Any


# (method, origin-form target, request fields, client address, scheme)
#   -> (status, bytes to write), None, or a future of (status, bytes) | HandOff | None.
WireHit = Callable[
    [str, str, CIMultiDictProxy[str], str, str],
    "tuple[int, tuple[bytes, ...]] | asyncio.Future[Any] | None",
]

# Bodies up to this are kept joined with their header block (one buffer, one write).
JOIN_LIMIT = 16 * 1024
# Past this many bytes waiting in the socket buffer, a hit waits for the client to read.
_HIGH_WATER = 64 * 1024
_REASONS = {status.value: status.phrase for status in HTTPStatus}


def renderable_status(status: int) -> bool:
    """True for statuses whose response has a body and Content-Length (not 1xx, 204, 304)."""
    return status >= 200 and status != 204 and status != 304


def http_date(seconds: float) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7) for ``seconds`` since the epoch."""
    return formatdate(int(seconds), usegmt=True)


def render_head(status: int, fields: Iterable[tuple[str, str]], content_length: int) -> bytes:
    """Status line and header block (ending with the blank line) of an HTTP/1.1 response.

    ``fields`` must not hold Content-Length (it is written from ``content_length``); a Date
    is added when ``fields`` has none. Raises ValueError on CR or LF in a name or value.
    """
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
    dated = False
    for name, value in fields:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError(f"newline in header field {name!r}")
        if not dated and name.lower() == "date":
            dated = True
        lines.append(f"{name}: {value}")
    if not dated:
        lines.append(f"Date: {http_date(time.time())}")
    lines.append(f"Content-Length: {content_length}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")


def render_fields(fields: Iterable[tuple[str, str]]) -> bytes:
    """Header lines (``Name: value\r\n`` each) to add to a ``render_head`` block before its
    blank line. Raises ValueError on CR or LF in a name or value."""
    lines = []
    for name, value in fields:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError(f"newline in header field {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


class PrerenderedResponse(web.StreamResponse):
    """A response whose bytes are ready: ``chunks`` (header block, then body parts) as is.

    aiohttp's protocol only calls ``prepare`` and ``write_eof`` and reads ``keep_alive``;
    this class does those with a write of the ready bytes. The caller guarantees an
    HTTP/1.1 keep-alive request (so the connection stays open, as the bytes promise).
    """

    def __init__(self, status: int, chunks: tuple[bytes, ...]) -> None:
        # No super().__init__(): its header multidict is what this class exists to avoid.
        self._state = {}
        self._status = status
        self._reason = _REASONS.get(status, "")
        self._keep_alive = True
        self._chunks = chunks

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        if self._eof_sent:
            return None
        self._req = request
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        if self._eof_sent:
            return
        self._eof_sent = True
        request = self._req
        assert request is not None
        self._req = None
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client went away")
        chunks = self._chunks
        if len(chunks) == 1:
            transport.write(chunks[0])
        else:
            transport.writelines(chunks)
        if transport.get_write_buffer_size() > _HIGH_WATER:
            await request.writer.drain()


_INTERNALS = (
    "_messages",
    "_waiter",
    "_parser",
    "_close",
    "_force_close",
    "_keepalive",
    "_keepalive_handle",
    "_keepalive_timeout",
    "_next_keepalive_close_time",
    "_process_keepalive",
    "_buffer_paused",
    "_msg_queue_resume_size",
    "_resume_reading_if_drained",
    "_manager",
)
HIT_FIRST_SUPPORTED = (
    all(hasattr(RequestHandler, name) for name in _INTERNALS)
    and "_kwargs" in web.Server.__init__.__code__.co_names  # what __call__ below passes on
    and hasattr(web.Application, "_handle")
)


_aiohttp_serialize_headers = getattr(http_writer, "_serialize_headers", None)
OBS_TEXT_SUPPORTED = callable(_aiohttp_serialize_headers) and hasattr(
    http_writer.StreamWriter, "write_headers"
)


def _serialize_headers_passing_obs_text(status_line: str, headers: Any) -> bytes:
    """aiohttp's ``_serialize_headers``, with octets read as surrogate escapes written back.

    A block that is all ASCII (nearly every one) is aiohttp's own serializer's; any other is
    checked as aiohttp checks it (no CR or LF anywhere) and encoded with ``surrogateescape``,
    which gives real characters their UTF-8 (as aiohttp does) and each escaped octet its byte.
    A value with another lone surrogate (no octet stands behind it: a function's string) falls
    back to aiohttp's serializer, which drops it, as before."""
    assert _aiohttp_serialize_headers is not None
    items = headers.items()
    for name, value in items:
        if not (value.isascii() and name.isascii()):
            break
    else:
        return _aiohttp_serialize_headers(status_line, headers)
    lines = [status_line]
    for name, value in items:
        lines.append(f"{name}: {value}")
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError(
                "Newline or carriage return character detected in HTTP status message or"
                " header. This is a potential security issue."
            )
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _aiohttp_serialize_headers(status_line, headers)


def pass_obs_text() -> bool:
    """Have aiohttp write field values' obs-text octets back as they were read, in this process
    (idempotent); False when this aiohttp lacks the serializer hook (octets are then dropped)."""
    if not OBS_TEXT_SUPPORTED:
        return False
    http_writer._serialize_headers = _serialize_headers_passing_obs_text  # type: ignore[attr-defined]
    return True


class HitFirstHandler(RequestHandler):
    """aiohttp's connection handler, answering plain hits as soon as they are parsed."""

    def __init__(self, manager: web.Server, *, hit: WireHit, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._hit = hit
        self._peer: tuple[str, str] | None = None  # (client address, scheme), read once
        self._pending: asyncio.Future[Any] | None = None  # the first request's wire answer
        self._hold = manager.hold if isinstance(manager, HitFirstServer) else False
        self._out: tuple[bytes, ...] | None = None  # answers held to the end of the loop's pass
        # Hand-offs by id of the request's fields (kept with them: the id stays theirs).
        self.handed: dict[int, tuple[CIMultiDictProxy[str], Any]] = {}

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if self._pending is not None:
            # The first request's answer is on its way: queue what arrives, answer nothing yet.
            self._waiter = None
            try:
                super().data_received(data)
            finally:
                self._waiter = waiter
            return
        if waiter is None or waiter.done() or self._messages:
            # Busy (a request in progress or queued): aiohttp answers in order.
            super().data_received(data)
            return
        self._waiter = None  # parse without waking the request loop; hits are answered here
        try:
            super().data_received(data)
        finally:
            self._waiter = waiter
        if self._messages:
            self._offer()

    def _offer(self) -> None:
        """Answer the queued requests that are hits; wake aiohttp for the rest (in order)."""
        messages = self._messages
        served = 0
        try:
            served = self._answer_hits(messages)
        except Exception:  # never lose a request: what is left goes to aiohttp
            log.exception("hit fast path failed; aiohttp takes over")
        if served and self._buffer_paused and len(messages) <= self._msg_queue_resume_size:
            self._resume_reading_if_drained()
        waiter = self._waiter
        if messages and self._pending is None and waiter is not None and not waiter.done():
            self.flush()  # aiohttp's answers go after the held ones
            waiter.set_result(None)

    def _answer_hits(self, messages: Any) -> int:
        served = 0
        transport = self.transport
        hit = self._hit
        peer = self._peer
        if peer is None and transport is not None:
            peer = self._peer = _peer_of(transport)
        client, scheme = peer or ("", "http")
        while messages and transport is not None and not (self._close or self._force_close):
            if transport.is_closing() or transport.get_write_buffer_size() > _HIGH_WATER:
                break  # aiohttp's path waits for the client to read
            if self._out is not None and sum(map(len, self._out)) > _HIGH_WATER:
                break  # as much is held: aiohttp's path, after them
            message, payload = messages[0]
            if (
                payload is not EMPTY_PAYLOAD
                or not isinstance(message, RawRequestMessage)
                or message.version != HttpVersion11
                or message.should_close
                or message.upgrade
            ):
                break
            method = message.method
            path = message.path
            if (
                (method != "GET" and method != "HEAD")
                or path[:1] != "/"
                or path.startswith("/_cdn/")
                or hdrs.EXPECT in message.headers
            ):
                break
            ready = hit(method, path, message.headers, client, scheme)
            if ready is None:
                break
            if not isinstance(ready, tuple):  # an answer on its way: wait for it, in order
                self._pending = ready
                self._keepalive = False  # not idle: the keep-alive timer must not close it
                ready.add_done_callback(self._answered)
                break
            self._write_first(messages, ready[1])
            served += 1
        if served:
            self._manager.requests_count += served  # type: ignore[union-attr]
            self._keep_alive_from_now()
        return served

    def _write_first(self, messages: Any, chunks: tuple[bytes, ...], hold: bool = True) -> None:
        """Take the first queued request off, as answered by ``chunks`` (held to the end of
        the pass when the server holds answers and ``hold``; else written now, after any held)."""
        messages.popleft()
        if self._parser is not None:
            consumed = getattr(self._parser, "message_consumed", None)
            if consumed is not None:
                consumed()
        if not hold:
            self.flush()  # order: what this connection holds goes first
        elif self._hold:
            out = self._out
            if out is None:
                self._out = chunks
                self._manager.held(self)  # type: ignore[union-attr]
            else:  # pipelined requests answered in one pass
                self._out = out + chunks
            return
        transport = self.transport
        assert transport is not None
        if len(chunks) == 1:
            transport.write(chunks[0])
        else:
            transport.writelines(chunks)

    def flush(self) -> None:
        """Write the answers held to the end of the loop's pass (``HitFirstServer.held``)."""
        out = self._out
        if out is None:
            return
        self._out = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if len(out) == 1:
            transport.write(out[0])
        else:
            transport.writelines(out)

    def force_close(self) -> None:
        self.flush()  # answers already made go out before the connection closes
        super().force_close()

    async def shutdown(self, timeout: float | None = 15.0) -> None:
        self.flush()  # a drain (SIGTERM) never drops an answer held for the end of the pass
        await super().shutdown(timeout)

    def _answered(self, pending: asyncio.Future[Any]) -> None:
        """The first request's wire answer arrived: write it, or hand the request to aiohttp."""
        self._pending = None
        messages = self._messages
        transport = self.transport
        if transport is None or transport.is_closing() or self._force_close or not messages:
            return  # the connection is gone (the answer, if any, has nowhere to go)
        answer: Any = None
        if not pending.cancelled():
            error = pending.exception()
            if error is not None:
                log.error("wire answer failed; aiohttp takes over", exc_info=error)
            else:
                answer = pending.result()
        if isinstance(answer, tuple):
            # An answer that arrived on its own (a worker's reply) is written at once: holding
            # groups the answers made in one pass over the ready connections, not these.
            self._write_first(messages, answer[1], hold=False)
            self._manager.requests_count += 1  # type: ignore[union-attr]
            self._keep_alive_from_now()
            if messages:
                self._offer()
                return
        elif isinstance(answer, HandOff):
            fields = messages[0][0].headers
            self.handed[id(fields)] = (fields, answer.value)
        if self._buffer_paused and len(messages) <= self._msg_queue_resume_size:
            self._resume_reading_if_drained()
        waiter = self._waiter
        if messages and waiter is not None and not waiter.done():
            self.flush()  # aiohttp's answers go after the held ones
            waiter.set_result(None)

    def _keep_alive_from_now(self) -> None:
        """Restart the idle timer as aiohttp's request loop does after each answer."""
        self._keepalive = True
        timeout = self._keepalive_timeout
        if timeout <= 0:
            return
        close_time = self._loop.time() + timeout
        self._next_keepalive_close_time = close_time
        if self._keepalive_handle is None:
            self._keepalive_handle = self._loop.call_at(close_time, self._process_keepalive)


def handed_over(request: BaseRequest) -> Any | None:
    """The value the wire fast path handed over with ``request`` (``HandOff``), once; None
    when it handed nothing (or the request did not come through ``HitFirstHandler``)."""
    handed = getattr(request.protocol, "handed", None)
    if not handed:
        return None
    fields = request.headers
    entry = handed.get(id(fields))
    if entry is None or entry[0] is not fields:
        return None
    del handed[id(fields)]
    return entry[1]


def _peer_of(transport: asyncio.BaseTransport) -> tuple[str, str]:
    """The client address ("" when unknown) and the scheme of a connection."""
    peername = transport.get_extra_info("peername")
    client = peername[0] if isinstance(peername, tuple) and peername else ""
    scheme = "https" if transport.get_extra_info("sslcontext") is not None else "http"
    return str(client), scheme


class HitFirstServer(web.Server):
    """aiohttp's low-level Server whose connections use ``HitFirstHandler``."""

    def __init__(self, handler: Any, *, hit: WireHit, hold: bool = False, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.hit = hit
        self.hold = hold  # wire answers are written at the end of the loop's pass (``held``)
        self._held: list[HitFirstHandler] = []  # connections with answers held

    def held(self, handler: HitFirstHandler) -> None:
        """``handler`` holds answers: write them once the loop has read every ready connection
        (a callback queued now runs after this pass's reads)."""
        held = self._held
        if not held:
            self._loop.call_soon(self._flush_held)
        held.append(handler)

    def _flush_held(self) -> None:
        held, self._held = self._held, []
        for handler in held:
            handler.flush()

    def __call__(self) -> RequestHandler:
        return HitFirstHandler(self, hit=self.hit, loop=self._loop, **self._kwargs)


class GuardedHitFirstHandler(GuardedHandler, HitFirstHandler):
    """The hit-first connection handler with the connection limits (``serving.guard``)."""


class GuardedHitFirstServer(HitFirstServer):
    """``HitFirstServer`` whose connections also enforce ``limits`` (``serving.guard``)."""

    def __init__(
        self, handler: Any, *, limits: ConnectionLimits, error_fields: ErrorFields, **kwargs: Any
    ) -> None:
        super().__init__(handler, **kwargs)
        self.limits = limits
        self.error_fields = error_fields

    def __call__(self) -> RequestHandler:
        return GuardedHitFirstHandler(
            self,
            limits=self.limits,
            error_fields=self.error_fields,
            hit=self.hit,
            loop=self._loop,
            **self._kwargs,
        )


class HitFirstRunner(GuardedRunner):
    """A ``serving.guard.GuardedRunner`` (connection limits) whose server dispatches with
    ``dispatch(app)`` and, when ``hit`` is given (and ``HIT_FIRST_SUPPORTED``), answers plain
    hits on arrival (``GuardedHitFirstHandler``)."""

    def __init__(
        self,
        app: web.Application,
        *,
        dispatch: Callable[[web.Application], Callable[[web.BaseRequest], Any]],
        hit: WireHit | None,
        hold: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self._dispatch = dispatch
        self._hit = hit
        self._hold = hold

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        dispatch = self._dispatch(self.app)
        if self._hit is None or not HIT_FIRST_SUPPORTED:
            server.request_handler = dispatch  # the router bypass still applies
            return server
        return GuardedHitFirstServer(
            dispatch,
            limits=self.limits,
            error_fields=self.error_fields,
            hit=self._hit,
            hold=self._hold,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )


def routed_handler(app: web.Application) -> Callable[[web.BaseRequest], Any]:
    """What aiohttp's AppRunner server calls for ``app``: the router, then the handler."""
    return app._handle  # type: ignore[return-value]
