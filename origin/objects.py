"""`GET|HEAD /obj/{id}`: the synthetic catalog, with validators, cache rules, conditionals and ranges."""

from __future__ import annotations

import time

from aiohttp import web
from multidict import CIMultiDict

from cdn.gateway.compression import compressible_type
from cdn.http.dates import format_http_date
from cdn.http.preconditions import evaluate_preconditions, if_range_holds
from cdn.http.ranges import (
    ByteRange,
    Unsatisfiable,
    byteranges_boundary,
    content_range,
    parse_range,
)
from cdn.topology import rule_for, rule_headers
from origin.bodies import SyntheticObject, synthetic_object
from origin.query import header_params, size_param
from origin.sending import send_body
from origin.state import CATALOG, SETTINGS

__all__ = ["serve_object"]

# Multipart answers are built in memory; beyond this many bytes the whole body is sent instead.
_MAX_MULTIPART = 16 * 1024 * 1024
# Fields a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5).
_NOT_MODIFIED_FIELDS = frozenset(
    {"etag", "last-modified", "cache-control", "expires", "vary", "content-location"}
)


def _object_id(request: web.Request) -> int:
    """The object at the request's path, as the simulator resolves it (``Catalog.served_id``)."""
    obj_id = request.app[CATALOG].served_id(request.path)
    if obj_id is None:
        raise web.HTTPNotFound(
            text=f"{request.path} names no object (expected /obj/<id>, a whole number below "
            f"2**62, or a path of the workload's templates)\n"
        )
    return obj_id


def _headers(
    request: web.Request, obj: SyntheticObject, content_type: str, now: float
) -> CIMultiDict[str]:
    settings = request.app[SETTINGS]
    headers: CIMultiDict[str] = CIMultiDict()
    headers["Content-Type"] = content_type
    headers["ETag"] = obj.etag
    headers["Last-Modified"] = format_http_date(obj.last_modified)
    headers["Accept-Ranges"] = "bytes"
    for name, value in rule_headers(rule_for(settings.cache_rules, request.path), obj.obj_id, now):
        headers.add(name, value)
    query = request.query
    if "cc" in query:
        headers.popall("Cache-Control", None)
        if query["cc"]:
            headers["Cache-Control"] = query["cc"]
    fields = header_params(query.getall("h", []))
    for name in {name for name, _ in fields}:
        headers.popall(name, None)
    for name, value in fields:
        headers.add(name, value)
    return headers


async def serve_object(request: web.Request) -> web.StreamResponse:
    """One catalog object: 200, 206, 304, 412 or 416 by the request's fields."""
    settings = request.app[SETTINGS]
    obj_id = _object_id(request)
    size = size_param(request.query, "size", settings.max_size)
    if size is None:
        size = request.app[CATALOG].size_of(obj_id)
    # A path family's type, with a text body when the edge would compress it (origin/bodies.py).
    content_type = request.app[CATALOG].content_type_at(request.path)
    text = compressible_type(content_type)
    obj = synthetic_object(settings.workload.seed, obj_id, size, text=text)
    now = time.time()
    headers = _headers(request, obj, content_type, now)
    etag = headers.get("ETag", obj.etag)
    status = evaluate_preconditions(request.method, request.headers, etag, obj.last_modified, now)
    if status == 304:
        kept = CIMultiDict((k, v) for k, v in headers.items() if k.lower() in _NOT_MODIFIED_FIELDS)
        return web.Response(status=304, headers=kept)
    if status == 412:
        return web.Response(status=412, text="precondition failed\n")
    if (
        request.method == "GET"
        and "Range" in request.headers
        and if_range_holds(request.headers, etag, obj.last_modified)
    ):
        outcome = parse_range(request.headers["Range"], size)
        if isinstance(outcome, Unsatisfiable):
            headers["Content-Range"] = f"bytes */{size}"
            headers["Content-Type"] = "text/plain; charset=utf-8"
            return web.Response(status=416, headers=headers, text="range not satisfiable\n")
        if outcome is not None and len(outcome) == 1:
            (part,) = outcome
            headers["Content-Range"] = content_range(part, size)
            return await send_body(request, 206, headers, obj, part.first, part.last + 1)
        if outcome is not None and sum(r.length for r in outcome) <= _MAX_MULTIPART:
            return _multipart(headers, obj, content_type, outcome)
    return await send_body(request, 200, headers, obj, 0, size)


def _multipart(
    headers: CIMultiDict[str],
    obj: SyntheticObject,
    content_type: str,
    ranges: tuple[ByteRange, ...],
) -> web.Response:
    """A multipart/byteranges body (RFC 9110 §14.6), parts in the order they were asked for."""
    boundary = byteranges_boundary(obj.etag)
    pieces: list[bytes] = []
    for part in ranges:
        pieces.append(
            f"--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Range: {content_range(part, obj.size)}\r\n\r\n".encode()
        )
        pieces.append(obj.read(part.first, part.last + 1))
        pieces.append(b"\r\n")
    pieces.append(f"--{boundary}--\r\n".encode())
    headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
    return web.Response(status=206, headers=headers, body=b"".join(pieces))
