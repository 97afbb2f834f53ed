"""Misses, revalidations and stale answers: collapse, fetch upstream, absorb, serve or stream.

Rules: the core says what to do (``decide``: Miss, Revalidate, StaleHit, OnlyIfCachedMiss)
and what to keep (``absorb``: Store, Freshen, Pass, Refetch); this module does it.
Concurrent misses of one key share one fetch (``edge.collapsing``). Bodies of known length up
to ``SMALL_BODY`` are read whole then sent; others are streamed (``edge.streaming``). A peer's
answer is served, not stored (the owner stores it). When the upstream fails or answers
500/502/503/504, a stale copy stands in where the core's ``stale_on_error`` allows it.
"""

from __future__ import annotations

import time

from aiohttp import web

from cdn.cache import Store as CacheStore
from cdn.http import (
    UPSTREAM_ERROR_STATUSES,
    CacheConfig,
    Decision,
    Freshen,
    Headers,
    Hit,
    Miss,
    OnlyIfCachedMiss,
    Pass,
    Refetch,
    Request,
    Response,
    Revalidate,
    StaleHit,
    Store,
    absorb,
    decide,
    describe,
    stale_on_error,
)
from edge.collapsing import Collapsing, Ticket
from edge.failures import Failures
from edge.intake import check_loop
from edge.keeping import kept_object, put_freshened, read_body
from edge.metrics import EdgeMetrics
from edge.refresh import Refresher
from edge.replies import Replies
from edge.settings import EdgeSettings
from edge.streaming import Streamer
from edge.upstream import PEER_HEADER, Clock, Fetched, Upstream, UpstreamError, cdn_loop_member

__all__ = ["SMALL_BODY", "Misses", "forward_fields"]

# Bodies of known length up to this are read whole and sent with one write.
SMALL_BODY = 1024 * 1024


def forward_fields(
    upstream: Upstream, request: web.Request, fields: Headers
) -> list[tuple[str, str]]:
    """Fields to send upstream: the core's ``fields``, Via, CDN-Loop and X-Forwarded-For."""
    pairs = upstream.request_headers(
        fields.items(), request.headers.get("Via"), request.headers.get("CDN-Loop")
    )
    remote = request.remote
    if remote:
        forwarded = request.headers.get("X-Forwarded-For")
        pairs.append(("X-Forwarded-For", f"{forwarded}, {remote}" if forwarded else remote))
    return pairs


