"""Going upstream for the cache step: collapse, fetch, hand the answer to the step, do what it says.

Rules: the core's ``CacheStep`` decides every step (``Join``, ``Fetch``, then ``Keep``,
``Renew``, ``Relay``, a refetch ``Fetch`` or a stale ``Serve``); this module does the I/O.
Concurrent misses of one key share one fetch (``edge.collapsing``). Bodies of known length up
to ``SMALL_BODY`` are read whole, kept and answered through ``edge.replies`` (so a Range or a
client conditional applies to them as to any hit); others are streamed (``edge.streaming``).
A peer's answer is served, not stored (the owner stores it).
"""

from __future__ import annotations

from aiohttp import web

from cdn.cache import Store as EntryStore
from cdn.http import (
    CacheStep,
    Fail,
    Fetch,
    Join,
    Keep,
    Relay,
    Renew,
    Request,
    Serve,
    stood_in_on_error,
)
from cdn.http.error_hold import ErrorHold, after_fetch, failed_fetch, is_held
from edge.collapsing import Collapsing, Ticket
from edge.compressing import VIEWER_CODING, compressed
from edge.failures import Failures
from edge.forwarding import SMALL_BODY, forward_fields
from edge.functions import FUNCTION_PASS, FunctionResponse
from edge.intake import check_loop
from edge.keeping import kept_object, put_freshened, read_body, upstream_response
from edge.metrics import EdgeMetrics
from edge.replies import Replies
from edge.routes import ORIGIN_ROUTE, fetch_routed
from edge.settings import EdgeSettings
from edge.streaming import Streamer
from edge.upstream import PEER_HEADER, Clock, Fetched, Upstream, UpstreamError, cdn_loop_member

__all__ = ["Misses"]

# A 304 that matches nothing is fetched again once, unconditionally.
_ATTEMPTS = 2


