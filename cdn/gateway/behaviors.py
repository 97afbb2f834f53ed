"""Cache behaviors (CloudFront): which rules a request path gets, and the cache key they make.

Rules:
- Behaviors are an ordered list; the first whose path pattern matches the request path wins,
  and the default behavior (``*``) is last, so every path has exactly one behavior.
- ``allowed_methods`` is one of CloudFront's three sets (GET+HEAD; +OPTIONS; all seven); other
  methods get 403. ``cached_methods`` is GET+HEAD, optionally +OPTIONS.
- A cache policy bounds the origin's freshness (``ttl_bounds``, applied by the core's freshness
  rules): the origin's lifetime is clamped to [min_ttl, max_ttl]; with none from the origin,
  ``default_ttl`` applies.
- The cache key holds only what the policy names: query strings none / all / an allowlist
  (sorted by name when ``normalize_query`` is on, as CloudFront always does for its key),
  allowlisted headers (names lower-cased) and cookies. Two requests that differ only outside the
  key share one entry. Header and cookie values are part of the key verbatim.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from cdn.functions.triggers import Trigger
from cdn.gateway.patterns import PathPattern
from cdn.gateway.throttling import Quota, Throttle
from cdn.http.config import CacheConfig, TtlBounds

__all__ = [
    "ALLOWED_METHOD_SETS",
    "KEY_SUFFIX_SEPARATOR",
    "RATELIMIT_FIELDS",
    "VIEWER_PROTOCOL_POLICIES",
    "ApiKey",
    "Behavior",
    "CacheKeyPolicy",
    "Cors",
    "ExternalOrigin",
    "Gateway",
    "KeyGroup",
    "OriginGroup",
    "UsagePlan",
]

ALLOWED_METHOD_SETS = (
    frozenset({"GET", "HEAD"}),
    frozenset({"GET", "HEAD", "OPTIONS"}),
    frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}),
)
VIEWER_PROTOCOL_POLICIES = ("allow-all", "redirect-to-https", "https-only")
FAILOVER_STATUSES = frozenset({400, 403, 404, 416, 500, 502, 503, 504})
# When a usage plan's RateLimit fields are sent: on its 429s only (API Gateway's way), or also
# on every admitted response (Envoy's local rate limit with enable_x_ratelimit_headers).
RATELIMIT_FIELDS = ("throttled", "always")
# Starts a key suffix: what follows the key target when headers or cookies are in the key.
KEY_SUFFIX_SEPARATOR = "\n"


@dataclass(frozen=True, slots=True)
class CacheKeyPolicy:
    """What goes into the cache key besides the path: ``query_strings`` is "none", "all" or an
    allowlist; ``headers`` and ``cookies`` are allowlists."""

    query_strings: str | tuple[str, ...] = "all"
    headers: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()
    normalize_query: bool = False

    def key_target(self, path: str, query: str) -> str:
        """The path plus the part of ``query`` (raw, no ``?``) the key keeps."""
        if self.query_strings == "none" or not query:
            return path
        params = [p for p in query.split("&") if p]
        if self.query_strings != "all":
            allowed = self.query_strings
            params = [p for p in params if p.partition("=")[0] in allowed]
        if self.normalize_query:
            params.sort(key=lambda p: p.partition("=")[0])
        return path + ("?" + "&".join(params) if params else "")

    def key_suffix(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str:
        """The allowlisted header and cookie values, as a key suffix ("" when none are named)."""
        if not self.headers and not self.cookies:
            return ""
        parts = [f"h:{name}={headers.get(name, '')}" for name in self.headers]
        parts += [f"c:{name}={cookies.get(name, '')}" for name in self.cookies]
        return KEY_SUFFIX_SEPARATOR + KEY_SUFFIX_SEPARATOR.join(parts)

    @property
    def has_suffix(self) -> bool:
        """Whether keys carry a suffix (``key_suffix``: header or cookie values), so one
        target's entries are every key starting with its key target and the separator."""
        return bool(self.headers or self.cookies)


