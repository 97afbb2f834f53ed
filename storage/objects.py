"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, CopyObject, DeleteObjects.

Rules: GET and HEAD answer the stored headers (Content-Type, Cache-Control, Content-Disposition,
Content-Encoding, Content-Language, Expires, ``x-amz-meta-*`` with non-ASCII values RFC
2047-encoded as S3 does: storage.mailsafe) with ``ETag`` and ``Last-Modified`` (whole seconds); preconditions follow RFC 9110 §13.2.2 (cdn.http.preconditions:
304 for GET/HEAD, 412 PreconditionFailed otherwise); one byte range gives 206, an unsatisfiable
one 416 InvalidRange (several ranges: the whole object, as S3); ``?partNumber=N`` answers part N
of a multipart object as uploaded (206, the object's ETag). ``response-*`` query parameters
override headers of signed requests. ``x-amz-checksum-mode: ENABLED`` adds stored checksums
to whole-object answers. A conditional PUT (``If-None-Match: *``, ``If-Match``) is checked
before the body is read and again at the rename, so a concurrent writer cannot slip between.

Over 400 lines on purpose: the S3 object operations (GET, HEAD, PUT, DELETE, copy, batch
delete) share their request parsing and answers; buckets and multipart live apart.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Mapping

from aiohttp import web
from multidict import CIMultiDict

from cdn.http.conditional import strong_match
from cdn.http.dates import format_http_date
from cdn.http.preconditions import evaluate_preconditions, if_range_holds, parse_entity_tags
from cdn.http.ranges import Unsatisfiable, parse_range
from storage.context import S3Context
from storage.errors import S3Error
from storage.mailsafe import mail_safe, stored_value
from storage.names import check_key
from storage.objectfile import ObjectInfo, ObjectWriter, StoredObject
from storage.payload import checksum_headers, checksum_type, receive_body
from storage.store import Bucket, Store
from storage.tagset import tags_from_header
from storage.xmlpages import child_text, children, element, iso_time, parse_xml, xml_document

__all__ = [
    "body_copy",
    "copy_body",
    "copy_object",
    "delete_object",
    "delete_objects",
    "get_object",
    "put_object",
    "stored_headers",
]

STORED_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Expires",
)
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
MAX_PUT_BYTES = 5 * 1024**3
MAX_USER_META_BYTES = 2048
STREAM_PIECE = 1024 * 1024


