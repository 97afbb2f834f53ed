"""Writing the cache step's answers: a ``Serve`` of a stored object, or upstream fields relayed.

Rules: what to answer is the core's (``cdn.http.step``: status, Age, Cache-Status, byte
ranges); this module only turns it into header lines and bytes. The lines come from the stored
object (``edge.stored``) or the upstream's fields without hop-by-hop ones, plus our
per-response fields: ``Age``, ``Via`` (``1.1 <name>`` after the upstream's), ``Cache-Status``
(RFC 9211: the upstream's members first, ours last) and ``X-Cache``. ``Surrogate-Key`` goes
only to our own tier. Bodies of a 206 are cut from the stored full body (several ranges: a
multipart/byteranges body framed by the core's ``multipart_byteranges``).
"""

from __future__ import annotations

from aiohttp import web

from cdn.cache import Store as EntryStore
from cdn.http import (
    CacheStatus,
    Headers,
    Serve,
    byteranges_boundary,
    content_range,
    multipart_byteranges,
    not_modified_headers,
    without_hop_by_hop,
)
from edge.intake import tier_loop
from edge.recording import Recorder
from edge.stored import PER_RESPONSE_FIELDS, CachedObject
from edge.upstream import Fetched

__all__ = ["Replies"]

_OCTETS = "application/octet-stream"


class Replies:
    """Answers for one edge named ``name`` (RFC 9211) whose Via member is ``via``."""

    def __init__(self, name: str, via: str, store: EntryStore, recorder: Recorder) -> None:
        self.name = name
        self.via = via
        self.store = store
        self.recorder = recorder

    def entry_fields(
        self, obj: CachedObject, status: CacheStatus, age: int, tier: bool
    ) -> list[tuple[str, str]]:
        """The stored object's header lines (tier or client set) plus our per-response ones."""
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

    def serve(
        self,
        request: web.Request,
        serve: Serve,
        obj: CachedObject,
        started: float,
        upstream: Fetched | None = None,
    ) -> web.Response:
        """The response the step's ``serve`` asks for, from ``obj`` (its entry and body)."""
        status = serve.cache_status
        fields = self.entry_fields(obj, status, serve.age, tier_loop(request.headers))
        code = serve.status
        body = obj.body
        if code == 304:
            kept = not_modified_headers(Headers(fields), ("age", "via", "cache-status", "x-cache"))
            fields, body = list(kept.items()), b""
        elif code == 416:
            fields = [pair for pair in fields if pair[0].lower() != "content-type"]
            fields.append(("Content-Range", f"bytes */{len(obj.body)}"))
            fields.append(("Content-Type", "text/plain; charset=utf-8"))
            body = b"range not satisfiable\n"
        elif code == 206:
            fields, body = self._partial(obj, serve, fields)
        if serve.stored:
            self.store.record_hit(obj)
        response = web.Response(body=body if code != 304 else None, status=code, headers=fields)
        recorder = self.recorder
        sent = len(body) if request.method != "HEAD" else 0
        recorder.count(status.label, started, sent, "cache" if serve.stored else "upstream")
        if recorder.logging:
            recorder.log(request, code, status.label, started, sent, upstream)
        return response

    def _partial(
        self, obj: CachedObject, serve: Serve, fields: list[tuple[str, str]]
    ) -> tuple[list[tuple[str, str]], bytes]:
        body, size = obj.body, len(obj.body)
        if len(serve.byte_ranges) == 1:
            (part,) = serve.byte_ranges
            fields.append(("Content-Range", content_range(part, size)))
            return fields, body[part.first : part.last + 1]
        part_type = obj.entry.headers.get("content-type") or _OCTETS
        boundary = byteranges_boundary(obj.entry.etag)
        framing = multipart_byteranges(serve.byte_ranges, size, part_type, boundary)
        pieces: list[bytes] = []
        for head, part in zip(framing.heads, serve.byte_ranges, strict=True):
            pieces += (
                head.encode("utf-8", "surrogateescape"),  # obs-text of Content-Type relayed
                body[part.first : part.last + 1],
                b"\r\n",
            )
        pieces.append(framing.tail.encode())
        fields = [pair for pair in fields if pair[0].lower() != "content-type"]
        fields.append(("Content-Type", framing.content_type))
        return fields, b"".join(pieces)

    def pass_fields(
        self, request: web.Request, headers: Headers, status: CacheStatus
    ) -> list[tuple[str, str]]:
        """Upstream ``headers`` to send on (no hop-by-hop; Surrogate-Key only to our tier)."""
        tier = tier_loop(request.headers)
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
