"""The gateway checks of the live edge: the core's ``cdn.gateway.Admission`` before the cache step.

Rules: the decisions (behavior, methods, CORS, signed URLs, API keys, usage plans, client
limits, the cache key) are the core's; this module reads them off aiohttp requests, writes
the core's ``Answered`` with the edge's conventions (Via, ``Cache-Status: ...; detail=<category>``,
``X-Cache: ERROR``, ``Cache-Control: no-store``), counts them in
``cdnlab_edge_gateway_refusals_total{node,category}`` and logs the reason (never in the body).
A gateway with only the default behavior (``cdn.gateway.default_gateway``) is not active: the
edge then runs without any of this (``gateway_active``).

The wire fast path (``edge.wire``, answering hits on arrival) must not bypass a check, and it
answers only from the cache (``wire_hit``): a GET/HEAD whose stateless checks the core
remembers from an identical earlier request (``Admission.remembered``: same method, scheme,
host, target and read header fields; a signed URL's time window and IP condition re-checked
against the clock and the connection's address every time) and, once it is known to be a hit,
whose limits admit it (``Admission.limits``: the API key's bucket and quota, the client
bucket; their RateLimit fields, when the plan sends them on admitted responses, are added to
the ready bytes, else the ready bytes are written as they are; an API key's limits alone, with
no client limit, are taken by the core's ``KeyLimits.take`` or ``.admit`` through one bound
charge per key).
Anything else (not remembered, a refusal, a new quota period, CORS fields to merge, a miss)
goes to ``Proxy.handle``, which admits it once; a refusal took nothing, so nothing is
counted twice.

Peer groups: a request a peer forwards with a valid ``X-Cdnlab-Peer-Proof``
(``cdn.gateway.peering``, keyed by the admin token the group shares) was admitted by that
peer, so this node only computes its cache key (``Admission.trusted``). Without a valid proof
(or without an admin token) the request is a viewer's and is admitted like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from aiohttp import web
from multidict import CIMultiDictProxy, istr

from cdn.gateway.admission import (
    Admission,
    Admitted,
    Answered,
    KeyLimits,
    Pass,
    ViewerRequest,
)
from cdn.gateway.behaviors import KEY_SUFFIX_SEPARATOR, Behavior, Gateway, default_gateway
from cdn.gateway.peering import is_forwarded_proof
from cdn.http import CacheConfig, cache_status_member
from edge.metrics import EdgeMetrics
from edge.recording import Recorder
from edge.upstream import PEER_HEADER, PEER_PROOF
from edge.wire import render_fields

__all__ = ["RESPONSE_FIELDS", "EdgeGateway", "add_response_fields", "gateway_active"]

log = logging.getLogger("cdnlab.edge")

# Where Proxy.handle leaves an Admitted's response fields for the response (request key).
RESPONSE_FIELDS = web.RequestKey("cdnlab_gateway_fields", tuple)
_PEER = istr(PEER_HEADER)
_FREE, _CHARGED, _CHARGED_CLIENT, _NEVER = 0, 1, 2, 3  # what the wire path does on a behavior
_PROOF = istr(PEER_PROOF)
_MAX_RENDERED = 1024  # RateLimit-Policy lines kept rendered (a few per plan: one per period)
# (method, cache key, request fields, charge) -> (status, bytes) or None: Hits.wire_hit_at.
HitAt = Callable[
    [str, str, CIMultiDictProxy[str], Callable[[float], bytes | None] | None],
    tuple[int, tuple[bytes, ...]] | None,
]


def _general(now: float) -> bytes | None:
    """A charger's place holder: the key's requests take the general charge."""
    return None


_GENERAL = _general


class _KeyCharge:
    """The RateLimit lines of one API key's wire hits: the core's ``KeyLimits.take``, and its
    RateLimit-Policy field's line rendered once per field (a period of the quota)."""

    __slots__ = ("limits", "policy", "start")

    def __init__(self, limits: KeyLimits) -> None:
        self.limits = limits
        self.policy: tuple[str, str] | None = None
        self.start = ""  # the policy's line and "RateLimit: "

    def charge(self, now: float) -> bytes | None:
        """The RateLimit lines of one more request at ``now``, taken from the key's limits;
        None, nothing taken, when they refuse it or a new period starts (``Proxy.handle``
        admits it then). The value is the policy's quoted name (checked for CR/LF with the
        policy's line) and two numbers, so it needs no check of its own."""
        limits = self.limits
        value = limits.take(now)
        if value is None:
            return None
        if limits.policy is not self.policy:
            policy = limits.policy
            self.start = render_fields((policy,)).decode() + "RateLimit: "  # CR/LF: ValueError
            self.policy = policy
        return f"{self.start}{value}\r\n".encode()

    def admit(self, now: float) -> bytes | None:
        """``charge`` for a plan whose admitted requests carry no RateLimit fields
        (``ratelimit_fields = "throttled"``): no lines (b"") when the key's limits admit one
        more request at ``now`` (taken), None, nothing taken, when they decline."""
        return b"" if self.limits.admit(now) else None


