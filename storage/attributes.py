"""GetObjectAttributes (``GET /<bucket>/<key>?attributes``): what S3 knows of an object.

Rules: ``x-amz-object-attributes`` names the attributes wanted (ETag, Checksum, ObjectParts,
StorageClass, ObjectSize; at least one, unknown names are InvalidArgument). The ETag is
answered without its quotes, as S3 does here; Checksum holds the stored checksum with its type
(COMPOSITE or FULL_OBJECT); ObjectParts gives the part count of a multipart object and its
parts' sizes a page at a time (``x-amz-max-parts``, ``x-amz-part-number-marker``), and is left
out for an object uploaded whole.
"""

from __future__ import annotations

from aiohttp import web

from cdn.http.dates import format_http_date
from storage.context import S3Context
from storage.errors import S3Error
from storage.objectfile import ObjectInfo
from storage.payload import checksum_type
from storage.xmlpages import element, xml_document

__all__ = ["ATTRIBUTES", "get_object_attributes"]

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
MAX_PARTS_PAGE = 1000


def _wanted(ctx: S3Context) -> list[str]:
    text = ctx.request.headers.get("x-amz-object-attributes", "")
    wanted = [name.strip() for name in text.split(",") if name.strip()]
    if not wanted:
        raise S3Error(
            "InvalidArgument",
            f"x-amz-object-attributes is empty (expected some of {', '.join(ATTRIBUTES)})",
        )
    unknown = [name for name in wanted if name not in ATTRIBUTES]
    if unknown:
        raise S3Error(
            "InvalidArgument",
            f"unknown object attribute {unknown[0][:40]!r} (expected {', '.join(ATTRIBUTES)})",
        )
    return wanted


def _header_int(ctx: S3Context, name: str, default: int, high: int) -> int:
    text = ctx.request.headers.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise S3Error("InvalidArgument", f"{name} must be a whole number (got {text[:20]!r})")
    return min(int(text), high)


def _parts(ctx: S3Context, info: ObjectInfo) -> str:
    marker = _header_int(ctx, "x-amz-part-number-marker", 0, 10_000)
    limit = _header_int(ctx, "x-amz-max-parts", MAX_PARTS_PAGE, MAX_PARTS_PAGE)
    numbered = list(enumerate(info.part_sizes, start=1))[marker:]
    page = numbered[:limit]
    truncated = len(page) < len(numbered)
    listed = "".join(
        "<Part>" + element("PartNumber", number) + element("Size", size) + "</Part>"
        for number, size in page
    )
    return (
        "<ObjectParts>"
        + element("PartsCount", info.parts)
        + element("PartNumberMarker", marker)
        + (element("NextPartNumberMarker", page[-1][0]) if page else "")
        + element("MaxParts", limit)
        + element("IsTruncated", truncated)
        + listed
        + "</ObjectParts>"
    )


def _checksum(info: ObjectInfo) -> str:
    if not info.checksums:
        return ""
    values = "".join(element(f"Checksum{alg}", value) for alg, value in info.checksums)
    kind = element("ChecksumType", checksum_type(info.checksums[0][1]))
    return f"<Checksum>{values}{kind}</Checksum>"


async def get_object_attributes(ctx: S3Context) -> web.StreamResponse:
    """GetObjectAttributes."""
    ctx.operation = "GetObjectAttributes"
    wanted = _wanted(ctx)
    bucket = ctx.bucket()
    stored = ctx.store.open_object(bucket, ctx.key)
    try:
        info = stored.info
    finally:
        stored.close()
    parts: list[str] = []
    for name in ATTRIBUTES:  # S3's order, whatever the request's
        if name not in wanted:
            continue
        if name == "ETag":
            parts.append(element("ETag", info.etag.strip('"')))
        elif name == "Checksum":
            parts.append(_checksum(info))
        elif name == "ObjectParts" and info.parts:
            parts.append(_parts(ctx, info))
        elif name == "StorageClass":
            parts.append(element("StorageClass", "STANDARD"))
        elif name == "ObjectSize":
            parts.append(element("ObjectSize", info.size))
    return web.Response(
        body=xml_document("GetObjectAttributesResponse", parts),
        content_type="application/xml",
        headers={"Last-Modified": format_http_date(int(info.last_modified))},
    )
