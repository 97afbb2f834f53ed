"""Admission at the edge: the gateway's decision for one viewer request, before the cache step.

Rules, in CloudFront's and API Gateway's order; the first that refuses answers the request:
1. The behavior is the first whose path pattern matches (``Gateway.behavior_for``).
2. Viewer protocol: ``redirect-to-https`` answers plain-HTTP GET/HEAD with 301 to the https URL
   (other methods 403); ``https-only`` answers plain HTTP with 403.
3. CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) on a behavior with
   ``cors`` is answered here with 204 and the allow fields (403 when the origin is not allowed).
4. Methods outside ``allowed_methods``: 403.
5. Behaviors with trusted key groups need a valid signed URL or signed cookies: 403 with
   CloudFront's AccessDenied body; the reason goes to the log only.
6. ``api_key_required``: ``x-api-key`` must name a known key (bound to the behavior's usage plan
   when it names one): else 403 ``{"message":"Forbidden"}``.
7. The key's plan throttle (token bucket per key), then its quota: 429 with ``Retry-After``
   and the RateLimit fields; the body says ``Too Many Requests`` or ``Limit Exceeded``.
8. ``client_rate_limit`` (a token bucket per client address, like nginx ``limit_req``): 429.
Admitted requests carry the cache-key target and suffix of the behavior's cache policy and the
fields to add to the response (CORS, RateLimit). State (buckets, quota counters, verified
signatures) lives in the ``Admission`` object, one per node: limits are per edge node.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl

from cdn.gateway.behaviors import Behavior, Gateway
from cdn.gateway.signed import Refused, SignatureChecker, load_public_key
from cdn.gateway.throttling import (
    QuotaCounter,
    Throttle,
    TokenBucket,
    period_bounds,
    ratelimit_fields,
)

__all__ = ["Admission", "Admitted", "Answered", "ViewerRequest"]

_FORBIDDEN = json.dumps({"message": "Forbidden"}).encode()
_TOO_MANY = json.dumps({"message": "Too Many Requests"}).encode()
_LIMIT_EXCEEDED = json.dumps({"message": "Limit Exceeded"}).encode()
_ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    b"<Message>Access denied</Message></Error>"
)
_JSON = ("Content-Type", "application/json")
_MAX_BUCKETS = 100_000  # per-address buckets kept before the oldest are forgotten


@dataclass(frozen=True, slots=True)
class ViewerRequest:
    """What admission reads of a request: header names lower-case, ``query`` raw (no ``?``)."""

    method: str
    scheme: str
    host: str
    path: str
    query: str
    headers: Mapping[str, str]
    client_ip: str


@dataclass(frozen=True, slots=True)
class Admitted:
    """Go on to the cache step with this behavior and cache key; add ``response_fields``."""

    behavior: Behavior
    key_target: str
    key_suffix: str
    response_fields: tuple[tuple[str, str], ...] = ()
    api_key: str | None = None


@dataclass(frozen=True, slots=True)
class Answered:
    """The gateway answers itself; ``category`` names why (a metrics label), ``reason`` is for
    the log and never in the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    category: str
    reason: str
    behavior: Behavior


