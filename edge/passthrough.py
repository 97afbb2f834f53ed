"""Methods other than GET/HEAD: passed through with their body, then invalidation (RFC 9111 §4.4).

Rules: the cache step says ``Forward`` (its ``decide`` says Bypass) and, given the answer,
``Relay`` with the targets to invalidate, which the streamer removes after the answer is sent.
Everything goes to the upstream (never a peer) with its body, small ones read whole, larger
ones streamed. CONNECT never gets here (``edge.intake`` refuses it).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cdn.http import CacheStep, Forward, Relay, Request
from edge.failures import Failures
from edge.forwarding import SMALL_BODY, forward_fields
from edge.functions import FUNCTION_PASS
from edge.keeping import upstream_response
from edge.routes import ORIGIN_ROUTE, fetch_routed
from edge.streaming import CHUNK, Streamer
from edge.upstream import Clock, Upstream, UpstreamError

__all__ = ["PassThrough"]


class PassThrough:
    """Unsafe and other methods of one edge; ``upstream`` is set when the app starts."""

    def __init__(self, failures: Failures, streamer: Streamer, clock: Clock) -> None:
        self.failures = failures
        self.streamer = streamer
        self.clock = clock
        self.upstream: Upstream | None = None

    async def forward(
        self,
        request: web.Request,
        creq: Request,
        step: CacheStep,
        action: Forward,
        started: float,
    ) -> web.StreamResponse:
        """Send ``request`` upstream with its body and stream the answer back."""
        upstream = self.upstream
        assert upstream is not None
        fields = forward_fields(upstream, request, action.headers)
        data: Any = None
        if request.body_exists:
            if request.content_length is not None and request.content_length <= SMALL_BODY:
                data = await request.read()
            else:
                data = request.content.iter_chunked(CHUNK)
        if request.content_length is not None:
            fields.append(("Content-Length", str(request.content_length)))
        passing = request.get(FUNCTION_PASS)
        try:
            route = request.get(ORIGIN_ROUTE)
            if passing is not None:  # origin-request before, origin-response after
                fetched = await passing.functions.fetch(
                    passing,
                    upstream,
                    creq.method,
                    creq.target,
                    fields,
                    key=step.key,
                    allow_peers=False,
                    data=data,
                    route=route,
                )
            elif route is None:
                fetched = await upstream.fetch(
                    creq.method, creq.target, fields, key=step.key, allow_peers=False, data=data
                )
            else:  # the behavior's own origin; a group's primary (a body never fails over)
                fetched = await fetch_routed(
                    upstream,
                    route,
                    creq.method,
                    creq.target,
                    fields,
                    data,  # type: ignore[arg-type]
                )
        except UpstreamError as exc:
            failed = step.failed(None, self.clock())
            return self.failures.upstream_failed(
                request, failed.cache_status, exc.status, exc.reason, started
            )
        try:
            relay = step.received(
                upstream_response(fetched), fetched.request_time, fetched.response_time
            )
            assert isinstance(relay, Relay)
            return await self.streamer.stream(
                request, relay.cache_status, fetched, None, None, started, relay.invalidate
            )
        finally:
            fetched.release()
