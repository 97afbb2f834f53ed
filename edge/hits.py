"""The hit path: a plain fresh hit answered from bytes rendered about once a second.

Rules: a hit is one dict look-up for the key, one for the object, the core's ``fresh_hit``
(decide's hit path without building a Request), the policy's hit, a tally and a write. The
stored object's memo keeps the fields and the rendered header block (``edge.wire``) for the
current (Age, Cache-Status ttl, client-or-tier) and is rebuilt when one of them changes.
Nothing here may add work per request that can be done once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11
from multidict import CIMultiDictProxy

from cdn.cache import Store as CacheStore
from cdn.http import Hit, describe, fresh_hit
from edge.intake import CDN_LOOP, tier_loop
from edge.keys import CacheKeys
from edge.recording import Recorder
from edge.replies import Replies
from edge.stored import CachedObject
from edge.wire import JOIN_LIMIT, PrerenderedResponse, render_head, renderable_status

__all__ = ["PLAIN_HIT_BLOCKERS", "HitMemo", "Hits"]

# Request fields that can turn a stored fresh entry into something other than a plain hit.
PLAIN_HIT_BLOCKERS = (
    hdrs.CACHE_CONTROL,
    hdrs.PRAGMA,
    hdrs.RANGE,
    hdrs.IF_NONE_MATCH,
    hdrs.IF_MODIFIED_SINCE,
)
_CACHE_CONTROL, _PRAGMA, _RANGE, _IF_NONE_MATCH, _IF_MODIFIED_SINCE = PLAIN_HIT_BLOCKERS
_HTTP11 = HttpVersion11
_perf = time.perf_counter

# (age, ttl, tier, fields, header block or None, header block + body or None)
HitMemo = tuple[int, int, bool, list[tuple[str, str]], bytes | None, bytes | None]


class Hits:
    """Serves fresh hits of one edge's store."""

    def __init__(
        self,
        store: CacheStore,
        keys: CacheKeys,
        replies: Replies,
        recorder: Recorder,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.clock = clock
        self.key_of = keys.key_of
        self.entry_fields = replies.entry_fields
        self.recorder = recorder
        self._tally = recorder.tally
        self._logging = recorder.logging

    def wire_hit(
        self, method: str, target: str, fields: CIMultiDictProxy[str]
    ) -> tuple[int, tuple[bytes, ...]] | None:
        """(status, bytes to write) of a plain fresh hit, or None: let ``Proxy.handle`` serve it.

        For a keep-alive HTTP/1.1 GET or HEAD of an origin-form ``target`` with request
        header ``fields``: the stored plain entry is fresh and the request has no directives,
        conditionals or Range. Counts the hit like ``Proxy.handle`` would. Called by
        ``Proxy.handle`` and, before any aiohttp request exists, by
        ``edge.wire.HitFirstHandler``. Access logging needs the request, so with it on this
        always answers None.
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
        now = self.clock()
        hit = fresh_hit(obj.entry, now)
        if hit is None:
            return None
        memo = self._memo(obj, hit, now, CDN_LOOP in fields and tier_loop(fields))
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

    def serve_hit(
        self, request: web.Request, obj: CachedObject, decision: Hit, now: float, started: float
    ) -> web.StreamResponse:
        """A fresh hit: header block rendered once per (age, ttl, tier) on the stored object.

        A keep-alive HTTP/1.1 request gets the ready bytes (``edge.wire``); others (HTTP/1.0,
        ``Connection: close``) a ``web.Response`` with the same fields.
        """
        entry = obj.entry
        tier = CDN_LOOP in request.headers and tier_loop(request.headers)
        memo = self._memo(obj, decision, now, tier)
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
            self.recorder.log(request, entry.status, "hit", started, sent)
        return response

    def _memo(self, obj: CachedObject, hit: Hit, now: float, tier: bool) -> HitMemo:
        """The object's memo for this hit, rebuilt when its (age, ttl, tier) changed."""
        age = hit.age
        ttl = int(obj.entry.ttl(now))
        memo = obj.memo
        if memo is None or memo[0] != age or memo[1] != ttl or memo[2] != tier:
            memo = obj.memo = self._render(obj, hit, now, age, ttl, tier)
        return memo

    def _render(
        self, obj: CachedObject, decision: Hit, now: float, age: int, ttl: int, tier: bool
    ) -> HitMemo:
        fields = self.entry_fields(obj, describe(decision, now=now), age, tier)
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
