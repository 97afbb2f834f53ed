"""Edge functions in the live edge: the four triggers around the cache step (docs/functions.md).

Rules: what a function may do and what its answer means are the core's (``cdn.functions``:
events, validation, skipping); running it is ``fn`` (a worker pool per Lambda@Edge function,
CloudFront Functions in-process). This module puts the triggers where CloudFront has them:

- viewer-request before the cache key: a changed uri / query string / headers is what is keyed
  and fetched; a generated response is sent as is and **not cached**, nothing else runs;
- origin-request only when the cache step fetches (never on hits): a changed request is
  fetched, from another origin only when it is one the topology names (anything else is a 502:
  a function can never make the edge an open proxy); a generated response is handed to the
  cache step as if the origin had sent it, so it is **cached under the request's key** and
  later hits never run the function;
- origin-response on what the origin sent, before the cache step stores it;
- viewer-response before the answer leaves (not when the origin's status is >= 400, nor for a
  response viewer-request generated), on hits too: an edge with a viewer-side function answers
  hits through ``Proxy.handle``, never from the wire fast path;
- failures answer the core's status (500 raised / crashed / out of memory, 502 invalid, 503
  throttled / timed out / CloudFront Function over budget) with ``Cache-Status: ...;
  detail=function-<kind>`` and ``X-Cache: ERROR``, and are never stored.

One ``FunctionHost`` per edge process (its metrics on the edge's registry, so on the edge's
``/_cdn/metrics``), one ``FunctionChain`` for the edge and one per behavior that names its own
functions (a behavior's association overrides the edge's, per trigger).

Over 400 lines on purpose: the four triggers of one request, the wire fast path's variant of
the first and the answers they make read best side by side (as the cache step's actions do).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from prometheus_client import CollectorRegistry

from cdn.functions.cloudfront_shapes import RequestShape
from cdn.functions.header_rules import same_headers
from cdn.functions.results import (
    ChangedResponse,
    ContinueRequest,
    FunctionFailed,
    GeneratedResponse,
    TriggerResult,
)
from cdn.functions.skipping import Passage
from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import FunctionKind, Trigger
from cdn.functions.values import (
    Distribution,
    EdgeRequest,
    EdgeResponse,
    FunctionInput,
    OriginTarget,
)
from cdn.gateway.behaviors import Behavior, Gateway
from cdn.http import cache_status_member
from edge.hits import Hits
from edge.recording import Recorder
from edge.routes import OriginRoute, fetch_routed
from edge.settings import EdgeSettings
from edge.upstream import PEER_HEADER, Clock, Fetched, Upstream
from edge.wire import HandOff, handed_over
from fn.chain import FunctionChain
from fn.cloudfront import CloudFrontFunction, RunFailed
from fn.host import FunctionHost
from fn.metrics import FunctionMetrics
from fn.pool import LambdaPool
from fn.pool import log as function_log

__all__ = [
    "FUNCTION_PASS",
    "EdgeFunctions",
    "FunctionAborted",
    "FunctionPass",
    "FunctionResponse",
    "WireRun",
]

INFO = logging.INFO
VR = Trigger.VIEWER_REQUEST
OREQ = Trigger.ORIGIN_REQUEST
ORESP = Trigger.ORIGIN_RESPONSE
VRESP = Trigger.VIEWER_RESPONSE
# Fields whose value the edge owns, whatever a response function returns (body framing).
_FRAMING = frozenset({"content-length", "transfer-encoding"})
# The wire fast path's request shapes (``EdgeFunctions.wire_hit``): at most this many kept.
_SHAPES_LIMIT = 1024
_SEEN = object()  # a shape seen once (kept from its second sighting on)
_UNSHAPED = object()  # a shape whose event cannot be kept (built for each request)


class FunctionAborted(Exception):
    """A function failed on a trigger inside the pipeline; ``Proxy.handle`` answers it."""

    def __init__(self, failed: FunctionFailed, trigger: Trigger) -> None:
        super().__init__(failed.message)
        self.failed = failed
        self.trigger = trigger


@dataclass(frozen=True, slots=True)
class WireRun:
    """viewer-request as the wire fast path ran it for a request it then handed to
    ``Proxy.handle``: the result, the request id it ran under, when the request arrived."""

    result: TriggerResult
    request_id: str
    started: float


class FunctionPass:
    """One request's walk past the triggers (the core's ``Passage``, kept as it happens)."""

    __slots__ = (
        "chain",
        "done",
        "functions",
        "generated_by",
        "origin_status",
        "ran",
        "request",
        "request_id",
        "to_origin",
    )

    def __init__(
        self, functions: EdgeFunctions, chain: FunctionChain, request: EdgeRequest, rid: str
    ) -> None:
        self.functions = functions
        self.chain = chain
        self.request = request  # as viewer-request left it
        self.request_id = rid
        self.to_origin = False
        self.origin_status: int | None = None
        self.generated_by: Trigger | None = None
        self.done = False  # a failure or a viewer-request answer: no viewer-response
        self.ran: WireRun | None = None  # viewer-request already run on the wire fast path

    def passage(self, status: int | None) -> Passage:
        """The core's view of this request so far, sending a response from ``status``."""
        origin_status = self.origin_status if self.origin_status is not None else status
        return Passage(self.to_origin, origin_status, self.generated_by)

    async def before_stream(self, out: web.StreamResponse) -> None:
        """viewer-response on a streamed answer, just before its head is sent."""
        if self.done or not self.chain.on(VRESP):
            return
        await self.functions.viewer_response_fields(self, out)


