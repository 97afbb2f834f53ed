"""The cdn kv aiohttp application: the DynamoDB JSON protocol, the read facade, /_cdn/ routes.

Rules: ``POST /`` with ``X-Amz-Target: DynamoDB_20120810.<Operation>`` runs the operation;
answers are ``application/x-amz-json-1.0`` with ``x-amz-crc32`` (boto3 checks it) and errors
are HTTP 400 ``{"__type", "message"}``; an error of ours is a logged 500, never a traceback.
With credentials configured every API call must carry a valid SigV4 signature
(serving.sigv4). Every write purges the facade URLs it changed on every cache (kv.purging):
confirmed before the answer when the caches confirm within ``purge_wait``, else retried in
the background (serving.purge_notify).
``GET /`` answers like DynamoDB's health check; ``GET /tables/...`` is the read facade
(kv.facade) with ETag, If-None-Match and the topology's cache rule headers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from cdn.topology.model import rule_for
from cdn.topology.rules import rule_headers
from kv import facade
from kv.database import Database
from kv.errors import DynamoError, RequestTooLarge, SerializationError, UnknownOperation
from kv.metrics import KvMetrics
from kv.operations import OPERATIONS
from kv.purging import WritePurger
from kv.settings import KvSettings
from serving.pages import json_page, metrics_page
from serving.purge_notify import PurgeNotifier
from serving.sigv4 import Refusal, SignatureError, SigV4Verifier, decoded_query, self_test

__all__ = ["DATABASE", "NOTIFIER", "PURGER", "create_app"]

log = logging.getLogger("cdnlab.kv")

SETTINGS = web.AppKey("settings", KvSettings)
DATABASE = web.AppKey("database", Database)
NOTIFIER = web.AppKey("notifier", PurgeNotifier)
PURGER = web.AppKey("purger", WritePurger)
METRICS = web.AppKey("metrics", KvMetrics)
VERIFIER = web.AppKey("verifier", SigV4Verifier)  # only when credentials are set

_SERVICE = "DynamoDB_20120810"
_KNOWN = frozenset(OPERATIONS)  # metric labels: known operation names, the rest "unknown"
_JSON = "application/x-amz-json-1.0"


_REQUEST_IDS = itertools.count()
_BOOT = uuid.uuid4().hex[:16]
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # DynamoDB refuses larger requests (HTTP 413)


def _answer(data: bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=data,
        status=status,
        headers={
            "Content-Type": _JSON,
            "x-amz-crc32": str(zlib.crc32(data)),
            # Unique per answer: a random prefix per process and a counter (uuid4 costs more).
            "x-amzn-RequestId": f"{_BOOT}{next(_REQUEST_IDS):016x}",
        },
    )


# DynamoDB's error type and, where AWS's wording is well known, its message, per refusal.
_DYNAMO_REFUSALS: dict[Refusal, tuple[str, str | None]] = {
    Refusal.MISSING: (
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    ),
    Refusal.UNSUPPORTED: ("IncompleteSignatureException", None),
    Refusal.MALFORMED: ("IncompleteSignatureException", None),
    Refusal.MALFORMED_QUERY: ("IncompleteSignatureException", None),
    Refusal.UNKNOWN_KEY: (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    Refusal.WRONG_SERVICE: ("InvalidSignatureException", None),
    Refusal.SKEWED: ("InvalidSignatureException", None),
    Refusal.EXPIRED: ("InvalidSignatureException", None),
    Refusal.NOT_YET_VALID: ("InvalidSignatureException", None),
    Refusal.PAYLOAD_MISMATCH: ("InvalidSignatureException", None),
    Refusal.MISMATCH: (
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details.",
    ),
}


def authenticate(
    verifier: SigV4Verifier,
    method: str,
    raw_path: str,
    raw_query: str,
    get_all: Callable[[str], list[str]],
    body: bytes,
) -> str:
    """The access key that signed a DynamoDB call; DynamoError in DynamoDB's words if none did."""
    try:
        signed = verifier.verify(
            method,
            raw_path,
            decoded_query(raw_query),
            get_all,
            body_sha256=hashlib.sha256(body).hexdigest(),
        )
        if signed is None:
            raise SignatureError(Refusal.MISSING, "no signature")
    except SignatureError as exc:
        kind, message = _DYNAMO_REFUSALS[exc.reason]
        raise DynamoError(message or exc.message, kind=kind) from None
    return signed.access_key


def _authenticate(request: web.Request, body: bytes) -> None:
    verifier = request.app.get(VERIFIER)
    if verifier is None:
        return
    authenticate(
        verifier,
        request.method,
        request.raw_path.split("?", 1)[0],
        request.query_string,
        lambda name: request.headers.getall(name, []),
        body,
    )