def stored_headers(
    headers: CIMultiDict[str] | dict[str, str],
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The representation headers and ``x-amz-meta-*`` of a PUT, as they will be stored."""
    kept: list[tuple[str, str]] = []
    for name in STORED_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        if name == "Content-Encoding":
            codings = [c.strip() for c in value.split(",") if c.strip().lower() != "aws-chunked"]
            value = ", ".join(c for c in codings if c)
            if not value:
                continue
        kept.append((name, value))
    meta = sorted(
        (name.lower(), stored_value(value))
        for name, value in headers.items()
        if name.lower().startswith("x-amz-meta-")
    )
    size = sum(len(name) - len("x-amz-meta-") + len(value.encode()) for name, value in meta)
    if size > MAX_USER_META_BYTES:
        raise S3Error(
            "InvalidArgument",
            f"user metadata is {size} bytes (expected at most {MAX_USER_META_BYTES})",
        )
    return tuple(kept), tuple(meta)


def object_headers(info: ObjectInfo) -> CIMultiDict[str]:
    """What GET and HEAD say about ``info``."""
    headers = CIMultiDict[str](
        {
            "ETag": info.etag,
            "Last-Modified": format_http_date(int(info.last_modified)),
            "Accept-Ranges": "bytes",
            "Content-Type": info.content_type,
        }
    )
    for name, value in info.headers:
        headers[name] = value
    for name, value in info.user_meta:
        headers[name] = mail_safe(value)
    if info.parts:
        headers["x-amz-mp-parts-count"] = str(info.parts)
    if info.tags:
        headers["x-amz-tagging-count"] = str(len(info.tags))
    return headers


def s3_entity_tags(value: str) -> str:
    """An If-Match / If-None-Match value with bare ETags quoted, as S3 reads them.

    S3 compares ``abc`` like ``"abc"`` (clients often strip the quotes of an ETag they
    received); RFC 9110 calls a bare tag malformed, which would make a mismatching If-Match
    pass silently. ``*`` and quoted or weak tags are kept as they are.
    """
    items = [item.strip() for item in value.split(",")]
    fixed = [
        item if item == "*" or item.startswith(('"', "W/")) or not item else f'"{item}"'
        for item in items
    ]
    return ", ".join(item for item in fixed if item)


def _condition_fields(headers: Mapping[str, str]) -> dict[str, str]:
    """The precondition fields of a request, ETags read the S3 way (:func:`s3_entity_tags`)."""
    fields = {
        name: headers[name]
        for name in ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")
        if name in headers
    }
    for name in ("If-Match", "If-None-Match"):
        if name in fields:
            fields[name] = s3_entity_tags(fields[name])
    return fields


def _precondition_failed(condition: str) -> S3Error:
    return S3Error(
        "PreconditionFailed",
        "at least one of the preconditions you specified did not hold",
        Condition=condition,
    )


# -- GET / HEAD -------------------------------------------------------------------------------


async def get_object(ctx: S3Context) -> web.StreamResponse:
    """GetObject / HeadObject."""
    ctx.operation = "HeadObject" if ctx.request.method == "HEAD" else "GetObject"
    bucket = ctx.bucket()
    stored = ctx.store.open_object(bucket, ctx.key)
    try:
        return await _answer_object(ctx, stored)
    finally:
        stored.close()


async def _answer_object(ctx: S3Context, stored: StoredObject) -> web.StreamResponse:
    request = ctx.request
    info = stored.info
    headers = object_headers(info)
    last_modified = float(int(info.last_modified))
    verdict = evaluate_preconditions(
        request.method,
        _condition_fields(request.headers),
        info.etag,
        last_modified,
        ctx.store.clock(),
    )
    if verdict == 412:
        failed = "If-Match" if "If-Match" in request.headers else "If-Unmodified-Since"
        raise _precondition_failed(failed)
    if verdict == 304:
        kept = {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}
        for name in ("Cache-Control", "Expires"):
            if name in headers:
                kept[name] = headers[name]
        return web.Response(status=304, headers=kept)
    _apply_overrides(ctx, headers)
    size = info.size
    status = 200
    start, stop = 0, size
    range_value = request.headers.get("Range")
    part = _part_span(ctx, info)
    if part is not None:
        start, stop = part
        if stop > start:  # an empty object's one part is the whole (empty) object: 200
            status = 206
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    elif range_value is not None and if_range_holds(request.headers, info.etag, last_modified):
        ranges = parse_range(range_value, size)
        if isinstance(ranges, Unsatisfiable):
            raise S3Error(
                "InvalidRange",
                "the requested range is not satisfiable",
                ActualObjectSize=str(size),
                RangeRequested=range_value[:100],
            )
        if ranges is not None and len(ranges) == 1:
            status = 206
            start, stop = ranges[0].first, ranges[0].last + 1
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    if status == 200 and request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
        headers.update(checksum_headers(info.checksums))
        if info.checksums:
            headers["x-amz-checksum-type"] = checksum_type(info.checksums[0][1])
    return await _send(request, status, headers, stored, start, stop)


MAX_PART_NUMBER = 10_000


def _part_span(ctx: S3Context, info: ObjectInfo) -> tuple[int, int] | None:
    """The byte span ``[start, stop)`` of ``?partNumber=N`` (GetObject/HeadObject), or None.

    As S3: part N of a multipart object as it was uploaded; an object uploaded whole is its
    one part 1; a part past the last is 416 InvalidPartNumber; ``Range`` with it is refused.
    The answer keeps the object's ETag and says ``x-amz-mp-parts-count`` for multipart objects.
    """
    text = ctx.query.get("partNumber")
    if text is None:
        return None
    if "Range" in ctx.request.headers:
        raise S3Error(
            "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"
        )
    number = int(text) if text.isdigit() else 0
    if not 1 <= number <= MAX_PART_NUMBER:
        raise S3Error(
            "InvalidArgument",
            f"partNumber {text[:20]!r}: part number must be an integer between 1 and"
            f" {MAX_PART_NUMBER}, inclusive",
            ArgumentName="partNumber",
        )
    sizes = info.part_sizes or (info.size,)
    if info.parts and len(sizes) != info.parts:
        raise S3Error("NotImplemented", "this object was stored without its part sizes")
    if number > len(sizes):
        raise S3Error(
            "InvalidPartNumber",
            f"The requested partnumber is not satisfiable (the object has {len(sizes)})",
            PartNumberRequested=str(number),
            ActualPartCount=str(len(sizes)),
        )
    start = sum(sizes[: number - 1])
    return start, start + sizes[number - 1]


def _apply_overrides(ctx: S3Context, headers: CIMultiDict[str]) -> None:
    overrides = [(q, h) for q, h in RESPONSE_OVERRIDES.items() if q in ctx.query]
    if not overrides:
        return
    if ctx.principal.access_key is None and ctx.settings.keys:
        raise S3Error(
            "InvalidRequest",
            "response-* header overrides need a signed request (anonymous requests cannot use them)",
        )
    for query_name, header in overrides:
        headers[header] = ctx.query[query_name]


async def _send(
    request: web.Request,
    status: int,
    headers: CIMultiDict[str],
    stored: StoredObject,
    start: int,
    stop: int,
) -> web.StreamResponse:
    length = stop - start
    if request.method == "HEAD":
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = length
        await response.prepare(request)
        await response.write_eof()
        return response
    if stored.body is not None:
        return web.Response(status=status, headers=headers, body=stored.body[start:stop])
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = length
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    position = start
    while position < stop:
        piece = await loop.run_in_executor(
            None, stored.read, position, min(STREAM_PIECE, stop - position)
        )
        if not piece:
            raise ConnectionError("the object file is shorter than its metadata says")
        await response.write(piece)
        position += len(piece)
    await response.write_eof()
    return response


# -- PUT ------------------------------------------------------------------------------------


def _put_precondition(ctx: S3Context, bucket: Bucket, key: str) -> Callable[[], None]:
    """A check of If-None-Match / If-Match against the current object (raise 412 or 404)."""
    if_none_match = ctx.request.headers.get("If-None-Match")
    if_match = ctx.request.headers.get("If-Match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise S3Error("NotImplemented", "If-None-Match on PUT supports only '*'")

    def check() -> None:
        current = bucket.infos.get(key)
        if if_none_match is not None and current is not None:
            raise _precondition_failed("If-None-Match")
        if if_match is not None:
            if current is None:
                raise S3Error("NoSuchKey", "the specified key does not exist", Key=key)
            tags = parse_entity_tags(s3_entity_tags(if_match)) or []
            if tags != ["*"] and not any(strong_match(tag, current.etag) for tag in tags):
                raise _precondition_failed("If-Match")

    return check


async def put_object(ctx: S3Context) -> web.StreamResponse:
    """PutObject (or CopyObject when ``x-amz-copy-source`` is present)."""
    if "x-amz-copy-source" in ctx.request.headers:
        return await copy_object(ctx)
    ctx.operation = "PutObject"
    bucket = ctx.bucket()
    key = check_key(ctx.key)
    _check_declared_size(ctx.request)
    headers, meta = stored_headers(ctx.request.headers)
    tags = tags_from_header(ctx.request.headers.get("x-amz-tagging"))
    precondition = _put_precondition(ctx, bucket, key)
    precondition()
    writer = ctx.store.new_writer()
    try:
        received = await receive_body(ctx.request.content, ctx.request.headers, writer)
    except BaseException:
        writer.abort()
        raise
    info = ObjectInfo(
        key=key,
        size=received.size,
        etag=f'"{received.md5_hex}"',
        last_modified=ctx.store.clock(),
        headers=headers,
        user_meta=meta,
        checksums=received.checksums,
        tags=tags,
    )
    await ctx.store.commit(bucket, writer, info, precondition=precondition)
    ctx.changed(bucket.name, [key], "ObjectCreated:Put")
    answer = {"ETag": info.etag, **checksum_headers(info.checksums)}
    return web.Response(status=200, headers=answer)


def _check_declared_size(request: web.Request) -> None:
    declared = request.headers.get("x-amz-decoded-content-length") or request.headers.get(
        "Content-Length"
    )
    if declared is not None and declared.isdigit() and int(declared) > MAX_PUT_BYTES:
        raise S3Error(
            "EntityTooLarge",
            f"a single PUT takes at most {MAX_PUT_BYTES} bytes (use a multipart upload)",
        )


# -- DELETE ---------------------------------------------------------------------------------


async def delete_object(ctx: S3Context) -> web.StreamResponse:
    """DeleteObject: 204 whether or not the key existed."""
    ctx.operation = "DeleteObject"
    bucket = ctx.bucket()
    if await ctx.store.delete_object(bucket, ctx.key):
        ctx.changed(bucket.name, [ctx.key], "ObjectRemoved:Delete")
    return web.Response(status=204)


async def delete_objects(ctx: S3Context) -> web.StreamResponse:
    """DeleteObjects (``POST /bucket?delete``): up to 1,000 keys, results in XML."""
    ctx.operation = "DeleteObjects"
    bucket = ctx.bucket()
    sink = io.BytesIO()
    await receive_body(ctx.request.content, ctx.request.headers, sink)
    document = parse_xml(sink.getvalue(), "Delete")
    quiet = (child_text(document, "Quiet") or "").strip().lower() == "true"
    entries = children(document, "Object")
    if len(entries) > 1000:
        raise S3Error("MalformedXML", f"{len(entries)} keys to delete (expected at most 1000)")
    parts: list[str] = []
    removed: list[str] = []
    for entry in entries:
        key = child_text(entry, "Key")
        if key is None:
            raise S3Error("MalformedXML", "an <Object> without <Key>")
        try:
            if await ctx.store.delete_object(bucket, key):
                removed.append(key)
        except S3Error as exc:
            parts.append(
                "<Error>"
                + element("Key", key)
                + element("Code", exc.code)
                + element("Message", exc.message)
                + "</Error>"
            )
            continue
        if not quiet:
            parts.append("<Deleted>" + element("Key", key) + "</Deleted>")
    ctx.changed(bucket.name, removed, "ObjectRemoved:Delete")
    return web.Response(body=xml_document("DeleteResult", parts), content_type="application/xml")


# -- COPY -----------------------------------------------------------------------------------


def _copy_source(ctx: S3Context) -> tuple[str, str]:
    from urllib.parse import unquote

    raw = ctx.request.headers["x-amz-copy-source"]
    path = unquote(raw.split("?", 1)[0], errors="surrogateescape").lstrip("/")
    bucket, slash, key = path.partition("/")
    if not slash or not bucket or not key:
        raise S3Error(
            "InvalidArgument",
            f"x-amz-copy-source {raw[:120]!r} is not /<bucket>/<key>",
        )
    return bucket, key


def _copy_preconditions(ctx: S3Context, info: ObjectInfo) -> None:
    fields = {
        name.lower().removeprefix("x-amz-copy-source-").title(): value
        for name, value in ctx.request.headers.items()
        if name.lower().startswith("x-amz-copy-source-if-")
    }
    if not fields:
        return
    for name in ("If-Match", "If-None-Match"):
        if name in fields:
            fields[name] = s3_entity_tags(fields[name])
    verdict = evaluate_preconditions(
        "PUT", fields, info.etag, float(int(info.last_modified)), ctx.store.clock()
    )
    # RFC order with PUT semantics gives 412 for If-None-Match; If-Modified-Since is GET-only.
    since = fields.get("If-Modified-Since")
    if verdict is None and since is not None and "If-None-Match" not in fields:
        verdict = evaluate_preconditions(
            "GET",
            {"If-Modified-Since": since},
            info.etag,
            float(int(info.last_modified)),
            ctx.store.clock(),
        )
    if verdict is not None:
        raise _precondition_failed("x-amz-copy-source-" + next(iter(fields)).lower())


async def copy_object(ctx: S3Context) -> web.StreamResponse:
    """CopyObject: the source's bytes (and metadata, and tags, unless REPLACE) under a new key."""
    ctx.operation = "CopyObject"
    bucket = ctx.bucket()
    key = check_key(ctx.key)
    source_bucket_name, source_key = _copy_source(ctx)
    source_bucket = ctx.store.bucket(source_bucket_name)
    directive = ctx.request.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error(
            "InvalidArgument", f"x-amz-metadata-directive {directive!r} (COPY or REPLACE)"
        )
    tagging_directive = ctx.request.headers.get("x-amz-tagging-directive", "COPY").upper()
    if tagging_directive not in ("COPY", "REPLACE"):
        raise S3Error(
            "InvalidArgument",
            f"x-amz-tagging-directive {tagging_directive[:40]!r} (expected COPY or REPLACE)",
            ArgumentName="x-amz-tagging-directive",
        )
    new_tags = None
    if tagging_directive == "REPLACE":
        new_tags = tags_from_header(ctx.request.headers.get("x-amz-tagging"))
    if source_bucket is bucket and source_key == key and directive == "COPY":
        raise S3Error(
            "InvalidRequest",
            "this copy request is illegal because it is trying to copy an object to itself"
            " without changing the object's metadata",
        )
    stored = ctx.store.open_object(source_bucket, source_key)
    try:
        source = stored.info
        _copy_preconditions(ctx, source)
        if directive == "REPLACE":
            headers, meta = stored_headers(ctx.request.headers)
        else:
            headers, meta = source.headers, source.user_meta
        precondition = _put_precondition(ctx, bucket, key)
        precondition()
        writer = await body_copy(ctx.store, stored)
    finally:
        stored.close()
    info = ObjectInfo(
        key=key,
        size=source.size,
        etag=source.etag,
        last_modified=ctx.store.clock(),
        headers=headers,
        user_meta=meta,
        checksums=source.checksums,
        parts=source.parts,
        part_sizes=source.part_sizes,
        tags=source.tags if new_tags is None else new_tags,
    )
    await ctx.store.commit(bucket, writer, info, precondition=precondition)
    ctx.changed(bucket.name, [key], "ObjectCreated:Copy")
    body = xml_document(
        "CopyObjectResult",
        [element("LastModified", iso_time(info.last_modified)), element("ETag", info.etag)],
    )
    return web.Response(body=body, content_type="application/xml")


async def body_copy(store: Store, stored: StoredObject) -> ObjectWriter:
    """A new writer of ``store`` holding a copy of ``stored``'s body (not committed; aborted,
    and the error raised, when the copy fails)."""
    writer = store.new_writer()
    try:
        await copy_body(stored, writer)
    except BaseException:
        writer.abort()
        raise
    return writer


async def copy_body(stored: StoredObject, writer: ObjectWriter) -> None:
    """Copy the body of ``stored`` into ``writer`` (in pieces, off the event loop when large)."""
    size = stored.info.size
    if stored.body is not None:
        writer.write(stored.body)
        return
    loop = asyncio.get_running_loop()
    position = 0
    while position < size:
        piece = await loop.run_in_executor(
            None, stored.read, position, min(STREAM_PIECE, size - position)
        )
        if not piece:
            raise S3Error("InternalError", "the source object file is shorter than its metadata")
        writer.write(piece)
        position += len(piece)
