"""The request pipeline: aiohttp requests in, the core's decisions, upstream fetches, responses out.

Rules: no caching semantics here. ``cdn.http.decide``/``absorb`` say what to do and what to
keep, ``stale_on_error`` when stale may stand in, ``describe`` how to word Cache-Status and
X-Cache; ``cdn.cache.Store`` keeps, evicts and purges; ``cdn.collapse`` decides collapsing.
This module moves bytes and keeps the hit path short (see ``Proxy.handle``).

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
import contextlib
import logging
import time
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11
from multidict import CIMultiDictProxy, istr

from cdn.cache import Store as CacheStore
from cdn.http import (
    UPSTREAM_ERROR_STATUSES,
    Bypass,
    CacheStatus,
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
    cache_key,
    cache_status_member,
    client_not_modified,
    decide,
    describe,
    fresh_hit,
    not_modified_headers,
    stale_on_error,
    without_hop_by_hop,
)
from edge.accesslog import AccessLog
from edge.collapsing import Collapsing, Ticket
from edge.metrics import EdgeMetrics
from edge.ranges import MalformedRange, Unsatisfiable, if_range_holds, parse_range
from edge.settings import EdgeSettings
from edge.stored import PER_RESPONSE_FIELDS, CachedObject
from edge.upstream import PEER_HEADER, Fetched, Upstream, UpstreamError
from edge.wire import JOIN_LIMIT, PrerenderedResponse, render_head, renderable_status

__all__ = ["SMALL_BODY", "Proxy"]

log = logging.getLogger("cdnlab.edge")

# Bodies of known length up to this are read whole and sent with one write.
SMALL_BODY = 1024 * 1024
CHUNK = 64 * 1024
_KEY_MEMO_LIMIT = 65536
_perf = time.perf_counter
_now = time.time
_HTTP11 = HttpVersion11
# Request fields that can turn a stored fresh entry into something other than a plain hit.
_CACHE_CONTROL = hdrs.CACHE_CONTROL
_PRAGMA = hdrs.PRAGMA
_RANGE = hdrs.RANGE
_IF_NONE_MATCH = hdrs.IF_NONE_MATCH
_IF_MODIFIED_SINCE = hdrs.IF_MODIFIED_SINCE
_CDN_LOOP = istr("CDN-Loop")


class _Refused(Exception):
    """A request the edge will not handle: answered ``status`` with ``reason``."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail


