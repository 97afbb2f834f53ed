"""Object tagging operations: PutObjectTagging, GetObjectTagging, DeleteObjectTagging.

Rules: the tag set rules are storage.tagset's. Tags live inside the object file with the
rest of its metadata (storage.objectfile), so they are written, replaced and removed with the
object by the same one ``rename``: changing the tags of an object rewrites its file (body
copied, metadata with the new tags, fsync, rename, directory fsync, as a PUT), and the rename
happens only if the object is still the one copied (a concurrent PUT or DELETE wins; the
tagging request then starts again on what is there, or finds NoSuchKey). ETag and
Last-Modified do not change, as in S3. A change of tags changes what GET answers
(``x-amz-tagging-count``), so it purges the object's URL from the CDN like a write, with the
events S3 names ``ObjectTagging:Put`` and ``ObjectTagging:Delete``.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

from aiohttp import web

from storage.context import S3Context
from storage.errors import S3Error
from storage.names import check_key
from storage.objectfile import ObjectInfo
from storage.objects import body_copy
from storage.payload import receive_body
from storage.store import Bucket
from storage.tagset import Tags, tagging_document, tags_from_xml

__all__ = ["delete_object_tagging", "get_object_tagging", "put_object_tagging"]

_RETRIES = 5  # rewrites started again when a concurrent write replaced the object meanwhile


def _check_version(ctx: S3Context) -> None:
    version = ctx.query.get("versionId")
    if version is not None and version != "null":
        raise S3Error("InvalidArgument", f"versionId {version[:64]!r}: this bucket is unversioned")


async def get_object_tagging(ctx: S3Context) -> web.StreamResponse:
    """GetObjectTagging (``GET /bucket/key?tagging``)."""
    ctx.operation = "GetObjectTagging"
    bucket = ctx.bucket()
    _check_version(ctx)
    stored = ctx.store.open_object(bucket, ctx.key)
    stored.close()
    return web.Response(body=tagging_document(stored.info.tags), content_type="application/xml")


async def put_object_tagging(ctx: S3Context) -> web.StreamResponse:
    """PutObjectTagging (``PUT /bucket/key?tagging``): the tag set replaces the object's."""
    ctx.operation = "PutObjectTagging"
    bucket = ctx.bucket()
    key = check_key(ctx.key)
    _check_version(ctx)
    sink = io.BytesIO()
    await receive_body(ctx.request.content, ctx.request.headers, sink)
    tags = tags_from_xml(sink.getvalue())
    if await _retag(ctx, bucket, key, tags):
        ctx.changed(bucket.name, [key], "ObjectTagging:Put")
    return web.Response(status=200)


async def delete_object_tagging(ctx: S3Context) -> web.StreamResponse:
    """DeleteObjectTagging (``DELETE /bucket/key?tagging``): 204, the object keeps no tags."""
    ctx.operation = "DeleteObjectTagging"
    bucket = ctx.bucket()
    key = check_key(ctx.key)
    _check_version(ctx)
    if await _retag(ctx, bucket, key, ()):
        ctx.changed(bucket.name, [key], "ObjectTagging:Delete")
    return web.Response(status=204)


async def _retag(ctx: S3Context, bucket: Bucket, key: str, tags: Tags) -> bool:
    """Rewrite the object of ``key`` with ``tags`` (nothing else changes), atomically;
    False when it already had exactly these tags (nothing written)."""
    for _ in range(_RETRIES):
        stored = ctx.store.open_object(bucket, key)  # NoSuchKey when absent
        try:
            source = stored.info
            if source.tags == tags:
                return False
            writer = await body_copy(ctx.store, stored)
        finally:
            stored.close()
        retagged = dataclasses.replace(source, tags=tags)
        try:
            await ctx.store.commit(
                bucket, writer, retagged, precondition=_unchanged(bucket, source)
            )
        except _Replaced:
            continue
        return True
    # Not a fault of ours nor of the request: S3's answer for a conflicting operation in
    # progress on the resource (409; the client retries).
    raise S3Error(
        "OperationAborted",
        f"A conflicting conditional operation is currently in progress against this resource:"
        f" the object {key!r} was replaced {_RETRIES} times while its tags were being written."
        " Please try again.",
    )


class _Replaced(Exception):
    """The object changed between the copy and the rename of a tagging rewrite."""


def _unchanged(bucket: Bucket, source: ObjectInfo) -> Callable[[], None]:
    def check() -> None:
        current = bucket.infos.get(source.key)
        if current is None:
            raise S3Error("NoSuchKey", "the specified key does not exist", Key=source.key)
        if current != source:
            raise _Replaced

    return check