def _cookies(header: str) -> dict[str, str]:
    if not header:
        return {}
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class Admission:
    """The gateway decisions of one node, with its rate-limit state."""

    def __init__(self, gateway: Gateway, api_key_values: Mapping[str, str]) -> None:
        """``api_key_values`` maps each [[api_key]] name to its value (the shell resolves
        ``value_env``)."""
        self.gateway = gateway
        self.key_by_value = {
            api_key_values[key.name]: key for key in gateway.api_keys if key.name in api_key_values
        }
        self.checkers = {
            behavior.trusted_key_groups: SignatureChecker(
                {
                    key_id: load_public_key(key_id, pem)
                    for key_id, pem in gateway.keys_of(behavior.trusted_key_groups).items()
                }
            )
            for behavior in gateway.behaviors
            if behavior.trusted_key_groups
        }
        self.key_buckets: dict[str, TokenBucket] = {}
        self.quotas: dict[str, QuotaCounter] = {}
        self.client_buckets: dict[tuple[int, str], TokenBucket] = {}

    def admit(self, request: ViewerRequest, now: float) -> Admitted | Answered:
        """The gateway's decision for ``request`` at ``now`` (epoch seconds)."""
        behavior = self.gateway.behavior_for(request.path)
        headers = request.headers
        policy = behavior.viewer_protocol_policy
        if request.scheme == "http" and policy != "allow-all":
            if policy == "redirect-to-https" and request.method in ("GET", "HEAD"):
                location = f"https://{request.host.rsplit(':', 1)[0]}{request.path}"
                if request.query:
                    location += "?" + request.query
                return Answered(
                    301, (("Location", location),), b"", "redirect", "viewer protocol", behavior
                )
            return Answered(
                403, (), b"", "https-only", "plain HTTP on an HTTPS-only behavior", behavior
            )
        cors_fields: tuple[tuple[str, str], ...] = ()
        if behavior.cors is not None and "origin" in headers:
            cors = behavior.cors
            origin = headers["origin"]
            if request.method == "OPTIONS" and "access-control-request-method" in headers:
                if not cors.allows(origin):
                    return Answered(
                        403, (), b"", "cors", f"origin {origin!r} not allowed", behavior
                    )
                fields = [
                    ("Access-Control-Allow-Origin", "*" if "*" in cors.allow_origins else origin),
                    ("Access-Control-Allow-Methods", ", ".join(cors.allow_methods)),
                    ("Access-Control-Max-Age", str(cors.max_age)),
                    ("Vary", "Origin"),
                ]
                if cors.allow_headers:
                    fields.append(("Access-Control-Allow-Headers", ", ".join(cors.allow_headers)))
                return Answered(204, tuple(fields), b"", "preflight", "CORS preflight", behavior)
            if cors.allows(origin):
                cors_fields = (
                    ("Access-Control-Allow-Origin", "*" if "*" in cors.allow_origins else origin),
                    ("Vary", "Origin"),
                )
                if cors.expose_headers:
                    cors_fields += (
                        ("Access-Control-Expose-Headers", ", ".join(cors.expose_headers)),
                    )
        if request.method not in behavior.allowed_methods:
            return Answered(
                403, (), b"", "method", f"{request.method} not allowed on this behavior", behavior
            )
        cookies = _cookies(headers.get("cookie", ""))
        if behavior.trusted_key_groups:
            url = f"{request.scheme}://{request.host}{request.path}"
            if request.query:
                url += "?" + request.query
            query = dict(parse_qsl(request.query, keep_blank_values=True))
            checked = self.checkers[behavior.trusted_key_groups].check(
                url, query, cookies, request.client_ip, now
            )
            if isinstance(checked, Refused):
                return Answered(
                    403,
                    (("Content-Type", "text/xml"),),
                    _ACCESS_DENIED,
                    "unsigned",
                    checked.reason,
                    behavior,
                )
        response_fields = cors_fields
        api_key_name = None
        if behavior.api_key_required:
            api_key = self.key_by_value.get(headers.get("x-api-key", ""))
            if api_key is None or (
                behavior.usage_plan is not None and api_key.usage_plan != behavior.usage_plan
            ):
                reason = "no x-api-key" if "x-api-key" not in headers else "unknown API key"
                return Answered(403, (_JSON,), _FORBIDDEN, "forbidden", reason, behavior)
            api_key_name = api_key.name
            limited = self._usage_plan(api_key.name, api_key.usage_plan, now, behavior)
            if isinstance(limited, Answered):
                return limited
            response_fields += limited
        if behavior.client_rate_limit is not None:
            limited = self._client_limit(behavior, request.client_ip, now)
            if limited is not None:
                return limited
        key = behavior.cache_key
        return Admitted(
            behavior,
            key.key_target(request.path, request.query),
            key.key_suffix(headers, cookies),
            response_fields,
            api_key_name,
        )

    def _usage_plan(
        self, key_name: str, plan_name: str, now: float, behavior: Behavior
    ) -> tuple[tuple[str, str], ...] | Answered:
        plan = self.gateway.plan(plan_name)
        fields: tuple[tuple[str, str], ...] = ()
        if plan.throttle is not None:
            bucket = self.key_buckets.get(key_name)
            if bucket is None:
                bucket = self.key_buckets[key_name] = TokenBucket(plan.throttle, now)
            decision = bucket.take(now)
            fields = ratelimit_fields(
                plan.name, plan.throttle.burst, plan.throttle.burst / plan.throttle.rate,
                decision.remaining, decision.retry_after,
            )  # fmt: skip
            if not decision.admitted:
                return self._too_many(
                    fields, decision.retry_after, _TOO_MANY, "throttled", behavior
                )
        if plan.quota is not None:
            counter = self.quotas.get(key_name)
            if counter is None:
                counter = self.quotas[key_name] = QuotaCounter(plan.quota)
            used = counter.take(now)
            start, end = period_bounds(plan.quota.period, now)
            fields = ratelimit_fields(
                plan.name, plan.quota.limit, end - start, used.remaining, used.resets_at - now
            )
            if not used.admitted:
                return self._too_many(
                    fields, used.resets_at - now, _LIMIT_EXCEEDED, "quota", behavior
                )
        return fields

    def _client_limit(self, behavior: Behavior, client_ip: str, now: float) -> Answered | None:
        throttle: Throttle = behavior.client_rate_limit  # type: ignore[assignment]
        slot = (id(behavior), client_ip)
        bucket = self.client_buckets.get(slot)
        if bucket is None:
            if len(self.client_buckets) >= _MAX_BUCKETS:
                # Forget the oldest address: a full bucket again is the lenient error.
                del self.client_buckets[next(iter(self.client_buckets))]
            bucket = self.client_buckets[slot] = TokenBucket(throttle, now)
        decision = bucket.take(now)
        if decision.admitted:
            return None
        fields = ratelimit_fields(
            "client", throttle.burst, throttle.burst / throttle.rate, 0, decision.retry_after
        )
        return self._too_many(fields, decision.retry_after, _TOO_MANY, "throttled", behavior)

    @staticmethod
    def _too_many(
        fields: tuple[tuple[str, str], ...],
        wait: float,
        body: bytes,
        category: str,
        behavior: Behavior,
    ) -> Answered:
        headers = (_JSON, ("Retry-After", str(max(1, math.ceil(wait)))), *fields)
        return Answered(429, headers, body, category, category, behavior)
