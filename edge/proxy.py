"""The request pipeline of one edge: aiohttp requests in, the core's decision, the right path out.

Rules: no caching semantics here. ``cdn.http.decide``/``absorb`` say what to do and what to
keep; ``cdn.cache.Store`` keeps, evicts and purges; ``cdn.collapse`` decides collapsing.
``Proxy.handle`` reads the request (``edge.intake``), looks it up under its key
(``edge.keys``: the core's ``peer_key``) and hands the decision to one module:

- ``edge.hits``: plain fresh hits (also answered on arrival by ``edge.wire``);
- ``edge.replies``: other stored answers (stale, 304 to the client, Range);
- ``edge.misses``: misses and revalidations (collapsing, upstream fetch, absorb, stale on
  error), with ``edge.streaming``, ``edge.keeping`` and ``edge.refresh``
  (stale-while-revalidate);
- ``edge.passthrough``: other methods, then invalidation (§4.4);
- ``edge.failures``: refusals and upstream or internal errors.

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

from cdn.cache import Store as CacheStore
from cdn.http import Headers, Hit, Request, decide, describe, fresh_hit
from edge.accesslog import AccessLog
from edge.collapsing import Collapsing
from edge.failures import Failures
from edge.hits import PLAIN_HIT_BLOCKERS, Hits
from edge.intake import Refused, origin_form
from edge.keys import CacheKeys
from edge.metrics import EdgeMetrics
from edge.misses import SMALL_BODY, Misses
from edge.passthrough import PassThrough
from edge.recording import Recorder
from edge.refresh import Refresher
from edge.replies import Replies
from edge.settings import EdgeSettings
from edge.streaming import Streamer
from edge.upstream import Clock, Upstream
from edge.wire import PrerenderedResponse

__all__ = ["SMALL_BODY", "Proxy"]

log = logging.getLogger("cdnlab.edge")

_perf = time.perf_counter
_HTTP11 = HttpVersion11
_CACHE_CONTROL, _PRAGMA, _RANGE, _IF_NONE_MATCH, _IF_MODIFIED_SINCE = PLAIN_HIT_BLOCKERS


class Proxy:
    """One app's pipeline. ``handle`` is the aiohttp handler of every non-admin path."""

    def __init__(
        self,
        settings: EdgeSettings,
        store: CacheStore,
        metrics: EdgeMetrics,
        collapsing: Collapsing,
        access_log: AccessLog,
        clock: Clock = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.config = settings.cache_config
        self.store = store
        self.metrics = metrics
        self.collapsing = collapsing
        self.access_log = access_log
        self.name = settings.cache_status_name
        self.via = f"1.1 {settings.name}"
        self._site = settings.site_host
        keys = CacheKeys(settings)
        recorder = Recorder(metrics, access_log)
        replies = Replies(self.name, self.via, store, recorder)
        self.failures = Failures(self.name, self.via, recorder, clock)
        self.hits = Hits(store, keys, replies, recorder, clock)
        self.refresher = Refresher(self.config, settings.max_cacheable_size, store, metrics)
        streamer = Streamer(
            settings.max_cacheable_size, store, metrics, replies, recorder, self.invalidate, clock
        )
        self.misses = Misses(
            settings,
            store,
            metrics,
            collapsing,
            self.refresher,
            replies,
            self.failures,
            streamer,
            clock,
        )
        self.passthrough = PassThrough(
            self.config, self._site, keys.key_of, self.failures, streamer, clock
        )
        # Bound once: the hit path calls these per request.
        self.key_of = keys.key_of
        self.wire_hit = self.hits.wire_hit
        self._serve_hit = self.hits.serve_hit
        self._serve_entry = replies.serve_entry
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
            if method != "GET" and method != "HEAD":
                return await self.passthrough.handle(request, started)
            if request.version == _HTTP11 and request.keep_alive:
                ready = self.wire_hit(method, request.raw_path, request.headers)
                if ready is not None:
                    return PrerenderedResponse(ready[0], ready[1])
            target = request.raw_path
            if target[:1] != "/":
                target = origin_form(request, target, self._site)
            key = self.key_of(target)
            now = self.clock()
            store = self.store
            obj = store.get(key)
            raw = request.headers
            if obj is not None and not (
                _CACHE_CONTROL in raw
                or _PRAGMA in raw
                or _RANGE in raw
                or _IF_NONE_MATCH in raw
                or _IF_MODIFIED_SINCE in raw
            ):
                # The hit path: a plain (no Vary) entry and a request without directives,
                # conditionals or Range: the core's fresh_hit is decide's answer for it, and
                # no Headers or Request is built from the request.
                hit = fresh_hit(obj.entry, now)
                if hit is not None:
                    return self._serve_hit(request, obj, hit, now, started)
            headers = Headers(raw.items())
            creq = Request(method, target, headers)
            if obj is not None:
                decision = decide(creq, key, (obj.entry,), now, self.config)
            else:
                found = store.lookup(key)
                decision = decide(creq, key, [o.entry for o in found], now, self.config)
            if type(decision) is Hit:
                entry = decision.entry
                if obj is None or obj.entry is not entry:
                    obj = store.get(key, entry.variant)
                if (
                    decision.stale
                    or "range" in headers
                    or "if-none-match" in headers
                    or "if-modified-since" in headers
                ):
                    return self._serve_entry(
                        request, creq, obj, describe(decision, now=now), decision.age, started
                    )
                return self._serve_hit(request, obj, decision, now, started)
            return await self.misses.forward(request, creq, key, decision, now, started)
        except Refused as refused:
            return self.failures.refusal(request, refused, started)
        except (asyncio.CancelledError, ConnectionResetError, web.HTTPException):
            raise
        except Exception:
            log.exception("internal error on %s %s", method, request.raw_path)
            return self.failures.internal_error(request, started)

    def invalidate(self, targets: tuple[str, ...]) -> int:
        """Remove every variant stored under each target's key (§4.4); the count removed."""
        removed = 0
        for target in targets:
            key = self.key_of(target)
            removed += self.store.purge_key(key)
            self.collapsing.forget(key)
        return removed

    async def close(self) -> None:
        """Cancel background refreshes (app shutdown)."""
        await self.refresher.close()