class Proxy:
    """One app's pipeline. ``handle`` is the aiohttp handler of every non-admin path."""

    def __init__(
        self,
        settings: EdgeSettings,
        store: CacheStore,
        metrics: EdgeMetrics,
        collapsing: Collapsing,
        access_log: AccessLog,
    ) -> None:
        self.settings = settings
        self.config = settings.cache_config
        self.store = store
        self.metrics = metrics
        self.collapsing = collapsing
        self.access_log = access_log
        self.upstream: Upstream | None = None  # set when the app starts (it owns the session)
        self.name = settings.cache_status_name
        self.via = f"1.1 {settings.name}"
        self.loop_member = f"cdnlab-{settings.name}"
        self.refreshing: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self._keys: dict[str, str] = {}
        self._ignore = frozenset(settings.ignore_query_params)
        self._sort = settings.sort_query_params
        self._site = settings.site_host
        self._tally = metrics.tally.observe
        self._logging = access_log.enabled

    # -- keys -----------------------------------------------------------------------------

    def key_of(self, target: str) -> str:
        """The primary cache key of a request target (memoised; options from the settings)."""
        key = self._keys.get(target)
        if key is None:
            key = cache_key(
                "http", self._site, target, ignore_params=self._ignore, sort_params=self._sort
            )
            if len(self._keys) >= _KEY_MEMO_LIMIT:
                self._keys.clear()
            self._keys[target] = key
        return key

    def _origin_form(self, request: web.Request, target: str) -> str:
        """The path?query of an absolute-form target for this site; _Refused otherwise."""
        if target == "*" or "://" not in target:
            raise _Refused(400, f"request target {target!r} is not a path", "bad-target")
        parts = urlsplit(target)
        authority = parts.netloc.lower()
        own = ""
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        if sockname:
            own = f"{sockname[0]}:{sockname[1]}"
        if authority not in (self._site.lower(), own):
            raise _Refused(
                403,
                f"this edge serves {self._site} only; it is not an open proxy "
                f"(refused absolute-form request for {authority})",
                "foreign-host",
            )
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    # -- the handler ----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one client request (every method except PURGE, which admin handles)."""
        started = _perf()
        method = request.method
        try:
            if method != "GET" and method != "HEAD":
                return await self._other_method(request, started)
            if request.version == _HTTP11 and request.keep_alive:
                ready = self.wire_hit(method, request.raw_path, request.headers)
                if ready is not None:
                    return PrerenderedResponse(ready[0], ready[1])
            target = request.raw_path
            if target[:1] != "/":
                target = self._origin_form(request, target)
            key = self.key_of(target)
            now = _now()
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
            return await self._forward(request, creq, key, decision, now, started)
        except _Refused as refused:
            return self._refusal(request, refused, started)
        except (asyncio.CancelledError, ConnectionResetError, web.HTTPException):
            raise
        except Exception:
            log.exception("internal error on %s %s", method, request.raw_path)
            return self._plain(
                request,
                500,
                "500 Internal Server Error: the edge failed on this request (see its log)\n",
                cache_status_member(self.name, detail="internal-error"),
                "ERROR",
                "error",
                started,
            )

    def wire_hit(
        self, method: str, target: str, fields: CIMultiDictProxy[str]
    ) -> tuple[int, tuple[bytes, ...]] | None:
        """(status, bytes to write) of a plain fresh hit, or None: let ``handle`` serve it.

        For a keep-alive HTTP/1.1 GET or HEAD of an origin-form ``target`` with request
        header ``fields``: the stored plain entry is fresh and the request has no directives,
        conditionals or Range. Counts the hit like ``handle`` would. Called by ``handle`` and,
        before any aiohttp request exists, by ``edge.wire.HitFirstHandler``. Access logging
        needs the request, so with it on this always answers None.
        """
        if self._logging or target[:1] != "/":
            return None
        started = _perf()
        obj = self.store.get(self.key_of(target))
        if obj is None or (
            _CACHE_CONTROL in fields
            or _PRAGMA in fields
            or _RANGE in fields
            or _IF_NONE_MATCH in fields
            or _IF_MODIFIED_SINCE in fields
        ):
            return None
        now = _now()
        hit = fresh_hit(obj.entry, now)
        if hit is None:
            return None
        memo = self._hit_memo(obj, hit, now, _CDN_LOOP in fields and self._tier_loop(fields))
        if memo[4] is None:
            return None
        self.store.record_hit(obj)
        if method == "HEAD":
            chunks: tuple[bytes, ...] = (memo[4],)
            sent = 0
        else:
            chunks = (memo[5],) if memo[5] is not None else (memo[4], obj.body)
            sent = len(obj.body)
        self._tally("hit", _perf() - started, sent, "cache")
        return obj.entry.status, chunks

    def _hit_memo(
        self, obj: CachedObject, hit: Hit, now: float, tier: bool
    ) -> tuple[int, int, bool, list[tuple[str, str]], bytes | None, bytes | None]:
        """The object's memo for this hit, rebuilt when its (age, ttl, tier) changed."""
        age = hit.age
        ttl = int(obj.entry.ttl(now))
        memo = obj.memo
        if memo is None or memo[0] != age or memo[1] != ttl or memo[2] != tier:
            memo = obj.memo = self._render_hit(obj, hit, now, age, ttl, tier)
        return memo

    def _serve_hit(
        self, request: web.Request, obj: CachedObject, decision: Hit, now: float, started: float
    ) -> web.StreamResponse:
        """A fresh hit: header block rendered once per (age, ttl, tier) on the stored object.

        A keep-alive HTTP/1.1 request gets the ready bytes (``edge.wire``); others (HTTP/1.0,
        ``Connection: close``) a ``web.Response`` with the same fields.
        """
        entry = obj.entry
        tier = _CDN_LOOP in request.headers and self._from_tier(request)
        memo = self._hit_memo(obj, decision, now, tier)
        self.store.record_hit(obj)
        body = obj.body
        head = request.method == "HEAD"
        if memo[4] is not None and request.version == _HTTP11 and request.keep_alive:
            if head:
                chunks: tuple[bytes, ...] = (memo[4],)
            elif memo[5] is not None:
                chunks = (memo[5],)
            else:
                chunks = (memo[4], body)
            response: web.StreamResponse = PrerenderedResponse(entry.status, chunks)
        else:
            response = web.Response(body=body, status=entry.status, headers=memo[3])
        sent = 0 if head else len(body)
        self._tally("hit", _perf() - started, sent, "cache")
        if self._logging:
            self._log(request, entry.status, "hit", started, sent)
        return response

    def _render_hit(
        self, obj: CachedObject, decision: Hit, now: float, age: int, ttl: int, tier: bool
    ) -> tuple[int, int, bool, list[tuple[str, str]], bytes | None, bytes | None]:
        """(age, ttl, tier, fields, header block or None, header block + body or None)."""
        fields = self._entry_fields(obj, describe(decision, now=now), age, tier)
        head: bytes | None = None
        joined: bytes | None = None
        if renderable_status(obj.entry.status):
            try:
                head = render_head(obj.entry.status, fields, len(obj.body))
            except ValueError:
                head = None  # aiohttp's serialiser will refuse it on the slow path, as before
            if head is not None and len(obj.body) <= JOIN_LIMIT:
                joined = head + obj.body
        return (age, ttl, tier, fields, head, joined)

    def _from_tier(self, request: web.Request) -> bool:
        """True when the request came through one of our own caches (CDN-Loop member)."""
        return self._tier_loop(request.headers)

    @staticmethod
    def _tier_loop(fields: CIMultiDictProxy[str]) -> bool:
        return any(
            member.strip().startswith("cdnlab-")
            for member in ",".join(fields.getall(_CDN_LOOP, ())).split(",")
        )

    def _entry_fields(
        self, obj: CachedObject, status: CacheStatus, age: int, tier: bool
    ) -> list[tuple[str, str]]:
        member = status.member(self.name)
        fields = list(obj.tier_pairs if tier else obj.client_pairs)
        fields.append(("Age", str(age)))
        fields.append(("Via", f"{obj.upstream_via}, {self.via}" if obj.upstream_via else self.via))
        fields.append(
            (
                "Cache-Status",
                f"{obj.upstream_cache_status}, {member}" if obj.upstream_cache_status else member,
            )
        )
        fields.append(("X-Cache", status.x_cache))
        return fields

    def _serve_entry(
        self,
        request: web.Request,
        creq: Request,
        obj: CachedObject,
        status: CacheStatus,
        age: int,
        started: float,
        *,
        source: str = "cache",
        upstream: Fetched | None = None,
    ) -> web.Response:
        """Serve a stored (or just fetched, buffered) object: 200, 304 to the client, or a range."""
        entry = obj.entry
        headers = creq.headers
        tier = self._from_tier(request)
        fields = self._entry_fields(obj, status, age, tier)
        body: bytes = obj.body
        code = entry.status
        if ("if-none-match" in headers or "if-modified-since" in headers) and client_not_modified(
            headers, entry
        ):
            code, body = 304, b""
            kept = not_modified_headers(Headers(fields), ("age", "via", "cache-status", "x-cache"))
            fields = list(kept.items())
        elif code == 200 and creq.method == "GET" and "range" in headers:
            code, body, fields = self._range(headers, obj, fields)
        if source == "cache":
            self.store.record_hit(obj)
        response = web.Response(body=body if code != 304 else None, status=code, headers=fields)
        self._count(status.label, started, len(body), source)
        if self.access_log.enabled:
            self._log(request, code, status.label, started, len(body), upstream)
        return response

    def _range(
        self, headers: Headers, obj: CachedObject, fields: list[tuple[str, str]]
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        entry = obj.entry
        if not if_range_holds(headers.get("if-range"), entry.etag, entry.last_modified):
            return 200, obj.body, fields
        try:
            byte_range = parse_range(headers.get("range") or "", len(obj.body))
        except Unsatisfiable as exc:
            fields = [p for p in fields if p[0].lower() not in ("content-type",)]
            fields.append(("Content-Range", f"bytes */{len(obj.body)}"))
            fields.append(("Content-Type", "text/plain; charset=utf-8"))
            return 416, f"416 Range Not Satisfiable: {exc}\n".encode(), fields
        except MalformedRange as exc:
            raise _Refused(400, str(exc), "malformed-range") from None
        if byte_range is None:
            return 200, obj.body, fields
        fields.append(("Content-Range", byte_range.content_range))
        return 206, obj.body[byte_range.start : byte_range.end + 1], fields

    def _count(self, label: str, started: float, body_bytes: int, source: str) -> None:
        self._tally(label, _perf() - started, body_bytes, source)

    def _log(
        self,
        request: web.Request,
        status: int,
        label: str,
        started: float,
        body_bytes: int,
        upstream: Fetched | None = None,
    ) -> None:
        self.access_log.write(
            method=request.method,
            target=request.raw_path,
            status=status,
            cache_status=label,
            duration=_perf() - started,
            body_bytes=body_bytes,
            upstream=None if upstream is None else f"{upstream.kind}:{upstream.node}",
            upstream_seconds=None if upstream is None else upstream.elapsed,
            emulated_delay=None if upstream is None else upstream.delay,
            client_location=request.headers.get("X-Client-Location"),
            client=request.remote,
        )

    # -- errors and refusals ----------------------------------------------------------------

    def _plain(
        self,
        request: web.Request,
        code: int,
        text: str,
        member: str,
        x_cache: str,
        label: str,
        started: float,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> web.Response:
        body = text.encode()
        fields = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("Via", self.via),
            ("Cache-Status", member),
            ("X-Cache", x_cache),
            *extra,
        ]
        self._count(label, started, 0, "upstream")
        if self.access_log.enabled:
            self._log(request, code, label, started, len(body))
        return web.Response(status=code, body=body, headers=fields)

    def _refusal(self, request: web.Request, refused: _Refused, started: float) -> web.Response:
        reason = {400: "Bad Request", 403: "Forbidden", 405: "Method Not Allowed"}.get(
            refused.status, "Refused"
        )
        extra = (("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, PURGE"),)
        return self._plain(
            request,
            refused.status,
            f"{refused.status} {reason}: {refused.reason}\n",
            cache_status_member(self.name, detail=refused.detail),
            "ERROR",
            "error",
            started,
            extra if refused.status == 405 else (),
        )

    def _upstream_failed(
        self,
        request: web.Request,
        decision: Decision,
        code: int,
        reason: str,
        upstream_status: int | None,
        started: float,
    ) -> web.Response:
        status = describe(decision, None, now=_now(), upstream_status=upstream_status)
        title = {502: "Bad Gateway", 504: "Gateway Timeout"}.get(code, "Upstream Error")
        return self._plain(
            request,
            code,
            f"{code} {title}: {reason}\n",
            replace(status, detail="upstream-error").member(self.name),
            status.x_cache,
            "error",
            started,
        )

    def _serve_stale_on_error(
        self,
        request: web.Request,
        creq: Request,
        key: str,
        decision: Decision,
        upstream_status: int | None,
        started: float,
        collapsed: bool,
    ) -> web.Response | None:
        now = _now()
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
        return self._serve_entry(
            request, creq, obj, status, max(0, int(obj.entry.current_age(now))), started
        )

    # -- misses, revalidations, stale-while-revalidate ----------------------------------------

    async def _forward(
        self,
        request: web.Request,
        creq: Request,
        key: str,
        decision: Decision,
        now: float,
        started: float,
    ) -> web.StreamResponse:
        if isinstance(decision, OnlyIfCachedMiss):
            status = describe(decision, now=now)
            return self._plain(
                request,
                504,
                "504 Gateway Timeout: only-if-cached and nothing usable is stored\n",
                status.member(self.name),
                status.x_cache,
                status.label,
                started,
            )
        if isinstance(decision, StaleHit):
            self._refresh_in_background(creq, key, decision)
            obj = self.store.get(key, decision.entry.variant)
            if obj is not None:
                self.metrics.stale_served["stale-while-revalidate"].inc()
                return self._serve_entry(
                    request, creq, obj, describe(decision, now=now), decision.age, started
                )
            decision = decision.refresh
        assert isinstance(decision, Miss | Revalidate)
        loop = request.headers.get("CDN-Loop")
        if loop and self.loop_member in (m.strip() for m in loop.split(",")):
            raise _Refused(508, f"request loop: it already passed {self.settings.name}", "loop")
        ticket: Ticket | None = None
        waited = False
        if decision.collapsible:
            ticket, shared, waited = await self.collapsing.join(key)
            if waited:
                self.metrics.collapsed.inc()
            if shared is not None:
                later = _now()
                again = decide(creq, key, (shared.entry,), later, self.config)
                if isinstance(again, Hit):
                    outcome = Store(shared.entry)
                    status = describe(decision, outcome, now=later, collapsed=True)
                    return self._serve_entry(
                        request, creq, shared, status, again.age, started, source="upstream"
                    )
        try:
            return await self._fetch(request, creq, key, decision, ticket, started, waited)
        finally:
            if ticket is not None:
                ticket.abandon()  # no-op when the fetch finished it

    def _forward_fields(self, request: web.Request, fields: Headers) -> list[tuple[str, str]]:
        assert self.upstream is not None
        pairs = self.upstream.request_headers(
            fields.items(), request.headers.get("Via"), request.headers.get("CDN-Loop")
        )
        remote = request.remote
        if remote:
            forwarded = request.headers.get("X-Forwarded-For")
            pairs.append(("X-Forwarded-For", f"{forwarded}, {remote}" if forwarded else remote))
        return pairs

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
            fields = self._forward_fields(request, decision.headers)
            try:
                fetched = await upstream.fetch(
                    decision.method, creq.target, fields, key=key, allow_peers=allow_peers
                )
            except UpstreamError as exc:
                if ticket is not None:
                    ticket.abandon()
                stale = self._serve_stale_on_error(
                    request, creq, key, decision, None, started, collapsed
                )
                if stale is not None:
                    return stale
                return self._upstream_failed(
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
        return self._upstream_failed(
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
            stale = self._serve_stale_on_error(
                request, creq, key, decision, code, started, collapsed
            )
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
            obj = self._put_freshened(key, outcome)
            if ticket is not None:
                ticket.finish(obj, cacheable=obj is not None)
            if obj is not None:
                now = _now()
                status = describe(decision, outcome, now=now, upstream_status=code)
                age = max(0, int(obj.entry.current_age(now)))
                return self._serve_entry(
                    request, creq, obj, status, age, started, source="cache", upstream=fetched
                )
            outcome = Pass(reason="evicted")
        if isinstance(outcome, Store):
            entry = outcome.entry
            limit = min(self.settings.max_cacheable_size, self.store.capacity)
            if length is not None and length > limit:
                outcome = Pass(reason="too-large")
            elif fetched.kind == "peer":
                # The owner peer keeps it; we serve it without a second copy in the group.
                outcome = Pass(reason="peer-owned")
            if length is not None and length <= SMALL_BODY:
                body = await self._read_body(response, fetched.kind)
                if body is None:
                    if ticket is not None:
                        ticket.abandon()
                    return self._upstream_failed(
                        request, decision, 502, "upstream body ended early", code, started
                    )
                obj = CachedObject(
                    entry if entry.size == len(body) else replace(entry, size=len(body)), body
                )
                if isinstance(outcome, Store):
                    self.store.put(obj)
                if ticket is not None:
                    ticket.finish(obj, cacheable=True)
                now = _now()
                status = describe(decision, outcome, now=now, upstream_status=code)
                return self._serve_entry(
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
                return await self._stream(
                    request, creq, key, decision, outcome, fetched, None, started, collapsed
                )
            return await self._stream(
                request, creq, key, decision, outcome, fetched, ticket, started, collapsed
            )
        assert isinstance(outcome, Pass)
        if ticket is not None:
            if outcome.hit_for_pass:
                ticket.finish(None, cacheable=False)
            else:
                ticket.abandon()
        return await self._stream(
            request, creq, key, decision, outcome, fetched, None, started, collapsed
        )

    async def _read_body(self, response: aiohttp.ClientResponse, kind: str) -> bytes | None:
        try:
            body = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None
        if response.content_length is not None and len(body) != response.content_length:
            return None
        self.metrics.upstream_bytes[kind].inc(len(body))
        return body

    def _put_freshened(self, key: str, outcome: Freshen) -> CachedObject | None:
        """Put 304-freshened entries back beside their bodies; the object to serve (or None)."""
        served: CachedObject | None = None
        for entry in outcome.entries:
            old = self.store.get(key, entry.variant)
            if old is None:
                continue
            obj = old.with_entry(entry)
            self.store.put(obj)
            if entry is outcome.entry:
                served = obj
        return served

    def _pass_fields(
        self,
        request: web.Request,
        headers: Headers,
        status: CacheStatus,
    ) -> list[tuple[str, str]]:
        tier = self._from_tier(request)
        drop = PER_RESPONSE_FIELDS if tier else PER_RESPONSE_FIELDS | {"surrogate-key"}
        fields = [p for p in without_hop_by_hop(headers).items() if p[0].lower() not in drop]
        age = headers.get("age")
        if age is not None:
            fields.append(("Age", age))
        upstream_via = ", ".join(headers.get_all("via"))
        fields.append(("Via", f"{upstream_via}, {self.via}" if upstream_via else self.via))
        member = status.member(self.name)
        upstream_status = ", ".join(headers.get_all("cache-status"))
        fields.append(
            ("Cache-Status", f"{upstream_status}, {member}" if upstream_status else member)
        )
        fields.append(("X-Cache", status.x_cache))
        return fields

    async def _stream(
        self,
        request: web.Request,
        creq: Request,
        key: str,
        decision: Decision,
        outcome: Store | Pass,
        fetched: Fetched,
        ticket: Ticket | None,
        started: float,
        collapsed: bool,
    ) -> web.StreamResponse:
        """Send the upstream body as it arrives; with Store, keep it (up to the size limit)."""
        response = fetched.response
        code = response.status
        now = _now()
        status = describe(decision, outcome, now=now, upstream_status=code, collapsed=collapsed)
        if isinstance(outcome, Store):
            # Client-facing fields come from the stored copy (e.g. no Set-Cookie).
            headers = outcome.entry.headers
        else:
            headers = Headers(response.headers.items())
        out = web.StreamResponse(status=code, headers=self._pass_fields(request, headers, status))
        length = response.content_length
        if length is not None and code not in (204, 304) and creq.method != "HEAD":
            out.content_length = length
        keeping = isinstance(outcome, Store)
        limit = self.settings.max_cacheable_size
        chunks: list[bytes] = []
        kept = 0
        sent = 0
        upstream_bytes = self.metrics.upstream_bytes[fetched.kind]
        try:
            await out.prepare(request)
            async for chunk in response.content.iter_chunked(CHUNK):
                upstream_bytes.inc(len(chunk))
                if keeping:
                    kept += len(chunk)
                    if kept > limit:
                        keeping = False
                        chunks = []
                        if ticket is not None:
                            ticket.finish(None, cacheable=False)
                    else:
                        chunks.append(chunk)
                if creq.method != "HEAD":
                    await out.write(chunk)
                    sent += len(chunk)
            await out.write_eof()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Headers are gone already: all we can do is cut the client's connection.
            log.warning("upstream body of %s broke off: %s", creq.target, exc)
            if request.transport is not None:
                request.transport.close()
            keeping = False
        except (ConnectionResetError, asyncio.CancelledError):
            keeping = False
            raise
        finally:
            if keeping and (length is None or kept == length) and isinstance(outcome, Store):
                body = b"".join(chunks)
                entry = outcome.entry
                obj = CachedObject(
                    entry if entry.size == len(body) else replace(entry, size=len(body)), body
                )
                self.store.put(obj)
                if ticket is not None:
                    ticket.finish(obj, cacheable=True)
            elif ticket is not None:
                ticket.abandon()
            self._count(status.label, started, sent, "upstream")
            if self.access_log.enabled:
                self._log(request, code, status.label, started, sent, fetched)
        if isinstance(outcome, Pass) and outcome.invalidate:
            self.invalidate(outcome.invalidate)
        return out

    def _refresh_in_background(self, creq: Request, key: str, decision: StaleHit) -> None:
        """Start the one background refresh of ``key`` unless one is running (RFC 5861 §3)."""
        if key in self.refreshing or self.upstream is None:
            return
        self.refreshing.add(key)
        task = asyncio.get_running_loop().create_task(self._refresh(creq, key, decision.refresh))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _refresh(self, creq: Request, key: str, refresh: Revalidate) -> None:
        upstream = self.upstream
        assert upstream is not None
        try:
            fields = upstream.request_headers(refresh.headers.items(), None, None)
            try:
                fetched = await upstream.fetch(
                    refresh.method, creq.target, fields, key=key, allow_peers=True
                )
            except UpstreamError as exc:
                log.info("background refresh of %s failed: %s", creq.target, exc.reason)
                return
            try:
                response = fetched.response
                if response.status in UPSTREAM_ERROR_STATUSES:
                    return  # keep serving the stale copy; an error is no replacement
                outcome = absorb(
                    creq,
                    key,
                    refresh,
                    Response(
                        response.status,
                        Headers(response.headers.items()),
                        response.content_length or 0,
                    ),
                    fetched.request_time,
                    fetched.response_time,
                    self.config,
                )
                self.metrics.revalidations[
                    "not-modified" if response.status == 304 else "modified"
                ].inc()
                if isinstance(outcome, Freshen):
                    self._put_freshened(key, outcome)
                elif isinstance(outcome, Store) and fetched.kind != "peer":
                    length = response.content_length
                    if length is None or length <= self.settings.max_cacheable_size:
                        body = await self._read_body(response, fetched.kind)
                        if body is not None and len(body) <= self.settings.max_cacheable_size:
                            entry = outcome.entry
                            self.store.put(
                                CachedObject(
                                    entry
                                    if entry.size == len(body)
                                    else replace(entry, size=len(body)),
                                    body,
                                )
                            )
            finally:
                fetched.release()
        finally:
            self.refreshing.discard(key)

    # -- other methods: pass through, then invalidate (§4.4) -------------------------------

    async def _other_method(self, request: web.Request, started: float) -> web.StreamResponse:
        method = request.method
        if method == "CONNECT":
            raise _Refused(405, "CONNECT is refused: this edge is not a forward proxy", "connect")
        target = request.raw_path
        if target[:1] != "/":
            target = self._origin_form(request, target)
        headers = Headers(request.headers.items())
        creq = Request(method, target, headers)
        key = self.key_of(target)
        decision = decide(creq, key, (), _now(), self.config)
        assert isinstance(decision, Bypass)
        upstream = self.upstream
        assert upstream is not None
        fields = self._forward_fields(request, decision.headers)
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
            return self._upstream_failed(request, decision, exc.status, exc.reason, None, started)
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
            return await self._stream(
                request, creq, key, decision, outcome, fetched, None, started, False
            )
        finally:
            fetched.release()

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
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
