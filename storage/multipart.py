"""Multipart operations: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload, ListParts, ListMultipartUploads (disk side: storage.uploads).

Rules: part numbers are 1 to 10,000; every part but the last is at least 5 MiB at completion
(EntityTooSmall); parts are named in ascending order (InvalidPartOrder) with their ETags
(InvalidPart); completing an upload again answers the first completion.
"""

from __future__ import annotations

import asyncio
import io

from aiohttp import web
from multidict import CIMultiDict

from storage.context import S3Context
from storage.errors import S3Error
from storage.names import check_key
from storage.objectfile import ObjectInfo
from storage.objects import stored_headers
from storage.payload import CHECKSUM_ALGORITHMS, checksum_headers, checksum_type, receive_body
from storage.tagset import tags_from_header
from storage.uploads import (
    MAX_PART_NUMBER,
    PartChoice,
    UploadStore,
    composite_checksum,
    multipart_etag,
)
from storage.xmlpages import child_text, children, element, iso_time, parse_xml, xml_document

__all__ = [
    "abort_upload",
    "complete_upload",
    "create_upload",
    "list_parts",
    "list_uploads",
    "upload_part",
]

OWNER = "<Owner><ID>cdnlab</ID><DisplayName>cdnlab</DisplayName></Owner>"
INITIATOR = "<Initiator><ID>cdnlab</ID><DisplayName>cdnlab</DisplayName></Initiator>"


def _xml(root: str, parts: list[str]) -> web.Response:
    return web.Response(body=xml_document(root, parts), content_type="application/xml")


async def create_upload(ctx: S3Context) -> web.StreamResponse:
    """CreateMultipartUpload (``POST /bucket/key?uploads``)."""
    ctx.operation = "CreateMultipartUpload"
    bucket = ctx.bucket()
    key = check_key(ctx.key)
    headers, meta = stored_headers(ctx.request.headers)
    tags = tags_from_header(ctx.request.headers.get("x-amz-tagging"))
    algorithm = ctx.request.headers.get("x-amz-checksum-algorithm", "").upper() or None
    if algorithm is not None and algorithm not in CHECKSUM_ALGORITHMS:
        raise S3Error("InvalidRequest", f"unknown checksum algorithm {algorithm!r}")
    checksum_type = ctx.request.headers.get("x-amz-checksum-type", "").upper()
    if not checksum_type:
        checksum_type = "FULL_OBJECT" if algorithm in ("CRC64NVME",) else "COMPOSITE"
    if checksum_type not in ("COMPOSITE", "FULL_OBJECT"):
        raise S3Error("InvalidRequest", f"x-amz-checksum-type {checksum_type!r}")
    upload = UploadStore(ctx.store).create(
        bucket, key, headers, meta, algorithm, checksum_type, tags
    )
    answer = {}
    if algorithm:
        answer = {"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": checksum_type}
    response = _xml(
        "InitiateMultipartUploadResult",
        [
            element("Bucket", bucket.name),
            element("Key", key),
            element("UploadId", upload.upload_id),
        ],
    )
    response.headers.update(answer)
    return response


def _part_number(ctx: S3Context) -> int:
    text = ctx.query.get("partNumber", "")
    if not text.isdigit() or not 1 <= int(text) <= MAX_PART_NUMBER:
        raise S3Error(
            "InvalidArgument",
            f"partNumber {text[:20]!r} (expected a whole number from 1 to {MAX_PART_NUMBER})",
        )
    return int(text)


async def upload_part(ctx: S3Context) -> web.StreamResponse:
    """UploadPart (``PUT /bucket/key?partNumber=N&uploadId=ID``)."""
    ctx.operation = "UploadPart"
    if "x-amz-copy-source" in ctx.request.headers:
        raise S3Error("NotImplemented", "UploadPartCopy is not supported")
    bucket = ctx.bucket()
    number = _part_number(ctx)
    uploads = UploadStore(ctx.store)
    upload = uploads.get(bucket, ctx.query["uploadId"], ctx.key)
    writer = ctx.store.new_writer()
    try:
        received = await receive_body(ctx.request.content, ctx.request.headers, writer)
        info = ObjectInfo(
            key=str(number),
            size=received.size,
            etag=f'"{received.md5_hex}"',
            last_modified=ctx.store.clock(),
            checksums=received.checksums,
        )
        await asyncio.get_running_loop().run_in_executor(None, writer.finish, info)
    except BaseException:
        writer.abort()
        raise
    uploads.commit_part(upload, number, writer)
    return web.Response(headers={"ETag": info.etag, **checksum_headers(info.checksums)})


