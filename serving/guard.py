"""Connections that cannot be held hostage: header, body and idle timeouts and a connection cap.

Rules: ``GuardedHandler`` is aiohttp's connection handler (``RequestHandler``) with the
``ConnectionLimits`` of ``serving.limits`` enforced; it is a mixin, so a server with a handler
of its own (the edge's hit-first handler) puts it first in its bases. ``GuardedRunner`` is an
``AppRunner`` whose connections use it. The idle timeout is aiohttp's keep-alive timeout.

Cheap on the hot path: a request whose header arrives in one read sets no timer (the header
timer is armed only when a read leaves a header incomplete); a body timer is armed only for a
request with a body still to come, and is re-checked lazily (a read only stamps the time).
Relies on ``RequestHandler`` fields (``_messages``, ``_waiter``, ``_request_count``,
``_current_request``, ``_force_close``, ``_manager``, ``_process_keepalive``), checked at
import (``GUARD_SUPPORTED``).
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestHandler, _ErrInfo
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from serving.limits import DEFAULT_LIMITS, ConnectionLimits

__all__ = [
    "GUARD_SUPPORTED",
    "ErrorFields",
    "GuardedHandler",
    "GuardedRunner",
    "GuardedServer",
    "plain_answer",
]

_INTERNALS = (
    "_messages",
    "_waiter",
    "_request_count",
    "_current_request",
    "_force_close",
    "_close",
    "_manager",
    "_reading_paused",
    "_keepalive_handle",
    "_process_keepalive",
)
GUARD_SUPPORTED = all(hasattr(RequestHandler, name) for name in _INTERNALS)

_STATUSES = {status.value for status in HTTPStatus}
# After a 503 at the cap, the socket stays half-open this long so the client reads the answer.
_LINGER_SECONDS = 1.0


ErrorFields = tuple[tuple[str, str], ...]
"""Header fields added to every answer the connection layer makes (e.g. the edge's Cache-Status)."""


def plain_answer(
    status: int, reason: str, text: str, fields: ErrorFields = (), extra: str = ""
) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 response with a plain-text body."""
    body = (f"{status} {reason}: {text}\n").encode()
    lines = "".join(f"{name}: {value}\r\n" for name, value in fields)
    return (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{lines}{extra}"
        "Connection: close\r\n\r\n"
    ).encode() + body


class GuardedHandler(RequestHandler):
    """A connection handler enforcing ``limits`` (see ``serving.limits`` for the behaviours)."""

    def __init__(
        self,
        manager: web.Server,
        *,
        limits: ConnectionLimits,
        error_fields: ErrorFields = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._error_fields = error_fields
        self._refused = False
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_count = 0  # requests parsed when the header clock started
        self._body: StreamReader | None = None
        self._body_seen = 0.0
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        manager = self._manager
        open_connections = len(getattr(manager, "_connections", ()))
        if manager is not None and open_connections >= self._limits.max_connections:
            self._refuse(transport)
            return
        super().connection_made(transport)
        self._start_header_clock(self._loop.time())

    def _refuse(self, transport: asyncio.BaseTransport) -> None:
        """At the cap: answer 503 without reading the request, then close after a linger."""
        self._refused = True
        self._force_close = True
        self._manager = None  # never registered: connection_lost has nothing to undo
        assert isinstance(transport, asyncio.Transport)
        transport.write(
            plain_answer(
                503,
                "Service Unavailable",
                f"too many connections (this server holds at most "
                f"{self._limits.max_connections}); retry later",
                self._error_fields,
                "Retry-After: 1\r\n",
            )
        )
        if transport.can_write_eof():
            transport.write_eof()
        self._loop.call_later(_LINGER_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        if self._refused or self._force_close:
            return
        waiting = self._header_timer is None and not self._messages and self._waiter is not None
        count = self._request_count
        super().data_received(data)
        if self._request_count != count and self._messages:
            self._refuse_other_versions()
        if self._header_timer is not None:
            if self._request_count != self._header_count:  # the header is complete
                self._header_timer.cancel()
                self._header_timer = None
        elif waiting and data and self._request_count == count and self.transport is not None:
            self._start_header_clock(self._loop.time(), count)
        messages = self._messages
        if messages:
            payload = messages[-1][1]
            if payload is not EMPTY_PAYLOAD and payload is not self._body and not payload.is_eof():
                self._watch_body(payload)
        if self._body is not None:
            self._body_seen = self._loop.time()

    def connection_lost(self, exc: BaseException | None) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None
        self._body = None
        if self._refused:
            return
        super().connection_lost(exc)

    def _process_keepalive(self) -> None:
        if self._header_timer is not None:
            # A request header is arriving (or a new connection's first one is awaited):
            # the header timeout decides, not the idle timeout.
            self._keepalive_handle = None
            return
        super()._process_keepalive()

    # -- header ------------------------------------------------------------------------

    def _start_header_clock(self, now: float, count: int | None = None) -> None:
        self._header_count = self._request_count if count is None else count
        self._header_timer = self._loop.call_at(
            now + self._limits.header_timeout, self._header_timed_out
        )

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._request_count != self._header_count or self.transport is None:
            return
        self._reject(
            f"request header not complete within {self._limits.header_timeout:g} s (header timeout)"
        )

    # -- body ----------------------------------------------------------------------------

    def _watch_body(self, payload: StreamReader) -> None:
        now = self._loop.time()
        self._body = payload
        self._body_seen = now
        if self._body_timer is None:
            self._body_timer = self._loop.call_at(now + self._limits.body_timeout, self._check_body)

    def _check_body(self) -> None:
        self._body_timer = None
        body = self._body
        if body is None or body.is_eof() or self.transport is None or self._force_close:
            self._body = None
            return
        now = self._loop.time()
        if self._reading_paused:  # the server is not reading: not the client's delay
            self._body_seen = now
        deadline = self._body_seen + self._limits.body_timeout
        if now < deadline:
            self._body_timer = self._loop.call_at(deadline, self._check_body)
            return
        self._reject(
            f"request body stalled: nothing received for {self._limits.body_timeout:g} s "
            "(body timeout)"
        )

    # -- bad requests ----------------------------------------------------------------------

    def _refuse_other_versions(self) -> None:
        """Queued requests of another major version than 1 (e.g. ``HTTP/2.0`` written as text)
        become 400s (aiohttp would answer them in that version)."""
        messages = self._messages
        for index, (message, _payload) in enumerate(messages):
            version = getattr(message, "version", None)
            if version is not None and version.major != 1:
                text = (
                    f"HTTP/{version.major}.{version.minor} is not spoken here "
                    "(expected HTTP/1.0 or HTTP/1.1)"
                )
                error = HttpProcessingError(code=400, message=text)
                messages[index] = (_ErrInfo(status=400, exc=error, message=text), EMPTY_PAYLOAD)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        """aiohttp's error answer (its parser's 400s), with a reason line and the error fields."""
        if message is not None and 400 <= status < 500:
            reason = HTTPStatus(status).phrase if status in _STATUSES else "Bad Request"
            message = f"{status} {reason}: {message}"
        response = super().handle_error(request, status, exc, message)
        response.headers["Cache-Control"] = "no-store"
        for name, value in self._error_fields:
            response.headers[name] = value
        return response

    # -- closing ---------------------------------------------------------------------------

    def _reject(self, why: str) -> None:
        """408 (unless a response already began), then close the connection."""
        transport = self.transport
        if transport is not None and not self._response_started():
            transport.write(plain_answer(408, "Request Timeout", why, self._error_fields))
        self.force_close()

    def _response_started(self) -> bool:
        request = self._current_request
        writer = getattr(request, "_payload_writer", None) if request is not None else None
        return writer is not None and getattr(writer, "output_size", 0) > 0


class GuardedServer(web.Server):
    """aiohttp's low-level Server whose connections are ``GuardedHandler``s."""

    def __init__(
        self,
        handler: Any,
        *,
        limits: ConnectionLimits,
        error_fields: ErrorFields = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self.limits = limits
        self.error_fields = error_fields

    def __call__(self) -> RequestHandler:
        return GuardedHandler(
            self,
            limits=self.limits,
            error_fields=self.error_fields,
            loop=self._loop,
            **self._kwargs,
        )


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server enforces ``limits`` (idle timeout = keep-alive timeout) and
    adds ``error_fields`` to the answers its connections make themselves (400, 408, 503)."""

    def __init__(
        self,
        app: web.Application,
        *,
        limits: ConnectionLimits = DEFAULT_LIMITS,
        error_fields: ErrorFields = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(app, keepalive_timeout=limits.idle_timeout, **kwargs)
        self.limits = limits
        self.error_fields = error_fields

    @classmethod
    def for_node(
        cls,
        app: web.Application,
        *,
        limits: ConnectionLimits,
        drain_timeout: float,
        access_log: logging.Logger | None,
    ) -> GuardedRunner:
        """The runner of a `cdn` server process: ``limits`` on every connection, in-flight
        requests given ``drain_timeout`` seconds at shutdown, signals left to the caller."""
        return cls(
            app,
            limits=limits,
            access_log=access_log,
            shutdown_timeout=drain_timeout,
            handle_signals=False,
        )

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return GuardedServer(
            server.request_handler,
            limits=self.limits,
            error_fields=self.error_fields,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )
