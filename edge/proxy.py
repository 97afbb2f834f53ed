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
from collections.abc import Callable
from dataclasses import replace

from aiohttp import web
from aiohttp.http import HttpVersion11
from multidict import CIMultiDictProxy

from cdn.cache import Store as EntryStore
from cdn.functions.triggers import Trigger
from cdn.gateway.admission import Answered
from cdn.gateway.compression import normalised_fields
from cdn.http import CacheConfig, CacheStep, Forward, Headers, Reject, Request, Serve
from edge.accesslog import AccessLog
from edge.collapsing import Collapsing
from edge.compressing import VIEWER_CODING, viewer_coding
from edge.failures import Failures
from edge.forwarding import SMALL_BODY
from edge.functions import (
    FUNCTION_PASS,
    EdgeFunctions,
    FunctionAborted,
    FunctionPass,
    functions_active,
)
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
from edge.routes import ORIGIN_ROUTE, OriginRoute, origin_routes
from edge.settings import EdgeSettings, fast_path_enabled
from edge.streaming import Streamer
from edge.upstream import Clock, Upstream
from edge.wire import PrerenderedResponse

__all__ = ["SMALL_BODY", "Proxy"]

log = logging.getLogger("cdnlab.edge")

_perf = time.perf_counter
_HTTP11 = HttpVersion11
VIEWER_REQUEST = Trigger.VIEWER_REQUEST
VIEWER_RESPONSE = Trigger.VIEWER_RESPONSE


