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
   Admitted requests carry the plan's RateLimit fields only when the plan says
   ``ratelimit_fields = "always"``; with the default, "throttled", they carry none (as API
   Gateway's admitted responses).
8. ``client_rate_limit`` (a token bucket per client address, like nginx ``limit_req``): 429.
Admitted requests carry the cache-key target and suffix of the behavior's cache policy and the
fields to add to the response (CORS, RateLimit). State (buckets, quota counters, verified
signatures) lives in the ``Admission`` object, one per node: limits are per edge node.

Steps 1-6 read only the request (and the clock, for a signature's time window), so their
outcome, a ``Pass``, is remembered per (method, scheme, path, query, the header values the
behavior reads, Host included where it matters) and reused for identical requests: a remembered
signed URL is re-checked against its policy's start and expiry times (and IP condition) on
every request, never trusted blindly. Steps 7-8 (``limits``) change state and run on every request; a request refused by one limit
takes nothing from any other (throttle, quota and client bucket are all checked, then taken).
A request forwarded by a peer of the group that already admitted it (``trusted``) gets only
its behavior and cache key: it is neither checked nor counted twice.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl

from cdn.gateway.behaviors import ApiKey, Behavior, Gateway
from cdn.gateway.signed import Refused, SignatureChecker, load_public_key
from cdn.gateway.throttling import (
    QuotaCounter,
    TokenBucket,
    policy_field,
    ratelimit_fields,
)

__all__ = ["Admission", "Admitted", "Answered", "KeyLimits", "Pass", "ViewerRequest"]

_FORBIDDEN = json.dumps({"message": "Forbidden"}).encode()
_TOO_MANY = json.dumps({"message": "Too Many Requests"}).encode()
_LIMIT_EXCEEDED = json.dumps({"message": "Limit Exceeded"}).encode()
_ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    b"<Message>Access denied</Message></Error>"
)
_JSON = ("Content-Type", "application/json")
_MAX_BUCKETS = 100_000  # per-address buckets kept before the oldest are forgotten
_MAX_PASSES = 65_536  # remembered passes; past this the memory starts over (bounded under scans)
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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


@dataclass(frozen=True, slots=True)
class Pass:
    """The outcome of admission's stateless steps (1-6) for a request: its behavior, cache key,
    CORS response fields and API key. It holds for every request with the same method, scheme,
    path, query and values of the header fields the behavior reads, at times in
    [``not_before``, ``not_after``) (a signed policy's window; always, otherwise) and from an
    address in one of ``networks`` (a signed policy's IP condition; empty: any address)."""

    behavior: Behavior
    key_target: str
    key_suffix: str
    fields: tuple[tuple[str, str], ...]
    api_key: ApiKey | None
    not_before: float = -math.inf
    not_after: float = math.inf
    networks: tuple[_Network, ...] = ()

    def holds(self, client_ip: str, now: float) -> bool:
        """Whether this pass still admits a request from ``client_ip`` ("" when unknown) at
        ``now``."""
        if not (self.not_before <= now < self.not_after):
            return False
        if not self.networks:
            return True
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class KeyLimits:
    """One API key's limit state: its plan's bucket and quota counter (also in
    ``Admission.key_buckets`` and ``.quotas``), and what its admitted requests' RateLimit
    fields are made of: the RateLimit-Policy field ``policy`` and the quoted plan ``name`` (the
    quota's, made once per period, the period ending at ``period_ends``; the throttle's, made
    once, for a plan without a quota), and the quota's RateLimit ``;t=`` part for ``reset``
    seconds to the period's end (made once a second). ``always``: whether admitted requests
    carry the fields (the plan's ``ratelimit_fields``); when not, ``admit`` takes them."""

    __slots__ = (
        "always",
        "bucket",
        "counter",
        "name",
        "period_ends",
        "plan",
        "policy",
        "quota_limit",
        "reset",
        "reset_part",
    )

    def __init__(
        self,
        plan: str,
        bucket: TokenBucket | None,
        counter: QuotaCounter | None,
        always: bool,
    ) -> None:
        self.plan = plan
        self.always = always
        self.bucket = bucket
        self.counter = counter
        self.period_ends = math.nan  # equal to no period's end: the first request makes them
        self.quota_limit = 0 if counter is None else counter.quota.limit
        self.name = ""
        self.policy: tuple[str, str] = ("RateLimit-Policy", "")
        if counter is None and bucket is not None:
            throttle = bucket.throttle
            self.name, self.policy = policy_field(
                plan, throttle.burst, throttle.burst / throttle.rate
            )
        self.reset = -1  # the last whole seconds to the period's end, and its ";t=" part
        self.reset_part = ""

    def take(self, now: float) -> str | None:
        """The RateLimit field's value for one more request at ``now`` when the quota (within
        the period ``policy`` is of) and the bucket both admit it, having taken it from both;
        ``policy`` is then its RateLimit-Policy field. None, taking nothing, when either
        refuses or the quota's period has ended (``Admission.limits`` then answers: the 429,
        or the new period's fields). ``ratelimit_fields`` of the quota, or of the throttle
        for a plan without a quota, in as few steps as the admitted request needs (the
        counter's and bucket's state read and taken as ``admit`` does)."""
        counter = self.counter
        left = 0
        if counter is not None:
            if not now < self.period_ends:  # a new period (or none yet): not NaN-safe otherwise
                return None
            left = self.quota_limit - counter.used  # QuotaCounter.left within the period
            if left <= 0:
                return None
        bucket = self.bucket
        if bucket is not None:
            tokens = bucket.refill(now)
            if tokens < 1.0:
                return None
            bucket.tokens = tokens - 1.0  # TokenBucket.commit
            if counter is None:  # the throttle's ratelimit_field: a token was there, so t=0
                return f"{self.name};r={int(tokens - 1.0)};t=0"
        if counter is None:
            return None  # a plan without limits: no fields (Admission.limits)
        counter.used += 1  # QuotaCounter.commit
        return self.quota_value(left, now)

    def admit(self, now: float) -> bool:
        """``take`` without the RateLimit value, for a plan whose admitted requests carry no
        fields: True, having taken one request from the quota (within the period ``policy``
        is of) and the bucket, when both admit it; False, taking nothing, when either refuses
        or the quota's period has ended (``Admission.limits`` then answers), or the plan has
        no limits."""
        # Within the period (now before its end, which is the counter's: ``Admission.limits``
        # keeps ``period_ends`` equal to it), what the counter has left is its limit less its
        # count, and counting one is adding one: no method calls (each is a frame per admitted
        # request; ``QuotaCounter.left``'s period rule is not needed before the period ends).
        counter = self.counter
        if counter is not None:
            if not now < self.period_ends:  # a new period (or none yet): not NaN-safe otherwise
                return False
            if counter.used >= self.quota_limit:
                return False
        bucket = self.bucket
        if bucket is not None:
            if bucket.refill(now) < 1.0:
                return False
            bucket.tokens -= 1.0  # TokenBucket.commit
        elif counter is None:
            return False
        if counter is not None:
            counter.used += 1  # QuotaCounter.commit
        return True

    def quota_value(self, left: int, now: float) -> str:
        """``ratelimit_field``'s value for the quota with ``left`` requests (this one's
        included) at ``now`` within the period ``policy`` is of, the ``;t=`` part made once a
        second."""
        reset = math.ceil(self.period_ends - now)
        if reset != self.reset:
            self.reset = reset
            self.reset_part = f";t={reset if reset > 0 else 0}"
        return f"{self.name};r={left - 1 if left > 1 else 0}{self.reset_part}"


def _reads(behavior: Behavior) -> tuple[str, ...]:
    """The request header fields (lower-case) the stateless steps read on ``behavior``."""
    names: list[str] = []
    if behavior.trusted_key_groups or behavior.viewer_protocol_policy != "allow-all":
        names.append("host")  # in the signed URL, in the redirect
    if behavior.cors is not None:
        names += ["origin", "access-control-request-method"]
    if behavior.trusted_key_groups or behavior.cache_key.cookies:
        names.append("cookie")
    if behavior.api_key_required:
        names.append("x-api-key")
    names += [name for name in behavior.cache_key.headers if name not in names]
    return tuple(names)


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
        self.plans = {plan.name: plan for plan in gateway.usage_plans}
        self.key_buckets: dict[str, TokenBucket] = {}
        self.quotas: dict[str, QuotaCounter] = {}
        self.client_buckets: dict[tuple[int, str], TokenBucket] = {}
        self._key_limits: dict[str, KeyLimits] = {}  # by key name: its bucket and counter
        self._reads = {id(behavior): _reads(behavior) for behavior in gateway.behaviors}
        # (method, scheme, path, query) -> (header names read, {their values: Pass}), the
        # values as a tuple, or the one value itself when one name is read.
        self._passes: dict[
            tuple[str, str, str, str],
            tuple[tuple[str, ...], dict[str | tuple[str | None, ...] | None, Pass]],
        ] = {}
        self._remembered = 0

    def admit(self, request: ViewerRequest, now: float) -> Admitted | Answered:
        """The gateway's decision for ``request`` at ``now`` (epoch seconds)."""
        passed = self.check(request, now)
        if isinstance(passed, Answered):
            return passed
        return self.charge(passed, request.client_ip, now)

    def remembered(
        self,
        method: str,
        scheme: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        client_ip: str,
        now: float,
    ) -> Pass | None:
        """The remembered ``Pass`` of an identical earlier request when it still holds at
        ``now`` from ``client_ip``; None otherwise (``check`` decides). Changes nothing."""
        slot = self._passes.get((method, scheme, path, query))
        if slot is None:
            return None
        names, passes = slot
        if not names:
            passed = passes.get(())
        elif len(names) == 1:  # keyed by the value itself (see _remember)
            passed = passes.get(headers.get(names[0]))
        else:
            passed = passes.get(tuple([headers.get(name) for name in names]))
        if passed is None or not passed.holds(client_ip, now):
            return None
        return passed

    def check(self, request: ViewerRequest, now: float) -> Pass | Answered:
        """Admission's stateless steps (1-6) for ``request`` at ``now``: a ``Pass`` (remembered
        for identical requests) or the gateway's own answer. Changes no limit."""
        passed = self.remembered(
            request.method,
            request.scheme,
            request.path,
            request.query,
            request.headers,
            request.client_ip,
            now,
        )
        if passed is not None:
            return passed
        checked = self._check(request, now)
        if isinstance(checked, Pass):
            self._remember(request, checked)
        return checked

    def trusted(self, request: ViewerRequest) -> Admitted:
        """A request a peer of the group already admitted: its behavior and cache key only
        (no check, no limit counted, no response fields: the admitting peer adds its own)."""
        behavior = self.gateway.behavior_for(request.path)
        key = behavior.cache_key
        cookies = _cookies(request.headers.get("cookie", "")) if key.cookies else {}
        return Admitted(
            behavior,
            key.key_target(request.path, request.query),
            key.key_suffix(request.headers, cookies),
        )

    def charge(self, passed: Pass, client_ip: str, now: float) -> Admitted | Answered:
        """The decision for a request that ``passed`` the stateless steps, from ``client_ip``
        at ``now``: its ``limits`` taken, or the 429 of the first that refuses."""
        limits = self.limits(passed, client_ip, now)
        if isinstance(limits, Answered):
            return limits
        api_key = passed.api_key
        return Admitted(
            passed.behavior,
            passed.key_target,
            passed.key_suffix,
            passed.fields + limits,
            None if api_key is None else api_key.name,
        )

    def limits(
        self, passed: Pass, client_ip: str, now: float
    ) -> tuple[tuple[str, str], ...] | Answered:
        """Admission's stateful steps (7-8) for a request that ``passed``, from ``client_ip`` at
        ``now``: its key's throttle and quota, then the behavior's client limit. Every limit
        is checked before any is taken, so a refused request (the 429 answered) takes nothing;
        an admitted one takes from each and, when its plan's ``ratelimit_fields`` is "always",
        gets the RateLimit fields to add to the response (the quota's when the plan has one,
        else the throttle's; the RateLimit-Policy field is the same object for every request
        of a plan within a period)."""
        api_key = passed.api_key
        fields: tuple[tuple[str, str], ...] = ()
        bucket = counter = None
        if api_key is not None:
            limits = self._key_limits.get(api_key.name)
            if limits is None:
                limits = self._limits_of(api_key, now)
            if passed.behavior.client_rate_limit is None:  # the admitted request's few steps
                if not limits.always:
                    if limits.admit(now):
                        return ()
                else:
                    value = limits.take(now)
                    if value is not None:
                        return (limits.policy, ("RateLimit", value))
            bucket, counter = limits.bucket, limits.counter
            if bucket is not None:
                tokens = bucket.refill(now)
                if tokens < 1.0 or counter is None:
                    throttle = bucket.throttle
                    wait = bucket.wait(now)
                    fields = ratelimit_fields(
                        limits.plan, throttle.burst, throttle.burst / throttle.rate,
                        int(tokens - 1.0) if tokens >= 1.0 else 0, wait,
                    )  # fmt: skip
                    if tokens < 1.0:
                        return self._too_many(fields, wait, _TOO_MANY, "throttled", passed.behavior)
            if counter is not None:
                left = counter.left(now)
                ends = counter.ends
                if ends != limits.period_ends:  # a new period: its policy field, made once
                    limits.name, limits.policy = policy_field(
                        limits.plan, counter.quota.limit, ends - counter.starts
                    )
                    limits.period_ends = ends
                fields = (limits.policy, ("RateLimit", limits.quota_value(left, now)))
                if left <= 0:
                    return self._too_many(
                        fields, ends - now, _LIMIT_EXCEEDED, "quota", passed.behavior
                    )
            if not limits.always:  # admitted by the key's limits: its fields are for 429s
                fields = ()
        if passed.behavior.client_rate_limit is not None:
            return self._client_limit(passed.behavior, client_ip, now, fields, bucket, counter)
        if bucket is not None:
            bucket.commit()
        if counter is not None:
            counter.commit()
        return fields

    def key_limits(self, passed: Pass, now: float) -> KeyLimits | None:
        """The limit state ``limits`` takes from for requests that ``passed`` when that is all
        it takes: an API key's with a throttle or a quota, the behavior having no client
        limit (made at ``now`` for a key not seen before); None otherwise. Its ``take`` admits
        such a request as ``limits`` would, or declines, taking nothing, for ``limits`` to
        answer."""
        api_key = passed.api_key
        if api_key is None or passed.behavior.client_rate_limit is not None:
            return None
        limits = self._key_limits.get(api_key.name)
        if limits is None:
            limits = self._limits_of(api_key, now)
        return None if limits.bucket is None and limits.counter is None else limits

    def _limits_of(self, api_key: ApiKey, now: float) -> KeyLimits:
        """The limit state of ``api_key`` (made at its first request, at ``now``)."""
        plan = self.plans[api_key.usage_plan]
        bucket = counter = None
        if plan.throttle is not None:
            bucket = self.key_buckets[api_key.name] = TokenBucket(plan.throttle, now)
        if plan.quota is not None:
            counter = self.quotas[api_key.name] = QuotaCounter(plan.quota)
        always = plan.ratelimit_fields == "always"
        limits = self._key_limits[api_key.name] = KeyLimits(plan.name, bucket, counter, always)
        return limits

    def _client_limit(
        self,
        behavior: Behavior,
        client_ip: str,
        now: float,
        fields: tuple[tuple[str, str], ...],
        bucket: TokenBucket | None,
        counter: QuotaCounter | None,
    ) -> tuple[tuple[str, str], ...] | Answered:
        """``limits``' last step: the behavior's client limit, then every limit taken."""
        throttle = behavior.client_rate_limit
        assert throttle is not None
        client = self._client_bucket(behavior, client_ip, now)
        if client.refill(now) < 1.0:
            wait = client.wait(now)
            limited = ratelimit_fields(
                "client", throttle.burst, throttle.burst / throttle.rate, 0, wait
            )
            return self._too_many(limited, wait, _TOO_MANY, "throttled", behavior)
        if bucket is not None:
            bucket.commit()
        if counter is not None:
            counter.commit()
        client.commit()
        return fields

    def _remember(self, request: ViewerRequest, passed: Pass) -> None:
        if self._remembered >= _MAX_PASSES:
            self._passes.clear()
            self._remembered = 0
        names = self._reads[id(passed.behavior)]
        if "host" in names and request.headers.get("host") != request.host:
            return  # the host checked is not the field's (none sent): not one to look up by
        slot = (request.method, request.scheme, request.path, request.query)
        values = [request.headers.get(name) for name in names]
        # Keyed by the one value read, or by the tuple of them (no tuple per lookup).
        lookup = values[0] if len(values) == 1 else tuple(values)
        self._passes.setdefault(slot, (names, {}))[1][lookup] = passed
        self._remembered += 1

    def _check(self, request: ViewerRequest, now: float) -> Pass | Answered:
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
        not_before, not_after, networks = -math.inf, math.inf, ()
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
            # A remembered pass re-checks these on every request (``Pass.holds``).
            if checked.starts is not None:
                not_before = checked.starts
            not_after, networks = checked.expires, checked.networks
        api_key = None
        if behavior.api_key_required:
            api_key = self.key_by_value.get(headers.get("x-api-key", ""))
            if api_key is None or (
                behavior.usage_plan is not None and api_key.usage_plan != behavior.usage_plan
            ):
                reason = "no x-api-key" if "x-api-key" not in headers else "unknown API key"
                return Answered(403, (_JSON,), _FORBIDDEN, "forbidden", reason, behavior)
        key = behavior.cache_key
        return Pass(
            behavior,
            key.key_target(request.path, request.query),
            key.key_suffix(headers, cookies),
            cors_fields,
            api_key,
            not_before,
            not_after,
            networks,
        )

    def _client_bucket(self, behavior: Behavior, client_ip: str, now: float) -> TokenBucket:
        throttle = behavior.client_rate_limit
        assert throttle is not None
        slot = (id(behavior), client_ip)
        bucket = self.client_buckets.get(slot)
        if bucket is None:
            if len(self.client_buckets) >= _MAX_BUCKETS:
                # Forget the oldest address: a full bucket again is the lenient error.
                del self.client_buckets[next(iter(self.client_buckets))]
            bucket = self.client_buckets[slot] = TokenBucket(throttle, now)
        return bucket

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
