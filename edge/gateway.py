"""The gateway checks of the live edge: the core's ``cdn.gateway.Admission`` before the cache step.

Rules: the decisions (behavior, methods, CORS, signed URLs, API keys, usage plans, client
limits, the cache key) are the core's; this module reads them off aiohttp requests, writes
the core's ``Answered`` with the edge's conventions (Via, ``Cache-Status: ...; detail=<category>``,
``X-Cache: ERROR``, ``Cache-Control: no-store``), counts them in
``cdnlab_edge_gateway_refusals_total{node,category}`` and logs the reason (never in the body).
A gateway with only the default behavior (``cdn.gateway.default_gateway``) is not active: the
edge then runs without any of this (``gateway_active``).

The wire fast path (``edge.wire``, answering hits on arrival) must not bypass a check, and it
answers only from the cache: ``wire_key`` gives the cache key of a GET/HEAD only when the
behavior's admission is stateless and adds no response fields (no API key, rate limit, CORS
origin or protocol policy to apply; a signed URL is checked there too, without the client
address); otherwise None, and the request goes to ``Proxy.handle``, which admits it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from aiohttp import web

from cdn.gateway.admission import Admission, Admitted, Answered, ViewerRequest
from cdn.gateway.behaviors import Behavior, Gateway, default_gateway
from cdn.http import CacheConfig, cache_status_member
from edge.metrics import EdgeMetrics
from edge.recording import Recorder

__all__ = ["RESPONSE_FIELDS", "EdgeGateway", "add_response_fields", "gateway_active"]

log = logging.getLogger("cdnlab.edge")

# Where Proxy.handle leaves an Admitted's response fields for the response (request key).
RESPONSE_FIELDS = web.RequestKey("cdnlab_gateway_fields", tuple)


def gateway_active(gateway: Gateway | None) -> bool:
    """Whether ``gateway`` asks anything of a request beyond the default behavior."""
    if gateway is None:
        return False
    return gateway != default_gateway(gateway.behaviors[-1].target_origin)


def _wire_safe(behavior: Behavior) -> bool:
    """Whether admitting a GET/HEAD on ``behavior`` is stateless and adds no response fields
    (CORS is checked per request: it depends on the Origin field).

    Signed URLs are: checking one changes no state (verified signatures are only remembered),
    and the wire path checks it without the client address, so a policy with an IpAddress
    condition is refused there and goes to ``Proxy.handle``, which checks it with the address.
    """
    return not (
        behavior.api_key_required
        or behavior.client_rate_limit is not None
        or behavior.viewer_protocol_policy != "allow-all"
    )


class EdgeGateway:
    """One edge node's admission (its rate-limit state) and how its answers are written."""

    def __init__(
        self,
        gateway: Gateway,
        api_key_values: Mapping[str, str],
        name: str,
        via: str,
        metrics: EdgeMetrics,
        recorder: Recorder,
        key_of: Callable[[str], str],
        clock: Callable[[], float],
        config: CacheConfig,
    ) -> None:
        self.admission = Admission(gateway, api_key_values)
        self.gateway = gateway
        self.name = name
        self.via = via
        self.recorder = recorder
        self.key_of = key_of
        self.clock = clock
        self.refusals = metrics.gateway_refusals
        self._wire_safe = {id(b): _wire_safe(b) for b in gateway.behaviors}
        self._configs = {id(b): b.cache_config(config) for b in gateway.behaviors}

    def config_for(self, behavior: Behavior) -> CacheConfig:
        """The cache step's config for requests of ``behavior``: the node's, with the
        behavior's TTL bounds (``Behavior.cache_config``)."""
        return self._configs[id(behavior)]

    def admit(self, request: web.Request, method: str, target: str) -> Admitted | Answered:
        """The core's decision for ``request`` (``target`` in origin form)."""
        path, _, query = target.partition("?")
        viewer = ViewerRequest(
            method,
            request.scheme,
            request.host,
            path,
            query,
            request.headers,  # case-insensitive: lower-case lookups work as is
            request.remote or "",
        )
        return self.admission.admit(viewer, self.clock())

    def cache_key(self, admitted: Admitted) -> str:
        """The primary cache key of an admitted request: its key target, then its suffix."""
        return self.key_of(admitted.key_target) + admitted.key_suffix

    def wire_key(self, method: str, target: str, fields: Mapping[str, str]) -> str | None:
        """The cache key of a GET/HEAD the wire fast path may answer from the cache, or None
        (the request goes to ``Proxy.handle`` and its admission)."""
        path, _, query = target.partition("?")
        behavior = self.gateway.behavior_for(path)
        if not self._wire_safe[id(behavior)] or (behavior.cors is not None and "origin" in fields):
            return None
        # Stateless on this behavior: the core's own decision, without the client address
        # (a signed URL's IP condition then refuses here, and handle checks it with the
        # address; client limits read it too, and those behaviors are not wire-safe).
        viewer = ViewerRequest(method, "http", fields.get("host", ""), path, query, fields, "")
        admitted = self.admission.admit(viewer, self.clock())
        if not isinstance(admitted, Admitted) or admitted.response_fields:
            return None
        return self.cache_key(admitted)

    def answer(self, request: web.Request, answered: Answered, started: float) -> web.Response:
        """Write the gateway's own answer; count it and log its reason."""
        counter = self.refusals.get(answered.category)
        if counter is not None:
            counter.inc()
        log.info(
            "gateway %s %s %s: %d %s (%s)",
            request.remote,
            request.method,
            request.raw_path,
            answered.status,
            answered.category,
            answered.reason,
        )
        fields = [
            *answered.headers,
            ("Cache-Control", "no-store"),
            ("Via", self.via),
            ("Cache-Status", cache_status_member(self.name, detail=answered.category)),
            ("X-Cache", "ERROR"),
        ]
        recorder = self.recorder
        recorder.count("error", started, 0, "upstream")
        if recorder.logging:
            recorder.log(request, answered.status, "error", started, len(answered.body))
        body = answered.body if answered.status not in (204, 304) else None
        return web.Response(status=answered.status, body=body, headers=fields)


async def add_response_fields(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """aiohttp ``on_response_prepare``: add the Admitted's response fields (CORS, RateLimit)."""
    fields = request.get(RESPONSE_FIELDS)
    if fields:
        for name, value in fields:
            if name == "Vary" and "Vary" in response.headers:
                response.headers["Vary"] = f"{response.headers['Vary']}, {value}"
            else:
                response.headers.add(name, value)