@dataclass(frozen=True, slots=True)
class Cors:
    """CORS answered at the edge: allowed origins ("*" for any), methods, headers, max-age."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("GET", "HEAD")
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int = 600

    def allows(self, origin: str) -> bool:
        """Whether a request from ``origin`` (the Origin header) is allowed."""
        return "*" in self.allow_origins or origin in self.allow_origins


@dataclass(frozen=True, slots=True)
class Behavior:
    """One cache behavior: its path pattern and everything that applies to the paths it matches."""

    path_pattern: PathPattern
    target_origin: str
    allowed_methods: frozenset[str] = ALLOWED_METHOD_SETS[2]
    cached_methods: frozenset[str] = ALLOWED_METHOD_SETS[0]
    compress: bool = False
    min_ttl: float = 0.0
    default_ttl: float | None = None
    max_ttl: float | None = None
    cache_key: CacheKeyPolicy = field(default_factory=CacheKeyPolicy)
    trusted_key_groups: tuple[str, ...] = ()
    api_key_required: bool = False
    usage_plan: str | None = None
    client_rate_limit: Throttle | None = None
    viewer_protocol_policy: str = "allow-all"
    cors: Cors | None = None
    # Edge functions by trigger (names of [[function]]s); each overrides the edge's own
    # association of that trigger for requests of this behavior (docs/functions.md).
    functions: tuple[tuple[Trigger, str], ...] = ()

    @property
    def ttl_bounds(self) -> TtlBounds | None:
        """This behavior's TTLs as the core cache's bounds (None: the origin's freshness)."""
        if self.min_ttl == 0 and self.default_ttl is None and self.max_ttl is None:
            return None
        return TtlBounds(self.min_ttl, self.default_ttl, self.max_ttl)

    def cache_config(self, base: CacheConfig) -> CacheConfig:
        """``base`` (a node's config) with this behavior's TTL bounds: the config of its
        requests' cache steps (``base`` itself when the behavior bounds nothing)."""
        bounds = self.ttl_bounds
        return base if bounds is None else replace(base, ttl_bounds=bounds)

    @property
    def requires_signature(self) -> bool:
        """Whether requests need a signed URL or signed cookies."""
        return bool(self.trusted_key_groups)


@dataclass(frozen=True, slots=True)
class KeyGroup:
    """Public keys trusted for signed URLs: ``keys`` maps key id to PEM text."""

    name: str
    keys: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class UsagePlan:
    """An API Gateway usage plan: a throttle and/or a quota per API key. ``ratelimit_fields``
    says which responses carry its ``RateLimit-Policy`` and ``RateLimit`` fields: "throttled"
    (its 429s only, as API Gateway) or "always" (admitted responses too)."""

    name: str
    throttle: Throttle | None = None
    quota: Quota | None = None
    ratelimit_fields: str = "throttled"

    def __post_init__(self) -> None:
        if self.ratelimit_fields not in RATELIMIT_FIELDS:
            raise ValueError(
                f"usage plan {self.name!r}: ratelimit_fields must be one of {RATELIMIT_FIELDS},"
                f" not {self.ratelimit_fields!r}"
            )


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key bound to a usage plan; its value is given, or read by the shell from
    ``value_env`` (the core never reads the environment)."""

    name: str
    usage_plan: str
    value: str | None = None
    value_env: str | None = None


@dataclass(frozen=True, slots=True)
class OriginGroup:
    """A primary and a secondary origin; GET/HEAD/OPTIONS fail over on a connection failure, a
    timeout, or one of ``failover_statuses``."""

    name: str
    members: tuple[str, str]
    failover_statuses: frozenset[int] = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class ExternalOrigin:
    """An origin the topology does not run (CloudFront's custom origin): its name, base URL
    (http or https, no path) and, for https, a CA file to verify it with (None: the system's)."""

    name: str
    url: str
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class Gateway:
    """All behaviors and what they refer to; the default behavior is the last."""

    behaviors: tuple[Behavior, ...]
    key_groups: tuple[KeyGroup, ...] = ()
    usage_plans: tuple[UsagePlan, ...] = ()
    api_keys: tuple[ApiKey, ...] = ()
    origin_groups: tuple[OriginGroup, ...] = ()
    external_origins: tuple[ExternalOrigin, ...] = ()

    def origin_group(self, name: str) -> OriginGroup | None:
        """The origin group called ``name`` (None: ``name`` is an origin)."""
        for group in self.origin_groups:
            if group.name == name:
                return group
        return None

    def behavior_for(self, path: str) -> Behavior:
        """The first behavior whose pattern matches ``path`` (the default one otherwise)."""
        for behavior in self.behaviors:
            if behavior.path_pattern.matches(path):
                return behavior
        return self.behaviors[-1]

    def purge_target(self, target: str) -> tuple[str, bool]:
        """What a purge of ``target`` (path?query) removes: the key target its behavior's
        cache key makes of it (dropped or sorted query parameters as the key has them), and
        whether every suffix of it goes too (``CacheKeyPolicy.has_suffix``: all header and
        cookie values of the key)."""
        path, _, query = target.partition("?")
        key = self.behavior_for(path).cache_key
        return key.key_target(path, query), key.has_suffix

    def plan(self, name: str) -> UsagePlan:
        """The usage plan called ``name`` (KeyError when there is none)."""
        for plan in self.usage_plans:
            if plan.name == name:
                return plan
        raise KeyError(name)

    def keys_of(self, groups: Iterable[str]) -> dict[str, str]:
        """Key id -> PEM for every key in the named key groups."""
        wanted = set(groups)
        return {kid: pem for g in self.key_groups if g.name in wanted for kid, pem in g.keys}

    def behavior_names(self) -> tuple[str, ...]:
        """The behaviors' names in reports, in order: their path patterns (``#<index>`` added
        to a pattern that repeats an earlier one)."""
        names: list[str] = []
        for index, behavior in enumerate(self.behaviors):
            name = behavior.path_pattern.text
            names.append(name if name not in names else f"{name}#{index}")
        return tuple(names)


def default_gateway(origin: str) -> Gateway:
    """One default behavior to ``origin`` that changes nothing: all methods, the origin's TTLs,
    the whole query string in the key (the edge's behaviour without ``[[behavior]]`` tables)."""
    return Gateway((Behavior(PathPattern("*"), origin),))