def _choices(body: bytes) -> list[PartChoice]:
    document = parse_xml(body, "CompleteMultipartUpload")
    choices = []
    for part in children(document, "Part"):
        number = child_text(part, "PartNumber")
        etag = child_text(part, "ETag")
        if number is None or etag is None or not number.strip().isdigit():
            raise S3Error("MalformedXML", "each <Part> needs a numeric <PartNumber> and an <ETag>")
        choices.append(PartChoice(int(number), etag))
    return choices


async def complete_upload(ctx: S3Context) -> web.StreamResponse:
    """CompleteMultipartUpload: assemble the parts into the object (crash-safe, storage.uploads)."""
    ctx.operation = "CompleteMultipartUpload"
    bucket = ctx.bucket()
    uploads = UploadStore(ctx.store)
    upload = uploads.get(bucket, ctx.query["uploadId"], ctx.key)
    sink = io.BytesIO()
    # On CompleteMultipartUpload, x-amz-checksum-<alg> is the object's checksum (composite or
    # full-object), not the checksum of this XML body: the body is checked without them.
    body_headers = CIMultiDict(
        (name, value)
        for name, value in ctx.request.headers.items()
        if not name.lower().startswith(("x-amz-checksum-", "x-amz-sdk-checksum-"))
    )
    await receive_body(ctx.request.content, body_headers, sink)
    done = uploads.completed(upload)
    if done is not None:
        return _completion_answer(
            ctx, upload.key, done["etag"], [tuple(c) for c in done["checksums"]]
        )
    parts = uploads.check_choices(upload, _choices(sink.getvalue()))
    etag = multipart_etag(parts)
    writer = ctx.store.new_writer()
    loop = asyncio.get_running_loop()
    try:
        full = await loop.run_in_executor(None, uploads.assemble, upload, parts, writer)
    except BaseException:
        writer.abort()
        raise
    checksums: list[tuple[str, str]] = []
    algorithm = upload.checksum_algorithm
    if algorithm and full is not None:
        expected = ctx.request.headers.get(f"x-amz-checksum-{algorithm.lower()}")
        if expected is not None and expected.strip() != full:
            writer.abort()
            raise S3Error("BadDigest", f"the object's {algorithm} is {full}, not {expected}")
        checksums.append((algorithm, full))
    elif algorithm:
        composite = composite_checksum(algorithm, parts)
        expected = ctx.request.headers.get(f"x-amz-checksum-{algorithm.lower()}")
        if expected is not None and expected.strip() != composite:
            writer.abort()
            raise S3Error(
                "BadDigest",
                f"the object's composite {algorithm} is {composite}, not {expected.strip()}"
                if composite is not None
                else f"a part lacks its {algorithm} checksum, so {expected.strip()} cannot hold",
            )
        if composite is not None:
            checksums.append((algorithm, composite))
    info = ObjectInfo(
        key=upload.key,
        size=sum(p.size for p in parts),
        etag=etag,
        last_modified=ctx.store.clock(),
        headers=upload.headers,
        user_meta=upload.user_meta,
        checksums=tuple(checksums),
        parts=len(parts),
        part_sizes=tuple(p.size for p in parts),
        tags=upload.tags,
    )
    await ctx.store.commit(bucket, writer, info)
    await loop.run_in_executor(
        None, uploads.record_completion, upload, etag, [list(c) for c in checksums]
    )
    ctx.changed(bucket.name, [upload.key], "ObjectCreated:CompleteMultipartUpload")
    return _completion_answer(ctx, upload.key, etag, checksums)


