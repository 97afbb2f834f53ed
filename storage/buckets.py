"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
ListObjects (v1), ListObjectsV2 and unversioned ListObjectVersions (each version ``null``).

Rules: listings walk the store's sorted index (storage.store.list_objects): ``prefix``,
``delimiter`` (CommonPrefixes), ``max-keys`` (at most 1,000), ``start-after`` /
``continuation-token`` (v2), ``marker`` (v1), ``key-marker`` (versions); ``encoding-type=url``
percent-encodes keys and prefixes in the answer (but not a v1 listing's own ``Prefix``, which
S3 echoes as sent and botocore does not decode). CreateBucket of a bucket that exists answers
200 in us-east-1 (S3's legacy behaviour there, nothing changes) and 409
BucketAlreadyOwnedByYou in any other region. ListBuckets pages with ``max-buckets`` (1 to 10,000)
and ``continuation-token``, and filters by ``prefix``; without ``max-buckets`` it lists all.
"""

from __future__ import annotations

from aiohttp import web

from storage.context import S3Context
from storage.errors import S3Error
from storage.objectfile import ObjectInfo
from storage.store import Listing, decode_token, encode_token
from storage.xmlpages import element, iso_time, url_encoded, xml_document

__all__ = [
    "create_bucket",
    "delete_bucket",
    "get_bucket_location",
    "head_bucket",
    "list_buckets",
    "list_object_versions",
    "list_objects",
]

MAX_BUCKETS_PAGE = 10_000
OWNER = "<Owner><ID>cdnlab</ID><DisplayName>cdnlab</DisplayName></Owner>"


def _xml(root: str, parts: list[str]) -> web.Response:
    return web.Response(body=xml_document(root, parts), content_type="application/xml")


async def list_buckets(ctx: S3Context) -> web.StreamResponse:
    """ListBuckets."""
    ctx.operation = "ListBuckets"
    if ctx.principal.access_key is None and ctx.settings.keys:
        raise S3Error("AccessDenied", "listing buckets needs a signed request")
    prefix = ctx.query.get("prefix", "")
    token = ctx.query.get("continuation-token")
    after = decode_token(token) if token else ""
    paged = "max-buckets" in ctx.query
    limit = ctx.int_param("max-buckets", MAX_BUCKETS_PAGE, low=1, high=MAX_BUCKETS_PAGE)
    chosen = [
        bucket
        for bucket in ctx.store.iter_buckets()
        if bucket.name.startswith(prefix) and bucket.name > after
    ]
    page = chosen[:limit] if paged else chosen
    buckets = "".join(
        "<Bucket>"
        + element("Name", bucket.name)
        + element("CreationDate", iso_time(bucket.created))
        + "</Bucket>"
        for bucket in page
    )
    parts = [OWNER, f"<Buckets>{buckets}</Buckets>"]
    if len(page) < len(chosen):
        parts.append(element("ContinuationToken", encode_token(page[-1].name)))
    if "prefix" in ctx.query:
        parts.append(element("Prefix", prefix))
    return _xml("ListAllMyBucketsResult", parts)


async def create_bucket(ctx: S3Context) -> web.StreamResponse:
    """CreateBucket (a CreateBucketConfiguration body is read and ignored: one region here)."""
    ctx.operation = "CreateBucket"
    await ctx.request.read()
    if ctx.settings.region == "us-east-1" and ctx.bucket_name in ctx.store.buckets:
        return web.Response(status=200, headers={"Location": f"/{ctx.bucket_name}"})
    ctx.store.create_bucket(ctx.bucket_name)
    return web.Response(status=200, headers={"Location": f"/{ctx.bucket_name}"})


async def head_bucket(ctx: S3Context) -> web.StreamResponse:
    """HeadBucket."""
    ctx.operation = "HeadBucket"
    ctx.bucket()
    return web.Response(status=200, headers={"x-amz-bucket-region": ctx.settings.region})


async def delete_bucket(ctx: S3Context) -> web.StreamResponse:
    """DeleteBucket (only when empty)."""
    ctx.operation = "DeleteBucket"
    ctx.store.delete_bucket(ctx.bucket_name)
    return web.Response(status=204)


async def get_bucket_location(ctx: S3Context) -> web.StreamResponse:
    """GetBucketLocation (empty for us-east-1, as S3 answers)."""
    ctx.operation = "GetBucketLocation"
    ctx.bucket()
    region = "" if ctx.settings.region == "us-east-1" else ctx.settings.region
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{region}</LocationConstraint>'
    return web.Response(body=body.encode(), content_type="application/xml")


def _encoding(ctx: S3Context) -> bool:
    encoding = ctx.query.get("encoding-type")
    if encoding is None:
        return False
    if encoding != "url":
        raise S3Error("InvalidArgument", f"encoding-type {encoding[:20]!r} (expected url)")
    return True


def _contents(info: ObjectInfo, encode: bool, *, owner: bool) -> str:
    checksum = "".join(element("ChecksumAlgorithm", alg) for alg, _ in info.checksums)
    return (
        "<Contents>"
        + element("Key", url_encoded(info.key, encode))
        + element("LastModified", iso_time(info.last_modified))
        + element("ETag", info.etag)
        + checksum
        + element("Size", info.size)
        + element("StorageClass", "STANDARD")
        + (OWNER if owner else "")
        + "</Contents>"
    )


def _common(listing: Listing, encode: bool) -> list[str]:
    return [
        "<CommonPrefixes>" + element("Prefix", url_encoded(p, encode)) + "</CommonPrefixes>"
        for p in listing.common_prefixes
    ]


def _head_parts(
    ctx: S3Context,
    prefix: str,
    delimiter: str,
    max_keys: int,
    encode: bool,
    *,
    encode_prefix: bool = True,
) -> list[str]:
    echoed = url_encoded(prefix, encode and encode_prefix)
    parts = [element("Name", ctx.bucket_name), element("Prefix", echoed)]
    if delimiter:
        parts.append(element("Delimiter", url_encoded(delimiter, encode)))
    parts.append(element("MaxKeys", max_keys))
    if encode:
        parts.append(element("EncodingType", "url"))
    return parts


async def list_objects(ctx: S3Context) -> web.StreamResponse:
    """ListObjectsV2 (``list-type=2``) or ListObjects (v1)."""
    v2 = ctx.query.get("list-type") == "2"
    ctx.operation = "ListObjectsV2" if v2 else "ListObjects"
    bucket = ctx.bucket()
    encode = _encoding(ctx)
    prefix = ctx.query.get("prefix", "")
    delimiter = ctx.query.get("delimiter", "")
    max_keys = ctx.int_param("max-keys", 1000)
    parts = _head_parts(ctx, prefix, delimiter, max_keys, encode, encode_prefix=v2)
    if v2:
        token = ctx.query.get("continuation-token")
        start_after = ctx.query.get("start-after", "")
        after = decode_token(token) if token else start_after
        listing = ctx.store.list_objects(
            bucket, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys
        )
        if token is not None:
            parts.append(element("ContinuationToken", token))
        if start_after:
            parts.append(element("StartAfter", url_encoded(start_after, encode)))
        parts.append(element("KeyCount", len(listing.objects) + len(listing.common_prefixes)))
        parts.append(element("IsTruncated", listing.is_truncated))
        if listing.is_truncated and listing.next_marker is not None:
            parts.append(element("NextContinuationToken", encode_token(listing.next_marker)))
        owner = ctx.query.get("fetch-owner") == "true"
    else:
        marker = ctx.query.get("marker", "")
        listing = ctx.store.list_objects(
            bucket, prefix=prefix, delimiter=delimiter, after=marker, max_keys=max_keys
        )
        parts.append(element("Marker", url_encoded(marker, encode)))
        parts.append(element("IsTruncated", listing.is_truncated))
        if listing.is_truncated and listing.next_marker is not None:
            parts.append(element("NextMarker", url_encoded(listing.next_marker, encode)))
        owner = True
    parts += [_contents(info, encode, owner=owner) for info in listing.objects]
    parts += _common(listing, encode)
    return _xml("ListBucketResult", parts)


async def list_object_versions(ctx: S3Context) -> web.StreamResponse:
    """ListObjectVersions of an unversioned bucket: every object once, ``VersionId`` null."""
    ctx.operation = "ListObjectVersions"
    bucket = ctx.bucket()
    encode = _encoding(ctx)
    prefix = ctx.query.get("prefix", "")
    delimiter = ctx.query.get("delimiter", "")
    max_keys = ctx.int_param("max-keys", 1000)
    key_marker = ctx.query.get("key-marker", "")
    listing = ctx.store.list_objects(
        bucket, prefix=prefix, delimiter=delimiter, after=key_marker, max_keys=max_keys
    )
    parts = _head_parts(ctx, prefix, delimiter, max_keys, encode)
    parts.append(element("KeyMarker", url_encoded(key_marker, encode)))
    parts.append(element("VersionIdMarker", ""))
    parts.append(element("IsTruncated", listing.is_truncated))
    if listing.is_truncated and listing.next_marker is not None:
        parts.append(element("NextKeyMarker", url_encoded(listing.next_marker, encode)))
        parts.append(element("NextVersionIdMarker", "null"))
    for info in listing.objects:
        parts.append(
            "<Version>"
            + element("Key", url_encoded(info.key, encode))
            + element("VersionId", "null")
            + element("IsLatest", True)
            + element("LastModified", iso_time(info.last_modified))
            + element("ETag", info.etag)
            + element("Size", info.size)
            + element("StorageClass", "STANDARD")
            + OWNER
            + "</Version>"
        )
    parts += _common(listing, encode)
    return _xml("ListVersionsResult", parts)