def gateway_active(gateway: Gateway | None) -> bool:
    """Whether ``gateway`` asks anything of a request beyond the default behavior."""
    if gateway is None:
        return False
    return gateway != default_gateway(gateway.behaviors[-1].target_origin)


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
        hit_at: HitAt,
        peer_secret: str | None = None,
    ) -> None:
        """``hit_at`` answers a hit by cache key (``Hits.wire_hit_at``); ``peer_secret`` is
        the group's shared secret (the admin token) that peers' proofs are checked with."""
        self.admission = Admission(gateway, api_key_values)
        self.gateway = gateway
        self.name = name
        self.via = via
        self.recorder = recorder
        self.key_of = key_of
        self.clock = clock
        self.refusals = metrics.gateway_refusals
        self.hit_at = hit_at
        self.peer_secret = peer_secret or None
        # Per behavior, on the wire: no limits to take, limits to take, or never (a plan name
        # that cannot be a header value: its RateLimit fields must be refused before any
        # token is taken, and handle does that).
        unsafe = any("\r" in p.name or "\n" in p.name for p in gateway.usage_plans)
        self._wire = {
            id(b): _FREE
            if not (b.api_key_required or b.client_rate_limit is not None)
            else _NEVER
            if unsafe
            else _CHARGED
            if b.client_rate_limit is None
            else _CHARGED_CLIENT  # needs the client's address
            for b in gateway.behaviors
        }
        self._configs = {id(b): b.cache_config(config) for b in gateway.behaviors}
        # RateLimit-Policy field -> its line and the start of the RateLimit line after it.
        self._rendered: dict[tuple[str, str], str] = {}
        # id(ApiKey) -> the charge of its requests on _CHARGED behaviors (_KeyCharge.charge)
        self._chargers: dict[int, Callable[[float], bytes | None]] = {}

    def config_for(self, behavior: Behavior) -> CacheConfig:
        """The cache step's config for requests of ``behavior``: the node's, with the
        behavior's TTL bounds (``Behavior.cache_config``)."""
        return self._configs[id(behavior)]

    def admit(self, request: web.Request, method: str, target: str) -> Admitted | Answered:
        """The core's decision for ``request`` (``target`` in origin form); a request a peer
        proves it admitted gets only its cache key."""
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
        if _PEER in request.headers and self.forwarded(request.headers, method, target):
            return self.admission.trusted(viewer)
        return self.admission.admit(viewer, self.clock())

    def forwarded(self, fields: Mapping[str, str], method: str, target: str) -> bool:
        """Whether a peer of the group proves it admitted ``method target`` and forwards it."""
        secret = self.peer_secret
        proof = fields.get(_PROOF)
        if secret is None or proof is None:
            return False
        return is_forwarded_proof(secret, fields.get(_PEER, ""), method, target, proof)

    def cache_key(self, admitted: Admitted | Pass) -> str:
        """The primary cache key of an admitted request: its key target, then its suffix."""
        return self.key_of(admitted.key_target) + admitted.key_suffix

    def purge_keys(self, target: str) -> tuple[str, str | None]:
        """The primary key a purge of ``target`` removes, as its behavior keys it, and the
        prefix of every suffixed key of it (None when the behavior's key has no suffix)."""
        key_target, suffixed = self.gateway.purge_target(target)
        key = self.key_of(key_target)
        return key, key + KEY_SUFFIX_SEPARATOR if suffixed else None

    def wire_hit(
        self,
        method: str,
        target: str,
        fields: CIMultiDictProxy[str],
        client: str = "",
        scheme: str = "http",
    ) -> tuple[int, tuple[bytes, ...]] | None:
        """The wire fast path behind the gateway (``edge.wire.WireHit``): a hit answered on
        arrival when its admission is remembered and its limits admit it, else None (the
        request goes to ``Proxy.handle``)."""
        if target[:1] != "/":
            return None
        path, _, query = target.partition("?")
        if _PEER in fields:
            if not self.forwarded(fields, method, target):
                return None  # a viewer's claim, or no secret: handle admits it
            viewer = ViewerRequest(method, scheme, "", path, query, fields, client)
            return self.hit_at(method, self.cache_key(self.admission.trusted(viewer)), fields, None)
        now = self.clock()
        passed = self.admission.remembered(method, scheme, path, query, fields, client, now)
        if passed is None or passed.fields:  # CORS fields: handle merges their Vary
            return None
        mode = self._wire[id(passed.behavior)]
        if mode == _FREE:
            return self.hit_at(method, self.cache_key(passed), fields, None)
        if mode == _NEVER or (mode == _CHARGED_CLIENT and not client):
            return None
        if mode == _CHARGED:  # an API key's limits only: its charger, made once
            charge = self._chargers.get(id(passed.api_key))
            if charge is None:
                charge = self._charger(passed, now)
            if charge is not _GENERAL:
                return self.hit_at(method, self.cache_key(passed), fields, charge)
        limits_of = self.admission.limits
        rendered = self._rendered

        def charge(now: float) -> bytes | None:
            limits = limits_of(passed, client, now)
            if limits.__class__ is tuple and len(limits) == 2:  # type: ignore[arg-type]
                start = rendered.get(limits[0])  # type: ignore[index]
                if start is not None:  # (RateLimit-Policy, RateLimit): see render_limits
                    return f"{start}{limits[1][1]}\r\n".encode()  # type: ignore[index]
            return None if limits.__class__ is Answered else self.render_limits(limits)  # type: ignore[arg-type]

        return self.hit_at(method, self.cache_key(passed), fields, charge)

    def _charger(self, passed: Pass, now: float) -> Callable[[float], bytes | None]:
        """The wire charge of requests that ``passed`` with an API key on a behavior without
        a client limit (kept by the key: it is all ``Admission.limits`` takes for them)."""
        limits = self.admission.key_limits(passed, now)
        if limits is None:
            charge = _GENERAL
        elif limits.always:
            charge = _KeyCharge(limits).charge
        else:
            charge = _KeyCharge(limits).admit
        self._chargers[id(passed.api_key)] = charge  # the gateway's keys: as many as it has
        return charge

    def render_limits(self, fields: tuple[tuple[str, str], ...]) -> bytes:
        """``edge.wire.render_fields`` of the RateLimit fields ``Admission.limits`` gives.

        A (RateLimit-Policy, RateLimit) pair also leaves the policy's line and the start of
        the RateLimit line in ``_rendered``, by the policy field (the core gives the same
        field object for every request of a plan within a period), so that the next requests
        of the plan render only the RateLimit value. That value is the policy's quoted name
        (checked for CR/LF here, with the policy line) and two numbers, so it needs no check
        of its own; plan names that could not be a header value never reach the wire path
        (``_NEVER``)."""
        lines = render_fields(fields)  # CR or LF in any: ValueError
        if len(fields) == 2 and fields[0][0] == "RateLimit-Policy" and fields[1][0] == "RateLimit":
            if len(self._rendered) >= _MAX_RENDERED:
                self._rendered.clear()
            self._rendered[fields[0]] = f"{fields[0][0]}: {fields[0][1]}\r\nRateLimit: "
        return lines

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
