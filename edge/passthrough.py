"""Methods other than GET/HEAD: passed through with their body, then invalidation (RFC 9111 §4.4).

Rules: CONNECT is refused (405: not a forward proxy). Everything else goes to the upstream
(never a peer) with its body, small ones read whole, larger ones streamed; the core's
``decide`` says Bypass and its ``absorb`` says Pass, whose ``invalidate`` targets the
streamer removes after a 2xx/3xx.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from cdn.http import Bypass, CacheConfig, Headers, Pass, Request, Response, absorb, decide
from edge.failures import Failures
from edge.intake import Refused, origin_form
from edge.misses import SMALL_BODY, forward_fields
from edge.streaming import CHUNK, Streamer
from edge.upstream import Upstream, UpstreamError

__all__ = ["PassThrough"]


class PassThrough:
    """Unsafe and other methods of one edge; ``upstream`` is set when the app starts."""

    def __init__(
        self,
        config: CacheConfig,
        site: str,
        key_of: Callable[[str], str],
        failures: Failures,
        streamer: Streamer,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.config = config
        self.site = site
        self.key_of = key_of
        self.failures = failures
        self.streamer = streamer
        self.upstream: Upstream | None = None

    async def handle(self, request: web.Request, started: float) -> web.StreamResponse:
        """Send ``request`` upstream with its body and stream the answer back."""
        method = request.method
        if method == "CONNECT":
            raise Refused(405, "CONNECT is refused: this edge is not a forward proxy", "connect")
        target = request.raw_path
        if target[:1] != "/":
            target = origin_form(request, target, self.site)
        headers = Headers(request.headers.items())
        creq = Request(method, target, headers)
        key = self.key_of(target)
        decision = decide(creq, key, (), self.clock(), self.config)
        assert isinstance(decision, Bypass)
        upstream = self.upstream
        assert upstream is not None
        fields = forward_fields(upstream, request, decision.headers)
        data: Any = None
        if request.body_exists:
            if request.content_length is not None and request.content_length <= SMALL_BODY:
                data = await request.read()
            else:
                data = request.content.iter_chunked(CHUNK)
        if request.content_length is not None:
            fields.append(("Content-Length", str(request.content_length)))
        try:
            fetched = await upstream.fetch(
                method, target, fields, key=key, allow_peers=False, data=data
            )
        except UpstreamError as exc:
            return self.failures.upstream_failed(
                request, decision, exc.status, exc.reason, None, started
            )
        try:
            response = fetched.response
            outcome = absorb(
                creq,
                key,
                decision,
                Response(
                    response.status, Headers(response.headers.items()), response.content_length or 0
                ),
                fetched.request_time,
                fetched.response_time,
                self.config,
            )
            assert isinstance(outcome, Pass)
            return await self.streamer.stream(
                request, creq, decision, outcome, fetched, None, started, False
            )
        finally:
            fetched.release()
