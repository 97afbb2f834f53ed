"""Responses built from a stored (or just fetched) object or from upstream fields.

Rules: the header lines come from the stored object (``edge.stored``) or the upstream's
fields without hop-by-hop ones; this module appends our per-response fields: ``Age``, ``Via``
(``1.1 <name>`` after the upstream's), ``Cache-Status`` (RFC 9211: the upstream's members
first, ours last) and ``X-Cache``. ``Surrogate-Key`` goes only to our own tier. A client's
conditional gets a 304 (core's ``client_not_modified``) and a Range a 206/416 cut from a
stored full 200.
"""

from __future__ import annotations

from aiohttp import web

from cdn.cache import Store as CacheStore
from cdn.http import (
    CacheStatus,
    Headers,
    Request,
    client_not_modified,
    not_modified_headers,
    without_hop_by_hop,
)
from edge.intake import Refused, tier_loop
from edge.ranges import MalformedRange, Unsatisfiable, if_range_holds, parse_range
from edge.recording import Recorder
from edge.stored import PER_RESPONSE_FIELDS, CachedObject
from edge.upstream import Fetched

__all__ = ["Replies"]


class Replies:
    """Answers for one edge named ``name`` (RFC 9211) whose Via member is ``via``."""

    def __init__(self, name: str, via: str, store: CacheStore, recorder: Recorder) -> None:
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

    def serve_entry(
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
        tier = tier_loop(request.headers)
        fields = self.entry_fields(obj, status, age, tier)
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
        recorder = self.recorder
        recorder.count(status.label, started, len(body), source)
        if recorder.logging:
            recorder.log(request, code, status.label, started, len(body), upstream)
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
            raise Refused(400, str(exc), "malformed-range") from None
        if byte_range is None:
            return 200, obj.body, fields
        fields.append(("Content-Range", byte_range.content_range))
        return 206, obj.body[byte_range.start : byte_range.end + 1], fields

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
