"""Bucket CORS: PutBucketCors, GetBucketCors, DeleteBucketCors, preflights, and the CORS
fields of actual requests.

Rules: the configuration's limits and matching are storage.corsrules'; it is kept in the
bucket's ``bucket.json`` (storage.store, replaced by one rename) and goes with the bucket. A
preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is never
authenticated (browsers send no credentials): the first matching rule answers 200 with the
``Access-Control-*`` fields, otherwise 403 CORSResponse in S3's words. A request with an
``Origin`` that a rule allows gets ``Access-Control-Allow-Origin`` (and the rule's other
fields) on its answer, whatever the answer is: ``*`` when the rule's origin is ``*``, except
for a signed request (credentials: the Fetch standard forbids ``*`` with them), which gets
its own origin echoed with ``Access-Control-Allow-Credentials: true``, as S3 and Ceph do.
"""

from __future__ import annotations

import io

from aiohttp import web
from multidict import CIMultiDict

from storage.context import S3Context
from storage.corsrules import CorsRule, cors_document, first_match, rules_from_xml
from storage.errors import S3Error
from storage.payload import receive_body

__all__ = [
    "actual_request_fields",
    "delete_bucket_cors",
    "get_bucket_cors",
    "preflight",
    "put_bucket_cors",
]

VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ENABLED = "CORS is not enabled for this bucket."
NOT_ALLOWED = (
    "This CORS request is not allowed. This is usually because the evalution of Origin,"
    " request method / Access-Control-Request-Method or Access-Control-Request-Headers are"
    " not whitelisted by the resource's CORS spec."
)


async def put_bucket_cors(ctx: S3Context) -> web.StreamResponse:
    """PutBucketCors (``PUT /bucket?cors``): the configuration replaces the bucket's."""
    ctx.operation = "PutBucketCors"
    bucket = ctx.bucket()
    sink = io.BytesIO()
    await receive_body(ctx.request.content, ctx.request.headers, sink)
    rules = rules_from_xml(sink.getvalue())
    ctx.store.set_cors(bucket, rules)
    return web.Response(status=200)


async def get_bucket_cors(ctx: S3Context) -> web.StreamResponse:
    """GetBucketCors (``GET /bucket?cors``); 404 NoSuchCORSConfiguration when there is none."""
    ctx.operation = "GetBucketCors"
    bucket = ctx.bucket()
    if not bucket.cors:
        raise S3Error(
            "NoSuchCORSConfiguration",
            "The CORS configuration does not exist",
            BucketName=bucket.name,
        )
    return web.Response(body=cors_document(bucket.cors), content_type="application/xml")


async def delete_bucket_cors(ctx: S3Context) -> web.StreamResponse:
    """DeleteBucketCors (``DELETE /bucket?cors``): 204, whether there was one or not."""
    ctx.operation = "DeleteBucketCors"
    bucket = ctx.bucket()
    if bucket.cors:
        ctx.store.set_cors(bucket, ())
    return web.Response(status=204)


def _requested_headers(value: str) -> tuple[str, ...]:
    return tuple(name.strip().lower() for name in value.split(",") if name.strip())


def _rule_fields(
    rule: CorsRule, pattern: str, origin: str, *, credentialed: bool = False
) -> CIMultiDict[str]:
    fields: CIMultiDict[str] = CIMultiDict()
    if pattern == "*" and not credentialed:
        fields["Access-Control-Allow-Origin"] = "*"
    else:
        fields["Access-Control-Allow-Origin"] = origin
        fields["Access-Control-Allow-Credentials"] = "true"
    fields["Access-Control-Allow-Methods"] = ", ".join(rule.allowed_methods)
    if rule.expose_headers:
        fields["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if rule.max_age_seconds is not None:
        fields["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    fields["Vary"] = VARY
    return fields


async def preflight(ctx: S3Context) -> web.StreamResponse:
    """A CORS preflight (``OPTIONS /bucket[/key]``), unauthenticated, as S3 answers it."""
    ctx.operation = "PreflightCors"
    headers = ctx.request.headers
    origin = headers.get("Origin")
    if origin is None:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.")
    method = headers.get("Access-Control-Request-Method")
    if method is None:
        raise S3Error("BadRequest", "Invalid Access-Control-Request-Method: null")
    bucket = ctx.store.buckets.get(ctx.bucket_name)
    if bucket is None or not bucket.cors:
        raise S3Error("CORSResponse", NOT_ENABLED)
    requested = _requested_headers(headers.get("Access-Control-Request-Headers", ""))
    match = first_match(bucket.cors, origin, method, requested)
    if match is None:
        raise S3Error("CORSResponse", NOT_ALLOWED)
    rule, pattern = match
    fields = _rule_fields(rule, pattern, origin)
    if requested:
        fields["Access-Control-Allow-Headers"] = ", ".join(requested)
    return web.Response(status=200, headers=fields)


def actual_request_fields(ctx: S3Context) -> CIMultiDict[str] | None:
    """The CORS fields an answer to ``ctx`` gets: a request with an ``Origin`` on a bucket
    whose rules allow that origin and method (None otherwise). The method is the request's,
    or its ``Access-Control-Request-Method`` when it sends one (as S3 evaluates it, and Ceph's
    s3-tests ``test_cors_origin_response`` expects)."""
    origin = ctx.request.headers.get("Origin")
    if origin is None or ctx.address.bucket is None or ctx.request.method == "OPTIONS":
        return None
    bucket = ctx.store.buckets.get(ctx.address.bucket)
    if bucket is None or not bucket.cors:
        return None
    request = ctx.request
    method = request.headers.get("Access-Control-Request-Method", request.method)
    match = first_match(bucket.cors, origin, method)
    if match is None:
        return None
    rule, pattern = match
    credentialed = "Authorization" in request.headers or "X-Amz-Signature" in ctx.query
    return _rule_fields(rule, pattern, origin, credentialed=credentialed)
