"""The storage node's aiohttp app: S3 routes, ``/_cdn/health`` and ``/_cdn/metrics``.

Rules: every answer carries ``x-amz-request-id`` (and errors repeat it in their XML); refusals
are ``S3Error`` turned into S3's XML error at this boundary, and anything unexpected becomes
500 InternalError with the traceback logged, never an aiohttp error page. With keys
configured, each request is verified (storage.auth) before its body is read; anonymous
requests may only GET/HEAD objects and listings of ``--public-read`` buckets. CORS
preflights (``OPTIONS``) are answered before authentication (storage.cors).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from serving.pages import json_page, metrics_page
from serving.purge_notify import PurgeNotifier
from storage import attributes, buckets, cors, multipart, objects, tagging
from storage.addressing import address_of
from storage.context import S3Context
from storage.errors import S3Error
from storage.metrics import StorageMetrics
from storage.principal import ANONYMOUS
from storage.settings import StorageSettings
from storage.state import METRICS, NOTIFIER, SETTINGS, STORE, VERIFIER
from storage.store import Store
from storage.xmlpages import error_xml

__all__ = ["create_app"]

log = logging.getLogger("cdnlab.storage")

_REQUEST_ID = web.RequestKey("s3_request_id", str)
_OPERATION = web.RequestKey("s3_operation", S3Context)
_ids = itertools.count(1)
_ID_PREFIX = os.urandom(4).hex().upper()

Handler = Callable[[S3Context], Awaitable[web.StreamResponse]]

# Sub-resources S3 has and this server does not (answered 501 NotImplemented, not misread).
_UNSUPPORTED = frozenset(
    [
        "accelerate",
        "acl",
        "analytics",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "torrent",
        "versioning",
        "website",
    ]
)


def _request_id() -> str:
    return f"{_ID_PREFIX}{next(_ids):08X}"


def _route(ctx: S3Context) -> Handler:
    """The operation a request asks for."""
    method = ctx.request.method
    query = ctx.query
    if method == "OPTIONS" and ctx.address.bucket is not None:
        return cors.preflight  # preflights are never signed: answered before authentication
    unsupported = _UNSUPPORTED.intersection(query)
    if "tagging" in query and ctx.address.bucket is not None and ctx.address.key is None:
        unsupported = {"tagging"}  # bucket tagging: not served (object tagging is)
    if unsupported:
        raise S3Error(
            "NotImplemented", f"the ?{sorted(unsupported)[0]} sub-resource is not supported"
        )
    if ctx.address.bucket is None:
        if method in ("GET", "HEAD"):
            return buckets.list_buckets
    elif ctx.address.key is None:
        if method in ("GET", "HEAD") and "uploads" in query:
            return multipart.list_uploads
        if method in ("GET", "HEAD") and "versions" in query:
            return buckets.list_object_versions
        if method in ("GET", "HEAD") and "location" in query:
            return buckets.get_bucket_location
        if "cors" in query:
            cors_table: dict[str, Handler] = {
                "GET": cors.get_bucket_cors,
                "HEAD": cors.get_bucket_cors,
                "PUT": cors.put_bucket_cors,
                "DELETE": cors.delete_bucket_cors,
            }
            if method in cors_table:
                return cors_table[method]
        table: dict[str, Handler] = {
            "GET": buckets.list_objects,
            "HEAD": buckets.head_bucket,
            "PUT": buckets.create_bucket,
            "DELETE": buckets.delete_bucket,
        }
        if method == "POST" and "delete" in query:
            return objects.delete_objects
        if method in table:
            return table[method]
    else:
        if "tagging" in query:
            tagging_table: dict[str, Handler] = {
                "GET": tagging.get_object_tagging,
                "PUT": tagging.put_object_tagging,
                "DELETE": tagging.delete_object_tagging,
            }
            if method in tagging_table:
                return tagging_table[method]
        upload = "uploadId" in query
        if method == "PUT":
            return multipart.upload_part if upload and "partNumber" in query else objects.put_object
        if method == "GET" and "attributes" in query:
            return attributes.get_object_attributes
        if method in ("GET", "HEAD"):
            return multipart.list_parts if upload and method == "GET" else objects.get_object
        if method == "DELETE":
            return multipart.abort_upload if upload else objects.delete_object
        if method == "POST" and "uploads" in query:
            return multipart.create_upload
        if method == "POST" and upload:
            return multipart.complete_upload
    raise S3Error(
        "MethodNotAllowed",
        f"{method} is not allowed on {ctx.address.resource[:200]}",
        Method=method,
        ResourceType="SERVICE" if ctx.address.bucket is None else "OBJECT",
    )


def _anonymous_allowed(ctx: S3Context, handler: Handler) -> bool:
    return (
        ctx.address.bucket in ctx.settings.public_read
        and ctx.request.method in ("GET", "HEAD")
        and handler
        in (
            objects.get_object,
            buckets.list_objects,
            buckets.head_bucket,
            buckets.list_object_versions,
        )
    )


def _authorized(request: web.Request) -> tuple[S3Context, Handler]:
    """The request's context and operation once its signature (if any) is checked."""
    app = request.app
    settings = app[SETTINGS]
    address = address_of(
        request.raw_path, request.headers.get("Host", ""), settings.virtual_host_base
    )
    ctx = S3Context(
        request=request,
        address=address,
        query=dict(address.query),
        principal=ANONYMOUS,
        store=app[STORE],
        settings=settings,
        notifier=app.get(NOTIFIER),
    )
    request[_OPERATION] = ctx
    handler = _route(ctx)
    verifier = app.get(VERIFIER)
    if verifier is not None and handler is not cors.preflight:
        ctx.principal = verifier.verify(
            request.method,
            address.raw_path,
            address.query,
            request.headers,
            lambda name: request.headers.getall(name, []),
        )
        if ctx.principal.access_key is None and not _anonymous_allowed(ctx, handler):
            raise S3Error(
                "AccessDenied", "Access Denied (sign the request, or read a public bucket)"
            )
    return ctx, handler


