"""The request pipeline of one edge: an aiohttp request in, the cache step's actions out.

Rules: no caching semantics here. The core's ``cdn.http.CacheStep`` says what to do for each
request (variant lookup, hits, Range, conditionals, Age, Cache-Status, collapsing, stale,
invalidation); ``cdn.cache.Store`` keeps, evicts and purges. One request walks down, in one
direction:

1. ``edge.wire`` answers plain hits on arrival (``Hits.wire_hit``: the step's first branch,
   ``cdn.http.plain_hit``, with its output cached as ready bytes);
2. ``Proxy.handle`` reads the request (``edge.intake``), keys it (``edge.keys``: the core's
   ``peer_key``), builds the step and carries out its first action:
   ``Serve`` -> ``edge.hits`` (a 200 hit, from ready bytes) or ``edge.replies`` (stale, 304,
   206, 416); ``Join``/``Fetch`` -> ``edge.misses`` (collapsing, upstream, keeping or
   streaming, which end in ``edge.replies`` or ``edge.streaming``); ``Forward`` ->
   ``edge.passthrough``; ``Reject`` and errors -> ``edge.failures``. A ``Serve`` with a
   ``refresh`` also starts ``edge.refresh`` (stale-while-revalidate).

Shell choices (documented in docs/edge.md):
- the cache key's host is the configured site (the origin's host:port), never the client's
  Host, so the client cannot pick what is fetched or poison another site's keys;
- absolute-form targets naming another authority are refused (403), CONNECT is refused (405);
- responses fetched from a peer are served but not stored (the owner stores them: the group
  stores each object once);
- Surrogate-Key is sent only to our own tier (requests carrying a ``cdnlab-`` CDN-Loop member);
- Cache-Status: the upstream's members first, ours last (closest to the client);
- bodies up to ``SMALL_BODY`` are read whole then sent; larger cacheable ones are streamed to
  the client while kept; bodies over ``max_cacheable_size`` stream through unbuffered.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.http import HttpVersion11

from cdn.cache import Store as EntryStore
from cdn.gateway.admission import Answered
from cdn.http import CacheStep, Forward, Headers, Reject, Request, Serve
from edge.accesslog import AccessLog
from edge.collapsing import Collapsing
from edge.failures import Failures
from edge.forwarding import SMALL_BODY
from edge.gateway import RESPONSE_FIELDS, EdgeGateway, gateway_active
from edge.hits import Hits
from edge.intake import Refused, origin_form
from edge.keys import CacheKeys
from edge.metrics import EdgeMetrics
from edge.misses import Misses
from edge.passthrough import PassThrough
from edge.recording import Recorder
from edge.refresh import Refresher
from edge.replies import Replies
from edge.settings import EdgeSettings, fast_path_enabled
from edge.streaming import Streamer
from edge.upstream import Clock, Upstream
from edge.wire import PrerenderedResponse

__all__ = ["SMALL_BODY", "Proxy"]

log = logging.getLogger("cdnlab.edge")

_perf = time.perf_counter
_HTTP11 = HttpVersion11


class Proxy:
    """One app's pipeline. ``handle`` is the aiohttp handler of every non-admin path."""

    def __init__(
        self,
        settings: EdgeSettings,
        store: EntryStore,
        metrics: EdgeMetrics,
        collapsing: Collapsing,
        access_log: AccessLog,
        clock: Clock = time.time,
    ) -> None:
        self.settings = settings
        self.config = settings.cache_config
        self.store = store
        self.metrics = metrics
        self.collapsing = collapsing
        self.access_log = access_log
        self.clock = clock
        self.name = settings.cache_status_name
        self.via = f"1.1 {settings.name}"
        self._site = settings.site_host
        keys = CacheKeys(settings)
        recorder = Recorder(metrics, access_log)
        self.replies = Replies(self.name, self.via, store, recorder)
        self.failures = Failures(self.name, self.via, recorder)
        self.hits = Hits(store, keys, self.replies, recorder, clock, fast_path_enabled(settings))
        self.refresher = Refresher(settings.max_cacheable_size, store, metrics)
        streamer = Streamer(
            settings.max_cacheable_size, store, metrics, self.replies, recorder, self.invalidate
        )
        self.misses = Misses(
            settings, store, metrics, collapsing, self.replies, self.failures, streamer, clock
        )
        self.passthrough = PassThrough(self.failures, streamer, clock)
        # Bound once: the hit path calls these per request.
        self.key_of = keys.key_of
        self.wire_hit = self.hits.wire_hit
        # The topology's gateway (behaviors, keys, limits), when it asks anything of requests.
        self.gateway: EdgeGateway | None = None
        if gateway_active(settings.gateway):
            assert settings.gateway is not None
            self.gateway = EdgeGateway(
                settings.gateway,
                dict(settings.api_key_values),
                self.name,
                self.via,
                metrics,
                recorder,
                keys.key_of,
                clock,
                self.config,
                self.hits.wire_hit_at,
                settings.admin_token,
            )
            self.wire_hit = self.gateway.wire_hit
        self._fast_path = fast_path_enabled(settings)
        self._upstream: Upstream | None = None

    @property
    def upstream(self) -> Upstream | None:
        """Where misses go; set when the app starts (the app owns the ClientSession)."""
        return self._upstream

    @upstream.setter
    def upstream(self, upstream: Upstream | None) -> None:
        self._upstream = upstream
        self.misses.upstream = upstream
        self.refresher.upstream = upstream
        self.passthrough.upstream = upstream

    @property
    def refreshing(self) -> set[str]:
        """Keys being refreshed in the background now (stale-while-revalidate)."""
        return self.refresher.refreshing

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one client request (every method except PURGE, which admin handles)."""
        started = _perf()
        method = request.method
        try:
            if method == "CONNECT":
                raise Refused(
                    405, "CONNECT is refused: this edge is not a forward proxy", "connect"
                )
            if self.gateway is not None:
                return await self._admit(request, method, started)
            if (
                self._fast_path
                and (method == "GET" or method == "HEAD")
                and request.version == _HTTP11
                and request.keep_alive
            ):
                ready = self.wire_hit(method, request.raw_path, request.headers)
                if ready is not None:
                    return PrerenderedResponse(ready[0], ready[1])
            target = request.raw_path
            if target[:1] != "/":
                target = origin_form(request, target, self._site)
            creq = Request(method, target, Headers(request.headers.items()))
            step = CacheStep(self.store, self.config, creq, self.key_of(target), self.clock())
            action = step.next()
            if isinstance(action, Serve):
                return self._serve(request, creq, step, action, started)
            if isinstance(action, Forward):
                return await self.passthrough.forward(request, creq, step, action, started)
            if isinstance(action, Reject):
                return self.failures.rejected(request, action, started)
            return await self.misses.forward(request, creq, step, action, started)
        except Refused as refused:
            return self.failures.refusal(request, refused, started)
        except (asyncio.CancelledError, ConnectionResetError, web.HTTPException):
            raise
        except Exception:
            log.exception("internal error on %s %s", method, request.raw_path)
            return self.failures.internal_error(request, started)

    async def _admit(self, request: web.Request, method: str, started: float) -> web.StreamResponse:
        """``handle`` behind the gateway: admission first, then the cache step on the
        behavior's cache key (the raw target is what is fetched)."""
        gateway = self.gateway
        assert gateway is not None
        target = request.raw_path
        if target[:1] != "/":
            target = origin_form(request, target, self._site)
        admitted = gateway.admit(request, method, target)
        if isinstance(admitted, Answered):
            return gateway.answer(request, admitted, started)
        extra = bool(admitted.response_fields)
        if extra:
            request[RESPONSE_FIELDS] = admitted.response_fields
        creq = Request(method, target, Headers(request.headers.items()))
        config = gateway.config_for(admitted.behavior)
        step = CacheStep(self.store, config, creq, gateway.cache_key(admitted), self.clock())
        action = step.next()
        if isinstance(action, Serve):
            return self._serve(request, creq, step, action, started, extra)
        if isinstance(action, Forward):
            return await self.passthrough.forward(request, creq, step, action, started)
        if isinstance(action, Reject):
            return self.failures.rejected(request, action, started)
        return await self.misses.forward(request, creq, step, action, started)

    def _serve(
        self,
        request: web.Request,
        creq: Request,
        step: CacheStep,
        serve: Serve,
        started: float,
        extra: bool = False,
    ) -> web.StreamResponse:
        """Answer the step's first ``Serve``: a stored entry, as a hit, stale, 304 or range."""
        obj = self.store.get(step.key, serve.entry.variant)
        assert obj is not None  # the step read it from the store this instant
        if serve.refresh is not None:
            self.refresher.start(step, creq.target, serve.refresh)
            self.metrics.stale_served["stale-while-revalidate"].inc()
        status = serve.cache_status
        if status.label == "hit" and serve.status == serve.entry.status:
            return self.hits.serve_hit(request, obj, serve.age, status, started, extra)
        return self.replies.serve(request, serve, obj, started)

    def invalidate(self, targets: tuple[str, ...]) -> int:
        """Remove every variant stored under each target's key (§4.4); the count removed."""
        return sum(self.purge(target) for target in targets)

    def purge(self, target: str, soft: bool = False) -> int:
        """Purge every variant stored for ``target`` (path?query) under the key its behavior
        gives it (``EdgeGateway.purge_keys``; the plain key without a gateway); the count."""
        key, suffixed = self.key_of(target), None
        if self.gateway is not None:
            key, suffixed = self.gateway.purge_keys(target)
        count = self.store.purge_key(key, soft=soft)
        if suffixed is not None:
            count += self.store.purge_prefix(suffixed, soft=soft)
        self.collapsing.forget(key)
        return count

    async def close(self) -> None:
        """Cancel background refreshes (app shutdown)."""
        await self.refresher.close()