async def dynamodb(request: web.Request) -> web.Response:
    """One DynamoDB API call."""
    app = request.app
    started = time.perf_counter()
    operation = "unknown"
    try:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise RequestTooLarge(
                f"Request size exceeds the limit of {MAX_REQUEST_BYTES} bytes"
            ) from None
        service, _, name = request.headers.get("X-Amz-Target", "").partition(".")
        if service != _SERVICE or not name:
            raise UnknownOperation(
                f"An unknown operation was requested: {request.headers.get('X-Amz-Target', '')!r}"
                f" (expected X-Amz-Target: {_SERVICE}.<Operation>)"
            )
        operation = name
        _authenticate(request, body)
        try:
            payload = json.loads(body) if body else {}
        except ValueError as exc:
            raise SerializationError(f"the request body is not JSON: {exc}") from None
        except RecursionError:
            raise SerializationError(
                "the request body nests JSON too deeply (DynamoDB documents nest 32 levels at most)"
            ) from None
        if not isinstance(payload, dict):
            raise SerializationError("the request body must be a JSON object")
        outcome = await app[DATABASE].call(operation, payload)
        data = (
            outcome.body
            if isinstance(outcome.body, bytes)
            else json.dumps(outcome.body, separators=(",", ":"), ensure_ascii=False).encode()
        )
        if outcome.changes and app[SETTINGS].purge_targets:
            await app[PURGER].purge([p for c in outcome.changes for p in facade.purges_for(c)])
        response = _answer(data)
        outcome_label = "ok"
    except DynamoError as exc:
        response = _answer(json.dumps(exc.body()).encode(), exc.status)
        outcome_label = exc.kind
    except Exception:
        log.exception("internal error in %s", operation)
        error = DynamoError(
            "The server encountered an internal error trying to fulfill the request"
        )
        response = _answer(json.dumps(error.body()).encode(), 500)
        outcome_label = "InternalServerError"
    app[METRICS].observe(
        operation if operation in _KNOWN else "unknown",
        outcome_label,
        time.perf_counter() - started,
    )
    return response


async def root(request: web.Request) -> web.Response:
    """DynamoDB's unsigned health check answer."""
    return web.Response(text=f"healthy: dynamodb.{request.app[SETTINGS].region}.amazonaws.com ")


async def read_facade(request: web.Request) -> web.Response:
    """``GET /tables/{table}/items/{pk}[/{sk}]``: plain JSON, cacheable, with an ETag."""
    app = request.app
    table = request.match_info["table"]
    segments = [request.match_info["pk"]]
    if "sk" in request.match_info:
        segments.append(request.match_info["sk"])
    try:
        limit = int(request.query["limit"]) if "limit" in request.query else None
        if limit is not None and limit < 1:
            raise ValueError
    except ValueError:
        app[METRICS].facade.labels("400").inc()
        return web.json_response({"error": "limit must be a positive integer"}, status=400)
    order = request.query.get("order", "asc")
    if order not in ("asc", "desc"):
        app[METRICS].facade.labels("400").inc()
        return web.json_response({"error": "order must be asc or desc"}, status=400)
    try:
        canonical = await app[DATABASE].read(
            lambda store: facade.canonical_path(store, table, segments)
        )
        if canonical is not None and canonical != request.raw_path.split("?", 1)[0]:
            app[METRICS].facade.labels("301").inc()
            query = request.query_string
            raise web.HTTPMovedPermanently(
                canonical + (f"?{query}" if query else ""),
                headers={"Cache-Control": "public, max-age=86400"},
            )
        status, text, tags = await app[DATABASE].read(
            lambda store: facade.read(store, table, segments, limit, order == "asc")
        )
    except DynamoError as exc:
        app[METRICS].facade.labels("400").inc()
        return web.json_response({"error": exc.message}, status=400)
    data = text.encode()
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    rule = rule_for(app[SETTINGS].cache_rules, request.path)
    headers = dict(rule_headers(rule, None, time.time())) if status == 200 else {}
    headers["Cache-Control"] = (
        headers.get("Cache-Control", "no-cache") if status == 200 else "no-store"
    )
    if tags:
        headers["Surrogate-Key"] = " ".join([*headers.get("Surrogate-Key", "").split(), *tags])
    headers["ETag"] = etag
    app[METRICS].facade.labels(str(status)).inc()
    if status == 200 and etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, status=status, content_type="application/json", headers=headers)


async def health(request: web.Request) -> web.Response:
    """200 with the node's name, role and file."""
    settings = request.app[SETTINGS]
    return json_page(
        {
            "status": "ok",
            "role": "origin",
            "kind": "kv",
            "name": settings.name,
            "data": settings.data,
            "purges_pending": request.app[NOTIFIER].pending,
        }
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this app's registry."""
    return metrics_page(request.app[METRICS].exposition())


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[DATABASE].open()
    await app[NOTIFIER].start()
    await app[PURGER].start()
    yield
    await app[PURGER].close()
    await app[NOTIFIER].drained(2.0)
    await app[NOTIFIER].close()
    await app[DATABASE].close()


def create_app(settings: KvSettings, database: Database | None = None) -> web.Application:
    """The cdn kv app for ``settings`` (``database``: a Database to use, e.g. with a test clock)."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    notifier = PurgeNotifier(settings.purge_targets, settings.admin_token)
    app[SETTINGS] = settings
    app[DATABASE] = database or Database(settings.data, settings.synchronous)
    app[NOTIFIER] = notifier
    app[PURGER] = WritePurger(
        settings.purge_targets, settings.admin_token, notifier, settings.purge_wait
    )
    app[METRICS] = KvMetrics(lambda: notifier.pending)
    if settings.credentials:
        self_test()  # refuse to start if botocore's internals changed under the verifier
        app[VERIFIER] = SigV4Verifier(settings.credentials, service="dynamodb")
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_post("/", dynamodb)
    app.router.add_get("/", root)
    app.router.add_get("/_cdn/health", health, allow_head=True)
    app.router.add_get("/_cdn/metrics", metrics)
    app.router.add_get("/tables/{table}/items/{pk}", read_facade)
    app.router.add_get("/tables/{table}/items/{pk}/{sk}", read_facade)
    return app