class Misses:
    """The upstream half of one edge's requests; ``upstream`` is set when the app starts."""

    def __init__(
        self,
        settings: EdgeSettings,
        store: EntryStore,
        metrics: EdgeMetrics,
        collapsing: Collapsing,
        replies: Replies,
        failures: Failures,
        streamer: Streamer,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.loop_member = cdn_loop_member(settings.name)
        self.store = store
        self.metrics = metrics
        self.collapsing = collapsing
        self.replies = replies
        self.failures = failures
        self.streamer = streamer
        self.clock = clock
        self.upstream: Upstream | None = None
        # The error hold per upstream route ("" : peers, shields, origin; else the behavior's
        # own origin): cdn.http.error_hold. One per process, as the failures it follows.
        self.holds: dict[str, ErrorHold] = {}

    async def forward(
        self,
        request: web.Request,
        creq: Request,
        step: CacheStep,
        action: Join | Fetch,
        started: float,
    ) -> web.StreamResponse:
        """Carry out ``action`` (the step's Join or Fetch) and answer what the step says."""
        check_loop(request.headers, self.loop_member, self.settings.name)
        ticket: Ticket | None = None
        if isinstance(action, Join):
            ticket, shared, waited = await self.collapsing.join(action.key)
            if waited:
                self.metrics.collapsed.inc()
            joined = step.joined(shared, self.clock(), waited)
            if isinstance(joined, Serve):
                assert shared is not None
                return self.replies.serve(request, joined, shared, started)
            action = joined
        try:
            return await self._fetch(request, creq, step, action, ticket, started)
        finally:
            if ticket is not None:
                ticket.abandon()  # no-op when the fetch finished it

    async def _fetch(
        self,
        request: web.Request,
        creq: Request,
        step: CacheStep,
        fetch: Fetch,
        ticket: Ticket | None,
        started: float,
    ) -> web.StreamResponse:
        upstream = self.upstream
        assert upstream is not None
        allow_peers = PEER_HEADER not in request.headers
        passing = request.get(FUNCTION_PASS)
        route = request.get(ORIGIN_ROUTE)
        scope = "" if route is None else route.members[0].name  # type: ignore[attr-defined]
        holds = self.holds
        now = self.clock()
        if is_held(holds.get(scope), now):
            stand_in = step.held_stand_in(now)
            if stand_in is not None:
                obj = self.store.get(step.key, stand_in.entry.variant)
                if obj is not None:
                    if ticket is not None:
                        ticket.abandon()
                    self.metrics.stale_served["stale-if-error"].inc()
                    return self.replies.serve(request, stand_in, obj, started)
        for _attempt in range(_ATTEMPTS):
            fields = forward_fields(upstream, request, fetch.headers)
            try:
                if passing is not None:  # origin-request before, origin-response after
                    fetched = await passing.functions.fetch(
                        passing,
                        upstream,
                        fetch.method,
                        creq.target,
                        fields,
                        key=step.key,
                        allow_peers=allow_peers,
                        route=route,
                    )
                elif route is None:
                    fetched = await upstream.fetch(
                        fetch.method, creq.target, fields, key=step.key, allow_peers=allow_peers
                    )
                else:  # the behavior's own origin or origin group
                    fetched = await fetch_routed(upstream, route, fetch.method, creq.target, fields)
            except UpstreamError as exc:
                if ticket is not None:
                    ticket.abandon()
                self._held(scope, True)
                failed = step.failed(None, self.clock())
                return self._failed(request, step, failed, exc.status, exc.reason, started)
            answer = fetched.response
            if isinstance(answer, FunctionResponse):  # what the upstream itself said, if asked
                answer = answer.original
            if answer is not None:  # an origin-request function's own answer is no upstream's
                stood_in = stood_in_on_error(answer.headers.get("Cache-Status"))
                self._held(scope, failed_fetch(answer.status, stood_in))
            coding = request.get(VIEWER_CODING)
            if coding is not None:  # a compressing behavior: the representation we serve
                encoded = await compressed(fetched, coding, fetch.method)
                if encoded is None:
                    fetched.release()
                    failed = step.failed(None, self.clock())
                    return self._failed(
                        request, step, failed, 502, "upstream body ended early", started
                    )
                fetched = encoded
            try:
                if fetch.conditional:
                    code = fetched.response.status
                    self.metrics.revalidations["not-modified" if code == 304 else "modified"].inc()
                action = step.received(
                    upstream_response(fetched), fetched.request_time, fetched.response_time
                )
                if isinstance(action, Fetch):
                    fetch = action
                    continue
                return await self._carry_out(request, step, action, fetched, ticket, started)
            finally:
                fetched.release()
        return self.failures.upstream_failed(
            request,
            step.failed(304, self.clock()).cache_status,
            502,
            "upstream answered 304 twice to an unconditional GET",
            started,
        )

    def _held(self, scope: str, failed: bool) -> None:
        """Carry a fetch's outcome into ``scope``'s error hold."""
        holds = self.holds
        hold = after_fetch(holds.get(scope), failed, self.clock())
        if hold is None:
            holds.pop(scope, None)
        else:
            holds[scope] = hold

    def _failed(
        self,
        request: web.Request,
        step: CacheStep,
        failed: Serve | Fail,
        code: int,
        reason: str,
        started: float,
    ) -> web.StreamResponse:
        if isinstance(failed, Serve):
            obj = self.store.get(step.key, failed.entry.variant)
            if obj is not None:
                self.metrics.stale_served["stale-if-error"].inc()
                return self.replies.serve(request, failed, obj, started)
            failed = Fail(failed.cache_status)
        return self.failures.upstream_failed(request, failed.cache_status, code, reason, started)

    async def _carry_out(
        self,
        request: web.Request,
        step: CacheStep,
        action: Keep | Renew | Relay | Serve,
        fetched: Fetched,
        ticket: Ticket | None,
        started: float,
    ) -> web.StreamResponse:
        """Do what the step said of the upstream's answer."""
        response = fetched.response
        if isinstance(action, Serve):  # a 5xx, and a stale entry stands in (stale-if-error)
            if ticket is not None:
                ticket.abandon()
            obj = self.store.get(step.key, action.entry.variant)
            if obj is not None:
                self.metrics.stale_served["stale-if-error"].inc()
                return self.replies.serve(request, action, obj, started)
            action = step.refused("status", self.clock())  # gone meanwhile: relay the 5xx
        if isinstance(action, Renew):
            await response.read()
            obj = put_freshened(self.store, step.key, action)
            if ticket is not None:
                ticket.finish(obj, cacheable=obj is not None)
            if obj is not None:
                serve = step.answer(obj.entry, self.clock())
                return self.replies.serve(request, serve, obj, started, fetched)
            action = step.refused("evicted", self.clock())
        if isinstance(action, Relay):
            if ticket is not None:
                if action.hit_for_pass:
                    ticket.finish(None, cacheable=False)
                else:
                    ticket.abandon()
            return await self.streamer.stream(
                request, action.cache_status, fetched, None, None, started, action.invalidate
            )
        return await self._keep(request, step, action, fetched, ticket, started)

    async def _keep(
        self,
        request: web.Request,
        step: CacheStep,
        keep: Keep,
        fetched: Fetched,
        ticket: Ticket | None,
        started: float,
    ) -> web.StreamResponse:
        """Store the upstream's body under ``keep.entry`` (unless too large or a peer's)."""
        length = fetched.response.content_length
        limit = min(self.settings.max_cacheable_size, self.store.capacity)
        if length is not None and length > limit:
            relay = step.refused("too-large", self.clock())
            if ticket is not None:
                ticket.finish(None, cacheable=False)
            return await self.streamer.stream(
                request, relay.cache_status, fetched, None, None, started
            )
        peer = fetched.kind == "peer"  # the owner peer keeps it: one copy in the group
        if peer:
            step.refused("peer-owned", self.clock())
        if length is None or length > SMALL_BODY:
            status = step.answer(keep.entry, self.clock(), stored=False).cache_status
            kept = None if peer else keep.entry
            return await self.streamer.stream(
                request, status, fetched, kept, ticket, started, served=keep.served
            )
        body = await read_body(fetched.response, self.metrics, fetched.kind)
        if body is None:
            if ticket is not None:
                ticket.abandon()
            return self.failures.upstream_failed(
                request,
                step.failed(fetched.response.status, self.clock()).cache_status,
                502,
                "upstream body ended early",
                started,
            )
        obj = kept_object(keep.entry, body)
        if not peer:
            self.store.put(obj)
        if ticket is not None:
            ticket.finish(obj, cacheable=True)
        serve = step.answer(obj.entry, self.clock(), stored=False)
        # This answer carries the response's own fields (Keep.served), the store its copy's.
        answer = obj if keep.served is None else kept_object(keep.served, body)
        return self.replies.serve(request, serve, answer, started, fetched)