async def s3_request(request: web.Request) -> web.StreamResponse:
    """Every S3 request: address, authenticate, dispatch."""
    ctx, handler = _authorized(request)
    return await handler(ctx)


async def expect_continue(request: web.Request) -> web.StreamResponse | None:
    """``Expect: 100-continue``: refuse a request S3 would refuse before its body is sent
    (a bad signature, a missing bucket, a method not allowed), else send ``100 Continue``."""
    try:
        ctx, _ = _authorized(request)
        writes_into_bucket = request.method == "POST" or (
            request.method == "PUT" and ctx.address.key is not None
        )
        if ctx.address.bucket is not None and writes_into_bucket:
            ctx.bucket()
    except S3Error as exc:
        request_id = _request_id()
        request[_REQUEST_ID] = request_id
        response = _error_response(request, exc, request_id)
        response.force_close()  # the body was never read: this connection cannot go on
        return response
    if request.version >= (1, 1) and request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return None


@web.middleware
async def s3_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Request ids, S3 XML errors, and one metrics sample per request."""
    request_id = _request_id()
    request[_REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except S3Error as exc:
        status = exc.status
        return _error_response(request, exc, request_id)
    except web.HTTPException as exc:
        status = exc.status
        raise
    except (ConnectionError, TimeoutError):
        status = 499
        raise
    except Exception:
        log.exception("storage: unexpected error answering %s %s", request.method, request.path)
        error = S3Error("InternalError", "we encountered an internal error; please try again")
        return _error_response(request, error, request_id)
    finally:
        ctx = request.get(_OPERATION)
        if ctx is not None:
            request.app[METRICS].observe(ctx.operation, status, time.perf_counter() - started)


def _error_response(request: web.Request, error: S3Error, request_id: str) -> web.Response:
    ctx = request.get(_OPERATION)
    resource = ctx.address.resource if ctx is not None else request.path
    headers = {"x-amz-request-id": request_id}
    if error.code == "InvalidRange" and "ActualObjectSize" in error.extra:
        headers["Content-Range"] = f"bytes */{error.extra['ActualObjectSize']}"
    if request.method == "HEAD":
        return web.Response(status=error.status, headers=headers)
    return web.Response(
        status=error.status,
        body=error_xml(error, resource, request_id),
        content_type="application/xml",
        headers=headers,
    )


async def _stamp_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    ctx = request.get(_OPERATION)
    if ctx is not None and "Origin" in request.headers:
        fields = cors.actual_request_fields(ctx)
        if fields is not None:
            response.headers.update(fields)
    request_id = request.get(_REQUEST_ID)
    if request_id is not None:
        response.headers["x-amz-request-id"] = request_id
        response.headers.setdefault("x-amz-id-2", request_id)
    response.headers.setdefault("Server", "cdnlab-storage")


async def health(request: web.Request) -> web.Response:
    """Liveness and a summary: buckets, objects, pending purge notifications."""
    store = request.app[STORE]
    notifier = request.app.get(NOTIFIER)
    return json_page(
        {
            "status": "ok",
            "node": request.app[SETTINGS].name,
            "role": "storage",
            "buckets": len(store.buckets),
            "objects": sum(len(b.keys) for b in store.buckets.values()),
            "pending_purges": notifier.pending if notifier is not None else 0,
        }
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition of this node."""
    return metrics_page(request.app[METRICS].exposition())


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Open the store (removing debris of crashed writes) and run the purge notifier."""
    store = app[STORE]
    removed = store.open()
    if removed:
        log.info("storage: removed %d temporary files of interrupted writes", removed)
    notifier = app.get(NOTIFIER)
    if notifier is not None:
        await notifier.start()
    yield
    if notifier is not None:
        await notifier.drained(timeout=2.0)
        await notifier.close()


def create_app(
    settings: StorageSettings, *, clock: Callable[[], float] = time.time
) -> web.Application:
    """The storage app for ``settings`` (``clock``: time of writes and signature checks)."""
    app = web.Application(middlewares=[s3_errors], client_max_size=1024**4)
    store = Store(settings.data, clock=clock)
    app[SETTINGS] = settings
    app[STORE] = store
    if settings.keys:
        from serving.sigv4 import self_test  # botocore: only when keys are set
        from storage.auth import StorageAuth

        self_test()
        app[VERIFIER] = StorageAuth(dict(settings.keys), clock=clock)
    notifier: PurgeNotifier | None = None
    if settings.purge_targets or settings.notify_url:
        notifier = PurgeNotifier(
            settings.purge_targets, settings.admin_token, webhook=settings.notify_url
        )
        app[NOTIFIER] = notifier
    app[METRICS] = StorageMetrics(
        pending_purges=lambda: notifier.pending if notifier is not None else 0,
        objects=lambda: sum(len(b.keys) for b in store.buckets.values()),
    )
    app.cleanup_ctx.append(_lifecycle)
    app.on_response_prepare.append(_stamp_request_id)
    app.router.add_get("/_cdn/health", health, allow_head=True)
    app.router.add_get("/_cdn/metrics", metrics)
    # [\s\S], not '.': an object key may hold a newline, and '.' would not match it (404).
    app.router.add_route("*", r"/{tail:[\s\S]*}", s3_request, expect_handler=expect_continue)
    return app