def with_https_port(answered: Answered, port: int) -> Answered:
    """A redirect-to-https answer whose Location names the edge's HTTPS ``port``."""
    fields = []
    for name, value in answered.headers:
        if name == "Location" and value.startswith("https://"):
            host, slash, rest = value[len("https://") :].partition("/")
            value = f"https://{host}:{port}{slash}{rest}"
        fields.append((name, value))
    return replace(answered, headers=tuple(fields))


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
        self.routes: dict[int, OriginRoute] = {}
        # The HTTPS listener's port, once it listens (edge.server): redirect-to-https goes there.
        self.https_port: int | None = None
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
            # Behaviors with an origin group or an external origin (edge.routes).
            origin_url = (
                settings.upstream_url
                if settings.upstream_kind == "origin"
                else f"http://{settings.site_host}"
            )
            self.routes = origin_routes(
                settings.gateway, settings.origin_name, origin_url, dict(settings.node_urls)
            )
        self._fast_path = fast_path_enabled(settings)
        self._upstream: Upstream | None = None
        # A shield's behaviors bound lifetimes as the edges' do (their cache configs by id).
        self._ttl_behaviors = settings.ttl_behaviors
        self._ttl_configs = (
            None
            if settings.ttl_behaviors is None or self.gateway is not None
            else {id(b): b.cache_config(self.config) for b in settings.ttl_behaviors.behaviors}
        )
        # Edge functions (edge.functions): with a viewer-side function on the edge's own
        # chain, hits go through handle (the chain), unless it is only on viewer-request
        # (``EdgeFunctions.wire_hit``: the wire path runs it, or hands its result to handle).
        self.functions: EdgeFunctions | None = None
        # The wire path holds its answers to the end of the loop's pass (``edge.wire``) when
        # it runs a function per hit: the client is then woken once per pass, not per answer.
        self.holds_wire_answers = False
        if functions_active(settings):
            self.functions = EdgeFunctions(settings, metrics.registry, recorder, clock)
            if self.gateway is not None:
                self.wire_hit = self._gateway_functions_wire_hit
            elif EdgeFunctions.viewer_side(self.functions.edge_chain):
                self.wire_hit = self.functions.wire_hit(self.hits, keys.key_of)
                self.holds_wire_answers = self.wire_hit is not None

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
            if self.functions is not None:
                return await self._functioned(request, method, started)
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
            config = self.config if self._ttl_configs is None else self._bounded_config(target)
            step = CacheStep(self.store, config, creq, self.key_of(target), self.clock())
            return await self._step(request, creq, step, started)
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
            if admitted.category == "redirect" and self.https_port not in (None, 443):
                admitted = with_https_port(admitted, self.https_port)  # type: ignore[arg-type]
            return gateway.answer(request, admitted, started)
        route = self.routes.get(id(admitted.behavior))
        if route is not None:
            request[ORIGIN_ROUTE] = route
        extra = bool(admitted.response_fields)
        if extra:
            request[RESPONSE_FIELDS] = admitted.response_fields
        fields = request.headers.items()
        if admitted.behavior.compress:  # the step keys variants by the normalised coding
            coding = viewer_coding(request.headers.get("Accept-Encoding"))
            request[VIEWER_CODING] = coding
            fields = normalised_fields(fields, coding)  # type: ignore[assignment]
        creq = Request(method, target, Headers(fields))
        config = gateway.config_for(admitted.behavior)
        functions = self.functions
        if functions is not None:
            chain = functions.chain_for(admitted.behavior)
            if functions.runs_any(chain):
                policy = admitted.behavior.cache_key

                def key_of(path: str, query: str) -> str:
                    return self.key_of(policy.key_target(path, query)) + admitted.key_suffix

                state = functions.begin(request, chain, target)
                return await self._with_functions(
                    request, state, method, started, config, key_of, extra
                )
        step = CacheStep(self.store, config, creq, gateway.cache_key(admitted), self.clock())
        return await self._step(request, creq, step, started, extra)

    async def _step(
        self,
        request: web.Request,
        creq: Request,
        step: CacheStep,
        started: float,
        extra: bool = False,
    ) -> web.StreamResponse:
        """Carry out the cache step's first action."""
        action = step.next()
        if isinstance(action, Serve):
            return self._serve(request, creq, step, action, started, extra)
        if isinstance(action, Forward):
            return await self.passthrough.forward(request, creq, step, action, started)
        if isinstance(action, Reject):
            return self.failures.rejected(request, action, started)
        return await self.misses.forward(request, creq, step, action, started)

    def _bounded_config(self, target: str) -> CacheConfig:
        """A shield's cache config for ``target``: its behavior's TTL bounds."""
        assert self._ttl_behaviors is not None and self._ttl_configs is not None
        behavior = self._ttl_behaviors.behavior_for(target.partition("?")[0])
        return self._ttl_configs[id(behavior)]

    async def _functioned(
        self, request: web.Request, method: str, started: float
    ) -> web.StreamResponse:
        """``handle`` on an edge with functions (no gateway): the edge's own chain."""
        functions = self.functions
        assert functions is not None
        target = request.raw_path
        if target[:1] != "/":
            target = origin_form(request, target, self._site)
        ran = functions.handed(request)  # viewer-request already ran on the wire fast path
        if ran is not None:
            started = ran.started  # the request's latency counts from its arrival there
        state = functions.begin(request, functions.edge_chain, target, ran)

        def key_of(path: str, query: str) -> str:
            return self.key_of(f"{path}?{query}" if query else path)

        return await self._with_functions(
            request, state, method, started, self.config, key_of, False
        )

    async def _with_functions(
        self,
        request: web.Request,
        state: FunctionPass,
        method: str,
        started: float,
        config: CacheConfig,
        key_of: Callable[[str, str], str],
        extra: bool,
    ) -> web.StreamResponse:
        """viewer-request, the cache step (origin triggers in ``edge.functions.fetch``), then
        viewer-response (edge.functions)."""
        functions = self.functions
        assert functions is not None
        chain = state.chain
        try:
            if chain.on(VIEWER_REQUEST):
                answered = await functions.viewer_request(request, state, started)
                if answered is not None:
                    return answered
            viewer = state.request
            target = viewer.uri + (f"?{viewer.querystring}" if viewer.querystring else "")
            fields = viewer.headers
            coding = request.get(VIEWER_CODING)
            if coding is not None:  # a compressing behavior: variants by the normalised coding
                fields = normalised_fields(fields, coding)  # type: ignore[assignment]
            creq = Request(method, target, Headers(fields))
            key = key_of(viewer.uri, viewer.querystring)
            step = CacheStep(self.store, config, creq, key, self.clock())
            response = await self._step(
                request, creq, step, started, extra or chain.on(VIEWER_RESPONSE)
            )
        except FunctionAborted as aborted:
            state.done = True
            return functions.failed(request, aborted.failed, aborted.trigger, started)
        if not state.done and not response.prepared and chain.on(VIEWER_RESPONSE):
            response = await functions.viewer_response(request, state, response, started)
        return response

    def _gateway_functions_wire_hit(
        self,
        method: str,
        target: str,
        fields: CIMultiDictProxy[str],
        client: str = "",
        scheme: str = "http",
    ) -> tuple[int, tuple[bytes, ...]] | None:
        """The gateway's wire fast path on an edge with functions: requests on a behavior with
        a viewer-side function go to ``handle`` (the chain runs there)."""
        gateway = self.gateway
        functions = self.functions
        assert gateway is not None and functions is not None
        if target[:1] == "/":
            behavior = gateway.gateway.behavior_for(target.partition("?")[0])
            if functions.viewer_side(functions.chain_for(behavior)):
                return None
        return gateway.wire_hit(method, target, fields, client, scheme)

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
        passing = request.get(FUNCTION_PASS)
        if passing is not None:
            passing.origin_status = serve.entry.status
        if serve.refresh is not None:
            self.refresher.start(
                step,
                creq.target,
                serve.refresh,
                request.get(VIEWER_CODING),
                request.get(ORIGIN_ROUTE),  # type: ignore[arg-type]
            )
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