def _completion_answer(
    ctx: S3Context, key: str, etag: str, checksums: list[tuple[str, str]]
) -> web.Response:
    parts = [
        element("Location", f"http://{ctx.request.host}/{ctx.bucket_name}/{key}"),
        element("Bucket", ctx.bucket_name),
        element("Key", key),
        element("ETag", etag),
    ]
    for algorithm, value in checksums:
        parts.append(element(f"Checksum{algorithm}", value))
    if checksums:
        parts.append(element("ChecksumType", checksum_type(checksums[0][1])))
    return _xml("CompleteMultipartUploadResult", parts)


async def abort_upload(ctx: S3Context) -> web.StreamResponse:
    """AbortMultipartUpload: 204."""
    ctx.operation = "AbortMultipartUpload"
    bucket = ctx.bucket()
    uploads = UploadStore(ctx.store)
    upload = uploads.get(bucket, ctx.query["uploadId"], ctx.key)
    uploads.abort(bucket, upload)
    return web.Response(status=204)


async def list_parts(ctx: S3Context) -> web.StreamResponse:
    """ListParts, with ``part-number-marker`` and ``max-parts`` paging."""
    ctx.operation = "ListParts"
    bucket = ctx.bucket()
    uploads = UploadStore(ctx.store)
    upload = uploads.get(bucket, ctx.query["uploadId"], ctx.key)
    marker = ctx.int_param("part-number-marker", 0, high=MAX_PART_NUMBER)
    max_parts = ctx.int_param("max-parts", 1000)
    stored = [p for p in uploads.parts(upload) if int(p.key) > marker]
    page, truncated = stored[:max_parts], len(stored) > max_parts
    items = [
        element("Bucket", bucket.name),
        element("Key", upload.key),
        element("UploadId", upload.upload_id),
        element("PartNumberMarker", marker),
        element("NextPartNumberMarker", page[-1].key if page else marker),
        element("MaxParts", max_parts),
        element("IsTruncated", truncated),
        INITIATOR,
        OWNER,
        element("StorageClass", "STANDARD"),
    ]
    if upload.checksum_algorithm:
        items.append(element("ChecksumAlgorithm", upload.checksum_algorithm))
        items.append(element("ChecksumType", upload.checksum_type))
    for info in page:
        checksums = "".join(element(f"Checksum{alg}", value) for alg, value in info.checksums)
        items.append(
            "<Part>"
            + element("PartNumber", info.key)
            + element("LastModified", iso_time(info.last_modified))
            + element("ETag", info.etag)
            + element("Size", info.size)
            + checksums
            + "</Part>"
        )
    return _xml("ListPartsResult", items)


async def list_uploads(ctx: S3Context) -> web.StreamResponse:
    """ListMultipartUploads, with ``prefix``, ``key-marker``/``upload-id-marker``, ``max-uploads``."""
    ctx.operation = "ListMultipartUploads"
    bucket = ctx.bucket()
    prefix = ctx.query.get("prefix", "")
    key_marker = ctx.query.get("key-marker", "")
    id_marker = ctx.query.get("upload-id-marker", "")
    max_uploads = ctx.int_param("max-uploads", 1000)
    found = [
        u
        for u in UploadStore(ctx.store).uploads(bucket)
        if u.key.startswith(prefix)
        and (not key_marker or (u.key, u.upload_id) > (key_marker, id_marker or "~"))
    ]
    page, truncated = found[:max_uploads], len(found) > max_uploads
    items = [
        element("Bucket", bucket.name),
        element("KeyMarker", key_marker),
        element("UploadIdMarker", id_marker),
        element("NextKeyMarker", page[-1].key if truncated else ""),
        element("NextUploadIdMarker", page[-1].upload_id if truncated else ""),
        element("Prefix", prefix),
        element("MaxUploads", max_uploads),
        element("IsTruncated", truncated),
    ]
    for upload in page:
        items.append(
            "<Upload>"
            + element("Key", upload.key)
            + element("UploadId", upload.upload_id)
            + INITIATOR
            + OWNER
            + element("StorageClass", "STANDARD")
            + element("Initiated", iso_time(upload.initiated))
            + "</Upload>"
        )
    return _xml("ListMultipartUploadsResult", items)