class Misses:
    """What one edge does with decisions other than a plain hit; ``upstream`` set at start."""

    def __init__(
        self,
        settings: EdgeSettings,
        store: CacheStore,
        metrics: EdgeMetrics,
        collapsing: Collapsing,
        refresher: Refresher,
        replies: Replies,
        failures: Failures,
        streamer: Streamer,
        clock: Clock = time.time,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.config: CacheConfig = settings.cache_config
        self.name = settings.cache_status_name
        self.loop_member = cdn_loop_member(settings.name)
        self.store = store
        self.metrics = metrics
        self.collapsing = collapsing
        self.refresher = refresher
        self.replies = replies
        self.failures = failures
        self.streamer = streamer
        self.upstream: Upstream | None = None

    async def forward(
        self,
        request: web.Request,
        creq: Request,
        key: str,
        decision: Decision,
        now: float,
        started: float,
    ) -> web.StreamResponse:
        """Answer a request the store cannot serve as a plain hit."""
        if isinstance(decision, OnlyIfCachedMiss):
            return self.failures.only_if_cached(request, decision, now, started)
        if isinstance(decision, StaleHit):
            self.refresher.start(creq, key, decision)
            obj = self.store.get(key, decision.entry.variant)
            if obj is not None:
                self.metrics.stale_served["stale-while-revalidate"].inc()
                return self.replies.serve_entry(
                    request, creq, obj, describe(decision, now=now), decision.age, started
                )
            decision = decision.refresh
        assert isinstance(decision, Miss | Revalidate)
        check_loop(request.headers, self.loop_member, self.settings.name)
        ticket: Ticket | None = None
        waited = False
        if decision.collapsible:
            ticket, shared, waited = await self.collapsing.join(key)
            if waited:
                self.metrics.collapsed.inc()
            if shared is not None:
                later = self.clock()
                again = decide(creq, key, (shared.entry,), later, self.config)
                if isinstance(again, Hit):
                    outcome = Store(shared.entry)
                    status = describe(decision, outcome, now=later, collapsed=True)
                    return self.replies.serve_entry(
                        request, creq, shared, status, again.age, started, source="upstream"
                    )
        try:
            return await self._fetch(request, creq, key, decision, ticket, started, waited)
        finally:
            if ticket is not None:
                ticket.abandon()  # no-op when the fetch finished it

    async def _fetch(
        self,
        request: web.Request,
        creq: Request,
        key: str,
        decision: Miss | Revalidate,
        ticket: Ticket | None,
        started: float,
        collapsed: bool,
    ) -> web.StreamResponse:
        upstream = self.upstream
        assert upstream is not None
        allow_peers = PEER_HEADER not in request.headers
        for _attempt in range(2):  # a 304 that matches nothing is fetched again once
            fields = forward_fields(upstream, request, decision.headers)
            try:
                fetched = await upstream.fetch(
                    decision.method, creq.target, fields, key=key, allow_peers=allow_peers
                )
            except UpstreamError as exc:
                if ticket is not None:
                    ticket.abandon()
                stale = self.stale_on_error(request, creq, key, decision, None, started, collapsed)
                if stale is not None:
                    return stale
                return self.failures.upstream_failed(
                    request, decision, exc.status, exc.reason, None, started
                )
            try:
                result = await self._absorb(
                    request, creq, key, decision, fetched, ticket, started, collapsed
                )
            finally:
                fetched.release()
            if isinstance(result, Refetch):
                decision = result.miss
                continue
            return result
        return self.failures.upstream_failed(
            request,
            decision,
            502,
            "upstream answered 304 twice to an unconditional GET",
            304,
            started,
        )

    async def _absorb(
        self,
        request: web.Request,
        creq: Request,
        key: str,
        decision: Miss | Revalidate,
        fetched: Fetched,
        ticket: Ticket | None,
        started: float,
        collapsed: bool,
    ) -> web.StreamResponse | Refetch:
        response = fetched.response
        code = response.status
        if code in UPSTREAM_ERROR_STATUSES:
            stale = self.stale_on_error(request, creq, key, decision, code, started, collapsed)
            if stale is not None:
                if ticket is not None:
                    ticket.abandon()
                return stale
        upstream_headers = Headers(response.headers.items())
        length = response.content_length
        outcome = absorb(
            creq,
            key,
            decision,
            Response(code, upstream_headers, length or 0),
            fetched.request_time,
            fetched.response_time,
            self.config,
        )
        if isinstance(decision, Revalidate):
            self.metrics.revalidations["not-modified" if code == 304 else "modified"].inc()
        if isinstance(outcome, Refetch):
            return outcome
        if isinstance(outcome, Freshen):
            await response.read()
            obj = put_freshened(self.store, key, outcome)
            if ticket is not None:
                ticket.finish(obj, cacheable=obj is not None)
            if obj is not None:
                now = self.clock()
                status = describe(decision, outcome, now=now, upstream_status=code)
                age = max(0, int(obj.entry.current_age(now)))
                return self.replies.serve_entry(
                    request, creq, obj, status, age, started, source="cache", upstream=fetched
                )
            outcome = Pass(reason="evicted")
        stream = self.streamer.stream
        if isinstance(outcome, Store):
            entry = outcome.entry
            limit = min(self.settings.max_cacheable_size, self.store.capacity)
            if length is not None and length > limit:
                outcome = Pass(reason="too-large")
            elif fetched.kind == "peer":
                # The owner peer keeps it; we serve it without a second copy in the group.
                outcome = Pass(reason="peer-owned")
            if length is not None and length <= SMALL_BODY:
                body = await read_body(response, self.metrics, fetched.kind)
                if body is None:
                    if ticket is not None:
                        ticket.abandon()
                    return self.failures.upstream_failed(
                        request, decision, 502, "upstream body ended early", code, started
                    )
                obj = kept_object(entry, body)
                if isinstance(outcome, Store):
                    self.store.put(obj)
                if ticket is not None:
                    ticket.finish(obj, cacheable=True)
                now = self.clock()
                status = describe(decision, outcome, now=now, upstream_status=code)
                return self.replies.serve_entry(
                    request,
                    creq,
                    obj,
                    status,
                    max(0, int(obj.entry.current_age(now))),
                    started,
                    source="upstream",
                    upstream=fetched,
                )
            if isinstance(outcome, Pass) and outcome.reason == "too-large":
                if ticket is not None:
                    ticket.finish(None, cacheable=False)
                return await stream(
                    request, creq, decision, outcome, fetched, None, started, collapsed
                )
            return await stream(
                request, creq, decision, outcome, fetched, ticket, started, collapsed
            )
        assert isinstance(outcome, Pass)
        if ticket is not None:
            if outcome.hit_for_pass:
                ticket.finish(None, cacheable=False)
            else:
                ticket.abandon()
        return await stream(request, creq, decision, outcome, fetched, None, started, collapsed)

    def stale_on_error(
        self,
        request: web.Request,
        creq: Request,
        key: str,
        decision: Decision,
        upstream_status: int | None,
        started: float,
        collapsed: bool,
    ) -> web.Response | None:
        """The stale copy the core allows in place of an upstream failure, or None."""
        now = self.clock()
        entry = stale_on_error(decision, now, self.config)
        if entry is None:
            return None
        obj = self.store.get(key, entry.variant)
        if obj is None:
            return None
        self.metrics.stale_served["stale-if-error"].inc()
        status = describe(
            decision,
            None,
            now=now,
            upstream_status=upstream_status,
            served_stale_on_error=True,
            collapsed=collapsed,
        )
        return self.replies.serve_entry(
            request, creq, obj, status, max(0, int(obj.entry.current_age(now))), started
        )
