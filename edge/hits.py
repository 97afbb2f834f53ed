"""Plain hits: the cache step's answer for a fresh stored entry, rendered about once a second.

Rules: whether a request is a plain hit is the core's rule (``cdn.http.plain_hit``, the
cache step's own first branch); this module only caches its *output*. The stored object's
memo keeps the response fields and the rendered header block (``edge.wire``) keyed by what
they depend on, (Age, Cache-Status ttl, client-or-tier), and is rebuilt when one changes.
``wire_hit`` answers on arrival, before any aiohttp request exists; ``serve_hit`` answers a
``Serve`` of a 200 hit that came through ``Proxy.handle``. Nothing here may add work per
request that can be done once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.http import HttpVersion11
from multidict import CIMultiDictProxy, istr

from cdn.cache import Store as EntryStore
from cdn.http import PLAIN_HIT_BLOCKERS, CacheStatus, describe, plain_hit
from edge.intake import CDN_LOOP, tier_loop
from edge.keys import CacheKeys
from edge.recording import Recorder
from edge.replies import Replies
from edge.stored import CachedObject
from edge.upstream import Clock
from edge.wire import JOIN_LIMIT, PrerenderedResponse, render_head, renderable_status

__all__ = ["HitMemo", "Hits"]

_HTTP11 = HttpVersion11
# The core's list, as case-folded keys (a multidict looks them up without folding each time).
_BLOCKERS = tuple(istr(name) for name in PLAIN_HIT_BLOCKERS)
_perf = time.perf_counter


@dataclass(frozen=True, slots=True)
class HitMemo:
    """A plain hit's response for one (age, ttl, tier): its fields and ready bytes.

    ``head`` is None when the fields cannot be pre-rendered (aiohttp answers instead);
    ``joined`` is head + body for bodies up to ``JOIN_LIMIT``; ``open_head`` is head without
    its blank line (where the gateway's fields go).
    """

    age: int
    ttl: int
    tier: bool
    fields: list[tuple[str, str]]
    head: bytes | None
    joined: bytes | None
    open_head: bytes = b""


class Hits:
    """Serves plain fresh hits of one edge's store."""

    def __init__(
        self,
        store: EntryStore,
        keys: CacheKeys,
        replies: Replies,
        recorder: Recorder,
        clock: Clock,
        prerendered: bool = True,
    ) -> None:
        self.prerendered = prerendered  # off: hits are web.Responses (same fields, for checks)
        self.store = store
        self.key_of = keys.key_of
        self.entry_fields = replies.entry_fields
        self.recorder = recorder
        self.clock = clock
        self._slots = store.slots
        self._tally = recorder.tally
        self._logging = recorder.logging

    def wire_hit(
        self,
        method: str,
        target: str,
        fields: CIMultiDictProxy[str],
        client: str = "",
        scheme: str = "http",
    ) -> tuple[int, tuple[bytes, ...]] | None:
        """(status, bytes to write) of a plain hit, or None: let ``Proxy.handle`` serve it.

        For a keep-alive HTTP/1.1 GET or HEAD of an origin-form ``target`` with request
        header ``fields`` (``client``, the peer address, and ``scheme`` are the gateway's:
        unused here). Counts the hit like ``Proxy.handle`` would. Called by
        ``edge.wire.HitFirstHandler`` before any aiohttp request exists, and by
        ``Proxy.handle``. Access logging needs the request, so with it on this answers None.
        """
        if self._logging or target[:1] != "/":
            return None
        return self.wire_hit_at(method, self.key_of(target), fields)

    def wire_hit_at(
        self,
        method: str,
        key: str,
        fields: CIMultiDictProxy[str],
        charge: Callable[[float], bytes | None] | None = None,
        started: float | None = None,
    ) -> tuple[int, tuple[bytes, ...]] | None:
        """``wire_hit`` for a request whose cache key is ``key`` (the gateway's key).

        ``charge`` (the gateway's limits) is called, with the clock's time, once the answer is
        known to be a hit: None declines (nothing was taken; ``Proxy.handle`` answers), else the rendered
        fields to add to the response (``edge.wire.render_fields``). ``started`` (perf
        counter seconds, now when None) is when the request arrived, for its latency."""
        if self._logging:
            return None
        if started is None:
            started = _perf()
        obj = self._slots.get(key)
        now = self.clock()
        hit = plain_hit(obj, fields, now, _BLOCKERS)
        if hit is None:
            return None
        # The memo key: Cache-Status of a hit changes only with its ttl (whole seconds).
        age, ttl = hit.age, int(obj.entry.ttl(now))
        tier = CDN_LOOP in fields and tier_loop(fields)
        memo = obj.memo
        if memo is None or memo.age != age or memo.ttl != ttl or memo.tier != tier:
            memo = obj.memo = self._render(obj, age, ttl, describe(hit, now=now), tier)
        if memo.head is None:
            return None
        added = b""
        if charge is not None:
            added = charge(now)
            if added is None:
                return None
        self.store.record_hit(obj)
        if added:
            head = memo.open_head  # the added fields go before the blank line
            if method == "HEAD":
                chunks: tuple[bytes, ...] = (b"".join((head, added, b"\r\n")),)
                sent = 0
            elif memo.joined is not None:  # one buffer, one write, as the joined memo is
                chunks = (b"".join((head, added, b"\r\n", obj.body)),)
                sent = len(obj.body)
            else:
                chunks = (b"".join((head, added, b"\r\n")), obj.body)
                sent = len(obj.body)
        elif method == "HEAD":
            chunks = (memo.head,)
            sent = 0
        else:
            chunks = (memo.joined,) if memo.joined is not None else (memo.head, obj.body)
            sent = len(obj.body)
        self._tally("hit", _perf() - started, sent, "cache")
        return obj.entry.status, chunks

    def serve_hit(
        self,
        request: web.Request,
        obj: CachedObject,
        age: int,
        status: CacheStatus,
        started: float,
        extra: bool = False,
    ) -> web.StreamResponse:
        """A 200 hit the step served: the ready bytes (HTTP/1.1 keep-alive) or a Response
        (``extra``: the gateway adds response fields, so not the ready bytes)."""
        entry = obj.entry
        tier = CDN_LOOP in request.headers and tier_loop(request.headers)
        ttl = status.ttl or 0
        memo = obj.memo
        if memo is None or memo.age != age or memo.ttl != ttl or memo.tier != tier:
            memo = obj.memo = self._render(obj, age, ttl, status, tier)
        self.store.record_hit(obj)
        body = obj.body
        head = request.method == "HEAD"
        if (
            memo.head is not None
            and self.prerendered
            and not extra
            and request.version == _HTTP11
            and request.keep_alive
        ):
            if head:
                chunks: tuple[bytes, ...] = (memo.head,)
            elif memo.joined is not None:
                chunks = (memo.joined,)
            else:
                chunks = (memo.head, body)
            response: web.StreamResponse = PrerenderedResponse(entry.status, chunks)
        else:
            response = web.Response(body=body, status=entry.status, headers=memo.fields)
        sent = 0 if head else len(body)
        self._tally("hit", _perf() - started, sent, "cache")
        if self._logging:
            self.recorder.log(request, entry.status, "hit", started, sent)
        return response

    def _render(
        self, obj: CachedObject, age: int, ttl: int, status: CacheStatus, tier: bool
    ) -> HitMemo:
        """The memo of a hit with this (age, ttl, tier), whose Cache-Status is ``status``."""
        fields = self.entry_fields(obj, status, age, tier)
        head: bytes | None = None
        joined: bytes | None = None
        if renderable_status(obj.entry.status):
            try:
                head = render_head(obj.entry.status, fields, len(obj.body))
            except ValueError:
                head = None  # aiohttp's serialiser will refuse it on the slow path, as before
            if head is not None and len(obj.body) <= JOIN_LIMIT:
                joined = head + obj.body
        return HitMemo(age, ttl, tier, fields, head, joined, head[:-2] if head else b"")