FUNCTION_PASS = web.RequestKey("cdnlab_function_pass", FunctionPass)


class _Body:
    """``response.content`` of a replaced body: one chunk."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def iter_chunked(self, size: int) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body


class FunctionResponse:
    """What the edge reads of an upstream answer (an aiohttp ClientResponse's surface), as a
    function left it: changed status and fields, the origin's body or the function's."""

    def __init__(
        self,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes | None,
        original: Any = None,
    ) -> None:
        self.status = status
        fields = CIMultiDict((k, v) for k, v in headers if k.lower() not in _FRAMING)
        if body is not None:
            self.content_length: int | None = len(body)
            self.content: Any = _Body(body)
        else:
            self.content_length = original.content_length if original is not None else 0
            self.content = original.content if original is not None else _Body(b"")
        if self.content_length is not None and status not in (204, 304):
            fields["Content-Length"] = str(self.content_length)
        self.headers = CIMultiDictProxy(fields)
        self.reason = getattr(original, "reason", None) or ""
        self._body = body
        self._original = original

    @property
    def original(self) -> Any:
        """The upstream's own response this one was made from; None for a generated answer."""
        return self._original

    async def read(self) -> bytes:
        if self._body is not None:
            return self._body
        return await self._original.read() if self._original is not None else b""

    def release(self) -> None:
        if self._original is not None:
            self._original.release()


@dataclass(frozen=True, slots=True)
class _Origins:
    """The origins functions may choose: shown targets by domain name, URLs by name."""

    targets: dict[str, OriginTarget]
    urls: dict[str, str]
    upstream: OriginTarget


def _origins(settings: EdgeSettings) -> _Origins:
    targets = {target.domain_name: target for target, _ in settings.function_origins}
    urls = {target.name: url for target, url in settings.function_origins}
    upstream = next(
        (t for t in targets.values() if t.name == settings.upstream_name),
        None,
    )
    if upstream is None:  # a single edge without a topology: its upstream is the only origin
        parts = urlsplit(settings.upstream_url)
        upstream = OriginTarget(
            settings.upstream_name,
            settings.upstream_name,  # shown by name, as a topology's nodes are
            parts.port or (443 if parts.scheme == "https" else 80),
            parts.scheme,
        )
        targets[upstream.domain_name] = upstream
        urls[upstream.name] = settings.upstream_url
    return _Origins(targets, urls, upstream)


def _chain_specs(settings: EdgeSettings) -> dict[str, FunctionSpec]:
    specs = {spec.name: spec for spec in settings.function_specs}
    for _, spec in settings.functions:
        specs.setdefault(spec.name, spec)
    return specs


def functions_active(settings: EdgeSettings) -> bool:
    """Whether this edge runs any function (on the edge or on one of its behaviors)."""
    if settings.functions:
        return True
    gateway = settings.gateway
    return gateway is not None and any(b.functions for b in gateway.behaviors)


class EdgeFunctions:
    """The functions of one edge process and how their answers are carried out."""

    def __init__(
        self,
        settings: EdgeSettings,
        registry: CollectorRegistry,
        recorder: Recorder,
        clock: Clock,
    ) -> None:
        self.name = settings.cache_status_name
        self.via = f"1.1 {settings.name}"
        self.upstream_kind = settings.upstream_kind
        self.recorder = recorder
        self.clock = clock
        specs = _chain_specs(settings)
        self.host = FunctionHost(specs.values(), metrics=FunctionMetrics(registry))
        self.origins = _origins(settings)
        own = dict(settings.functions)
        self.edge_chain = self.host.chain(own, self.origins.targets)
        self._by_behavior: dict[int, FunctionChain] = {}
        gateway: Gateway | None = settings.gateway
        for behavior in gateway.behaviors if gateway is not None else ():
            if behavior.functions:
                merged = dict(own)
                merged.update({t: specs[name] for t, name in behavior.functions})
                self._by_behavior[id(behavior)] = self.host.chain(merged, self.origins.targets)
        self._origin_only: dict[int, FunctionChain] = {}
        self._prefix = f"{os.getpid():x}-{os.urandom(3).hex()}-"
        self._ids = itertools.count(1)

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start stopping idle instances in the background (call with a running loop)."""
        self.host.start_reaping()

    async def close(self) -> None:
        """Stop reaping and every instance."""
        await self.host.close()

    # ---- which chain -------------------------------------------------------------------------
    def chain_for(self, behavior: Behavior | None) -> FunctionChain:
        """The chain of requests on ``behavior`` (the edge's own without one)."""
        if behavior is None:
            return self.edge_chain
        return self._by_behavior.get(id(behavior), self.edge_chain)

    def _origin_side(self, chain: FunctionChain) -> FunctionChain:
        origin_only = self._origin_only.get(id(chain))
        if origin_only is None:
            kept = {t: r for t, r in chain.functions.items() if not t.is_viewer}
            origin_only = FunctionChain(kept, chain.known_origins)
            self._origin_only[id(chain)] = origin_only
        return origin_only

    @staticmethod
    def viewer_side(chain: FunctionChain) -> bool:
        """Whether ``chain`` runs on hits (then the wire fast path may not answer them)."""
        return chain.on(VR) or chain.on(VRESP)

    @staticmethod
    def runs_any(chain: FunctionChain) -> bool:
        """Whether ``chain`` has any function."""
        return bool(chain.functions)

    @staticmethod
    def handed(request: web.Request) -> WireRun | None:
        """viewer-request as the wire fast path ran it for ``request`` (None: it did not)."""
        ran = handed_over(request)
        return ran if isinstance(ran, WireRun) else None

    def begin(
        self,
        request: web.Request,
        chain: FunctionChain,
        target: str,
        ran: WireRun | None = None,
    ) -> FunctionPass:
        """The pass of ``request`` (origin-form ``target``), remembered on the request;
        ``ran``: viewer-request already ran on the wire fast path (under its request id).

        A request from a peer of this edge's group ran the viewer triggers at the edge the
        viewer reached: here only the origin triggers run (this node fetches and stores)."""
        if PEER_HEADER in request.headers:
            chain = self._origin_side(chain)
        path, _, query = target.partition("?")
        viewer = EdgeRequest(
            request.method, path, query, tuple(request.headers.items()), request.remote or ""
        )
        rid = ran.request_id if ran is not None else self._prefix + str(next(self._ids))
        state = FunctionPass(self, chain, viewer, rid)
        state.ran = ran
        request[FUNCTION_PASS] = state
        return state

    # ---- the wire fast path ----------------------------------------------------------------------
    def wire_hit(self, hits: Hits, key_of: Callable[[str], str]) -> Any:
        """The wire fast path of an edge whose only viewer-side function is on viewer-request
        (None otherwise: hits then go through ``Proxy.handle``).

        A CloudFront Function runs on arrival (synchronously: it runs in-process) and a plain
        hit of the request as the function left it is answered there. The run is recorded
        only when it answers there; otherwise the request goes to ``Proxy.handle``, which runs
        the function again (its answer is the same: a CloudFront Function has no I/O) and
        records that run. A Lambda-style function: see ``_lambda_wire_hit``."""
        chain = self.edge_chain
        runner = chain.functions.get(VR)
        if chain.on(VRESP):
            return None
        if isinstance(runner, LambdaPool):
            return self._lambda_wire_hit(chain, hits, key_of)
        if not isinstance(runner, CloudFrontFunction):
            return None
        prefix, ids = self._prefix, self._ids
        distribution = Distribution()
        wire_hit_at = hits.wire_hit_at
        changes_now = chain.changes_now
        call = runner.caller()
        label = VR.value
        record = runner.record_call  # ``chain.record_now``, bound once: fewer lookups per hit
        # ``record_call`` in two calls: the tally of viewer-request, and its REPORT line only
        # when that is logged.
        observe: Callable[[float], None] | None = None  # the tally's, at the first hit
        report = runner.report_call
        reporting = function_log.isEnabledFor
        # This edge's request ids (the counter ``begin`` shares), made in one call per hit.
        request_ids = map(prefix.__add__, map(str, ids))
        # Request shapes seen on the wire: (method, target, client, fields) -> its RequestShape,
        # the fields a plain hit of its unchanged answer is looked up with (None: the viewer's
        # own), that answer's cache key, and [the last changed headers read, their fields];
        # _SEEN after the first sighting, _UNSHAPED when it cannot be kept.
        shapes: dict[tuple[Any, ...], Any] = {}

        def shaped(
            key: tuple[Any, ...], request: EdgeRequest
        ) -> tuple[RequestShape, CIMultiDictProxy[str] | None, str, list[Any]] | None:
            """The shape of a request seen a second time (None the first time)."""
            if len(shapes) >= _SHAPES_LIMIT:
                shapes.clear()
            known = shapes.get(key)
            if known is None:
                shapes[key] = _SEEN
                return None
            try:
                shape = RequestShape(request, distribution)
            except ValueError:
                shapes[key] = _UNSHAPED
                return None
            viewer = request.headers
            headers = shape.headers
            fields = (
                None
                if headers is viewer or same_headers(viewer, headers)
                else CIMultiDictProxy(CIMultiDict(headers))
            )
            uri, query = shape.uri, shape.querystring
            unchanged_key = key_of(f"{uri}?{query}" if query else uri)
            entry = shapes[key] = (shape, fields, unchanged_key, [None, None])
            return entry

        def hit(
            method: str,
            target: str,
            fields: CIMultiDictProxy[str],
            peer: str = "",
            scheme: str = "http",
        ) -> tuple[int, tuple[bytes, ...]] | None:
            key = (method, target, peer, tuple(fields.items()))
            entry = shapes.get(key)
            if type(entry) is not tuple:  # not a kept shape: None, _SEEN or _UNSHAPED
                shown = key[3]
                if entry is not _UNSHAPED:
                    # A kept shape would have been found (its key holds the target and every
                    # field): this request's are checked here once.
                    if target[:1] != "/" or PEER_HEADER in fields:
                        return None
                    path, _, query = target.partition("?")
                    entry = shaped(key, EdgeRequest(method, path, query, shown, peer))
                if entry is None or entry is _UNSHAPED:
                    return _built_each_time(method, target, fields, peer, shown)
            shape, unchanged_fields, unchanged_key, changed = entry
            request_id = next(request_ids)
            try:
                payload, used = call(shape.make_event(request_id))
            except RunFailed:
                return None  # ``Proxy.handle`` runs it again and answers the failure
            try:
                ran = shape.changes(payload)
            except Exception:  # e.g. an object whose ``__eq__`` raises: the full path reads it
                return None
            if ran is shape.unchanged:  # the usual answer: the request as it came
                ready = wire_hit_at(
                    method, unchanged_key, fields if unchanged_fields is None else unchanged_fields
                )
            elif ran is None:
                return None
            else:
                uri, query, headers = ran
                if headers is shape.headers:
                    if unchanged_fields is not None:
                        fields = unchanged_fields
                elif headers is changed[0]:  # read as last time (RequestShape keeps that reading)
                    fields = changed[1]
                elif not same_headers(key[3], headers):
                    fields = CIMultiDictProxy(CIMultiDict(headers))
                    changed[:] = (headers, fields)
                if uri is shape.uri and query is shape.querystring:
                    ready = wire_hit_at(method, unchanged_key, fields)
                else:
                    ready = wire_hit_at(method, key_of(f"{uri}?{query}" if query else uri), fields)
            if ready is not None:
                nonlocal observe
                if observe is None:
                    observe = runner.tally(label).observe
                observe(used)
                if reporting(INFO):
                    report(used, request_id)
            return ready

        def _built_each_time(
            method: str,
            target: str,
            fields: CIMultiDictProxy[str],
            peer: str,
            shown: tuple[tuple[str, str], ...],
        ) -> tuple[int, tuple[bytes, ...]] | None:
            """``hit`` for a request whose shape is not kept: its event built for it alone."""
            path, _, query = target.partition("?")
            given = FunctionInput(
                EdgeRequest(method, path, query, shown, peer),
                prefix + str(next(ids)),
                None,
                None,
                distribution,
            )
            ran = changes_now(given)
            if ran is None:
                return None
            uri, query, headers, used = ran
            if headers is not shown and not same_headers(shown, headers):
                fields = CIMultiDictProxy(CIMultiDict(headers))
            ready = wire_hit_at(method, key_of(f"{uri}?{query}" if query else uri), fields)
            if ready is not None:
                record(label, used, given.request_id)
            return ready

        return hit

    def _lambda_wire_hit(
        self, chain: FunctionChain, hits: Hits, key_of: Callable[[str], str]
    ) -> Any:
        """The wire fast path with a Lambda-style function on viewer-request.

        On arrival the invoke starts (``chain.run``, as ``Proxy.handle`` runs it: the same
        event, throttles, timeouts, metrics, REPORT line, answer reading and validation) and
        the wire gets a future of its answer. A ContinueRequest whose request (as the function
        left it) is a plain hit is answered with the hit's bytes; any other result (a
        generated response, a failure, a miss) is handed to ``Proxy.handle`` with the request
        (``edge.wire.HandOff``), which carries it out as its own run's (no second invoke)."""
        prefix, ids = self._prefix, self._ids
        distribution = Distribution()
        wire_hit_at = hits.wire_hit_at
        run = chain.run
        perf = time.perf_counter

        async def answer(
            method: str, fields: CIMultiDictProxy[str], given: FunctionInput, started: float
        ) -> tuple[int, tuple[bytes, ...]] | HandOff:
            result = await run(VR, given)
            if isinstance(result, ContinueRequest):
                changed = result.request
                shown = given.request.headers
                headers = changed.headers
                if headers is not shown and not same_headers(shown, headers):
                    fields = CIMultiDictProxy(CIMultiDict(headers))
                uri, query = changed.uri, changed.querystring
                ready = wire_hit_at(
                    method, key_of(f"{uri}?{query}" if query else uri), fields, None, started
                )
                if ready is not None:
                    return ready
            return HandOff(WireRun(result, given.request_id, started))

        def hit(
            method: str,
            target: str,
            fields: CIMultiDictProxy[str],
            peer: str = "",
            scheme: str = "http",
        ) -> asyncio.Future[Any] | None:
            if target[:1] != "/" or PEER_HEADER in fields:
                return None
            started = perf()
            path, _, query = target.partition("?")
            given = FunctionInput(
                EdgeRequest(method, path, query, tuple(fields.items()), peer),
                prefix + str(next(ids)),
                None,
                None,
                distribution,
            )
            return asyncio.ensure_future(answer(method, fields, given, started))

        return hit

    # ---- viewer-request ------------------------------------------------------------------------
    async def viewer_request(
        self, request: web.Request, state: FunctionPass, started: float
    ) -> web.StreamResponse | None:
        """Run viewer-request: None to go on (``state.request`` maybe changed), or the answer.

        A request the wire fast path handed over (``_lambda_wire_hit``) already ran it: that
        result is used as it is."""
        ran = state.ran
        if ran is not None:
            state.ran = None
            result: TriggerResult | None = ran.result
        else:
            result = await state.chain.run(VR, FunctionInput(state.request, state.request_id))
        if result is None:
            return None
        if isinstance(result, ContinueRequest):
            state.request = result.request
            return None
        state.done = True
        if isinstance(result, GeneratedResponse):
            state.generated_by = VR
            return self.generated(request, result, state.chain, started)
        return self.failed(request, _failure(result), VR, started)

    # ---- origin side ---------------------------------------------------------------------------
    async def fetch(
        self,
        state: FunctionPass,
        upstream: Upstream,
        method: str,
        target: str,
        fields: list[tuple[str, str]],
        *,
        key: str,
        allow_peers: bool,
        data: Any = None,
        route: OriginRoute | None = None,
    ) -> Fetched:
        """``upstream.fetch`` with origin-request before and origin-response after.

        ``route`` (a behavior's own origin or origin group, edge.routes) is fetched instead of
        the edge's upstream unless a function selects another origin; it never goes via peers.
        Raises FunctionAborted when a function fails, UpstreamError as ``fetch`` does."""
        chain = state.chain
        if route is not None:
            allow_peers = False
        if allow_peers and upstream.peers:
            # The key's owner peer fetches (and runs the origin triggers, as it stores);
            # its answer is served here as it is.
            fetched = await upstream.from_peers(method, target, fields, key=key, data=data)
            if fetched is not None:
                return fetched
            allow_peers = False
        state.to_origin = True
        origin = self.origins.upstream
        url: str | None = None
        if chain.on(OREQ):
            path, _, query = target.partition("?")
            shown = EdgeRequest(method, path, query, tuple(fields), state.request.client_ip, None)
            given = FunctionInput(shown, state.request_id, origin=origin)
            result = await chain.run(OREQ, given, state.passage(None))
            if isinstance(result, FunctionFailed):
                raise FunctionAborted(result, OREQ)
            if isinstance(result, GeneratedResponse):
                state.generated_by = OREQ
                return self._generated_fetch(result, chain)
            if isinstance(result, ContinueRequest):
                changed = result.request
                target = changed.uri + (f"?{changed.querystring}" if changed.querystring else "")
                fields = list(changed.headers)
                if result.origin is not None:
                    origin = result.origin
                    url = self.origins.urls[origin.name]
        if url is None and route is not None:
            fetched = await fetch_routed(upstream, route, method, target, fields, data)
        elif url is None:
            fetched = await upstream.fetch(
                method, target, fields, key=key, allow_peers=allow_peers, data=data
            )
        else:
            kind = "origin" if origin.name == self._origin_name() else "shield"
            fetched = await upstream.fetch_at(kind, origin.name, url, method, target, fields, data)
        if chain.on(ORESP):
            fetched = await self._origin_response(state, fetched, origin)
        return fetched

    def _origin_name(self) -> str:
        """The name of the topology's origin (the first of the known origins)."""
        return next(iter(self.origins.urls))

    async def _origin_response(
        self, state: FunctionPass, fetched: Fetched, origin: OriginTarget
    ) -> Fetched:
        response = fetched.response
        status = response.status
        shown = EdgeResponse(status, tuple(response.headers.items()), response.reason or "")
        given = FunctionInput(state.request, state.request_id, response=shown, origin=origin)
        result = await state.chain.run(ORESP, given, state.passage(status))
        if result is None:
            return fetched
        if isinstance(result, FunctionFailed):
            fetched.release()
            raise FunctionAborted(result, ORESP)
        assert isinstance(result, ChangedResponse)
        changed = result.response
        fetched.response = FunctionResponse(  # type: ignore[assignment]
            changed.status, changed.headers, changed.body, response
        )
        return fetched

    def _generated_fetch(self, result: GeneratedResponse, chain: FunctionChain) -> Fetched:
        """An origin-request answer as if the origin had sent it (the cache step keeps it)."""
        answer = result.response
        now = self.clock()
        runner = chain.functions[OREQ]
        return Fetched(
            FunctionResponse(answer.status, answer.headers, answer.body or b""),  # type: ignore[arg-type]
            self.upstream_kind,
            f"function:{runner.spec.name}",
            now,
            now,
            0.0,
            0.0,
        )

    # ---- viewer-response -------------------------------------------------------------------------
    async def viewer_response(
        self,
        request: web.Request,
        state: FunctionPass,
        response: web.StreamResponse,
        started: float,
    ) -> web.StreamResponse:
        """Run viewer-response on an answer not yet sent; the answer to send."""
        try:
            await self.viewer_response_fields(state, response)
        except FunctionAborted as aborted:
            return self.failed(request, aborted.failed, VRESP, started)
        return response

    async def viewer_response_fields(
        self, state: FunctionPass, response: web.StreamResponse
    ) -> None:
        """Apply viewer-response to ``response``'s fields (and body, for a whole Response)."""
        status = response.status
        shown = EdgeResponse(status, tuple(response.headers.items()), response.reason or "")
        given = FunctionInput(state.request, state.request_id, response=shown)
        result = await state.chain.run(VRESP, given, state.passage(status))
        if result is None:
            return
        if isinstance(result, FunctionFailed):
            state.done = True
            raise FunctionAborted(result, VRESP)
        assert isinstance(result, ChangedResponse)
        changed = result.response
        headers = response.headers
        kept = [(k, v) for k, v in headers.items() if k.lower() in _FRAMING]
        headers.clear()
        headers.extend((k, v) for k, v in changed.headers if k.lower() not in _FRAMING)
        headers.extend(kept)
        if changed.body is not None and isinstance(response, web.Response):
            headers.popall("Content-Length", None)
            response.body = changed.body

    # ---- answers ---------------------------------------------------------------------------------
    def generated(
        self,
        request: web.Request,
        result: GeneratedResponse,
        chain: FunctionChain,
        started: float,
    ) -> web.Response:
        """A viewer-request function's own answer: sent as is, never stored."""
        answer = result.response
        runner = chain.functions[VR]
        lambda_edge = runner.spec.kind is FunctionKind.LAMBDA_EDGE
        fields = [(k, v) for k, v in answer.headers if k.lower() not in _FRAMING]
        fields += [
            ("Via", self.via),
            ("Cache-Status", cache_status_member(self.name, detail="function-generated")),
            (
                "X-Cache",
                "LambdaGeneratedResponse" if lambda_edge else "FunctionGeneratedResponse",
            ),
        ]
        body = answer.body or b""
        code = answer.status
        send = body if code not in (204, 304) and request.method != "HEAD" else None
        self.recorder.count("bypass", started, len(send or b""), "upstream")
        if self.recorder.logging:
            self.recorder.log(request, code, "bypass", started, len(send or b""))
        response = web.Response(status=code, headers=fields, body=send)
        if answer.status_description:
            response.set_status(code, answer.status_description)
        return response

    def failed(
        self, request: web.Request, failed: FunctionFailed, trigger: Trigger, started: float
    ) -> web.Response:
        """The answer to a function failure: its status, a line saying what failed."""
        code = failed.status
        body = f"{code} {trigger} function failed ({failed.kind.value}): {failed.message}\n"
        fields = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("Via", self.via),
            ("Cache-Status", cache_status_member(self.name, detail=f"function-{failed.kind}")),
            ("X-Cache", "ERROR"),
        ]
        self.recorder.count("error", started, 0, "upstream")
        if self.recorder.logging:
            self.recorder.log(request, code, "error", started, len(body))
        return web.Response(status=code, headers=fields, body=body.encode())


def _failure(result: TriggerResult) -> FunctionFailed:
    assert isinstance(result, FunctionFailed)
    return result
