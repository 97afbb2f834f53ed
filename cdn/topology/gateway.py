"""The gateway tables of a topology: [[behavior]], [[key_group]], [[usage_plan]], [[api_key]],
[[origin_group]], [[external_origin]] (names as CloudFront's and API Gateway's, in snake_case; docs/gateway.md).

Rules: like the rest of the topology, every error names the file and key and what was expected,
and unknown keys are errors. References are checked: a behavior's target_origin names one of the
topology's origins (``[origin]`` or an ``[[origin]]``), an external origin or an origin group,
its usage_plan and trusted_key_groups exist, an api_key's plan exists, API key values are
unique. Without [[behavior]] tables the gateway is one default behavior that keeps
today's edge behaviour. Public keys are parsed (and so validated) here; a ``public_key_file`` is
read relative to the topology file, like the topology itself is read.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from cdn.errors import ConfigError
from cdn.gateway.behaviors import (
    ALLOWED_METHOD_SETS,
    FAILOVER_STATUSES,
    RATELIMIT_FIELDS,
    VIEWER_PROTOCOL_POLICIES,
    ApiKey,
    Behavior,
    CacheKeyPolicy,
    Cors,
    ExternalOrigin,
    Gateway,
    KeyGroup,
    OriginGroup,
    UsagePlan,
    default_gateway,
)
from cdn.gateway.patterns import PathPattern
from cdn.gateway.signed import load_public_key
from cdn.gateway.throttling import QUOTA_PERIODS, Quota, Throttle
from cdn.tables import TableReader
from cdn.topology.functions import parse_associations

__all__ = ["parse_gateway"]

_METHOD_SETS_TEXT = "one of [GET, HEAD], [GET, HEAD, OPTIONS] or all seven methods"


def _strings(reader: TableReader, key: str) -> tuple[str, ...]:
    values = reader.raw(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise reader.fail(key, f"{values!r}", "a list of non-empty strings")
    return tuple(values)


def _methods(reader: TableReader, key: str, default: frozenset[str]) -> frozenset[str]:
    if not reader.has(key):
        reader.used.add(key)
        return default
    methods = frozenset(m.upper() for m in _strings(reader, key))
    if methods not in ALLOWED_METHOD_SETS:
        raise reader.fail(
            key, f"{sorted(methods)} is not a CloudFront method set", _METHOD_SETS_TEXT
        )
    return methods


def _throttle(reader: TableReader) -> Throttle:
    rate = reader.number("rate_limit", None, minimum=1e-9)
    burst = reader.integer("burst_limit", None, minimum=1)
    if rate is None or burst is None:
        missing = "rate_limit" if rate is None else "burst_limit"
        raise reader.fail(missing, "missing", "rate_limit (requests/s) and burst_limit")
    reader.done()
    return Throttle(rate=rate, burst=burst)


def _cache_key(reader: TableReader) -> CacheKeyPolicy:
    query = reader.raw("query_strings", "all")
    if isinstance(query, list):
        if not all(isinstance(q, str) and q for q in query):
            raise reader.fail("query_strings", f"{query!r}", '"none", "all" or a list of names')
        query = tuple(query)
    elif query not in ("none", "all"):
        raise reader.fail("query_strings", f"{query!r}", '"none", "all" or a list of names')
    policy = CacheKeyPolicy(
        query_strings=query,
        headers=tuple(h.lower() for h in _strings(reader, "headers")),
        cookies=_strings(reader, "cookies"),
        normalize_query=reader.boolean("normalize_query", True),
    )
    reader.done()
    return policy


def _cors(reader: TableReader) -> Cors:
    origins = _strings(reader, "allow_origins")
    if not origins:
        raise reader.fail("allow_origins", "missing", 'a list of origins, or ["*"]')
    cors = Cors(
        allow_origins=origins,
        allow_methods=tuple(m.upper() for m in _strings(reader, "allow_methods"))
        or ("GET", "HEAD"),
        allow_headers=_strings(reader, "allow_headers"),
        expose_headers=_strings(reader, "expose_headers"),
        max_age=reader.integer("max_age", 600, minimum=0),
    )
    reader.done()
    return cors


def _behavior(reader: TableReader, default_origin: str) -> Behavior:
    text = reader.text("path_pattern", None)
    if text is None:
        raise reader.fail("path_pattern", "missing", "a pattern like '/api/*' (or '*')")
    try:
        pattern = PathPattern(text)
    except ValueError as exc:
        raise reader.fail("path_pattern", str(exc)) from None
    allowed = _methods(reader, "allowed_methods", ALLOWED_METHOD_SETS[2])
    cached = _methods(reader, "cached_methods", ALLOWED_METHOD_SETS[0])
    if cached not in ALLOWED_METHOD_SETS[:2] or not cached <= allowed:
        raise reader.fail(
            "cached_methods", f"{sorted(cached)}", "[GET, HEAD] or [GET, HEAD, OPTIONS], allowed"
        )
    min_ttl = reader.duration("min_ttl", 0.0)
    default_ttl = reader.duration("default_ttl", None)
    max_ttl = reader.duration("max_ttl", None)
    if max_ttl is not None and max_ttl < min_ttl:
        raise reader.fail("max_ttl", f"{max_ttl:g} < min_ttl {min_ttl:g}", "max_ttl >= min_ttl")
    if default_ttl is not None and not (
        min_ttl <= default_ttl <= (max_ttl if max_ttl is not None else default_ttl)
    ):
        raise reader.fail("default_ttl", f"{default_ttl:g}", "min_ttl <= default_ttl <= max_ttl")
    limit = reader.child("client_rate_limit")
    behavior = Behavior(
        path_pattern=pattern,
        target_origin=reader.text("target_origin", default_origin),
        allowed_methods=allowed,
        cached_methods=cached,
        compress=reader.boolean("compress", False),
        min_ttl=min_ttl,
        default_ttl=default_ttl,
        max_ttl=max_ttl,
        cache_key=_cache_key(reader.child("cache_key")),
        trusted_key_groups=_strings(reader, "trusted_key_groups"),
        api_key_required=reader.boolean("api_key_required", False),
        usage_plan=reader.text("usage_plan", None),
        client_rate_limit=_throttle(limit) if limit.table else None,
        viewer_protocol_policy=reader.choice(
            "viewer_protocol_policy", "allow-all", VIEWER_PROTOCOL_POLICIES
        ),
        cors=_cors(reader.child("cors")) if reader.has("cors") else None,
        functions=parse_associations(reader),
    )
    reader.done()
    return behavior


def _key_group(reader: TableReader, base: Path) -> KeyGroup:
    name = reader.text("name", None)
    if not name:
        raise reader.fail("name", "missing", "a key group name")
    keys = []
    for key in reader.children("keys"):
        key_id = key.text("id", None)
        if not key_id:
            raise key.fail("id", "missing", "the key's id (the Key-Pair-Id of signed URLs)")
        pem = key.text("public_key", None)
        path = key.text("public_key_file", None)
        if (pem is None) == (path is None):
            raise key.fail("public_key", "give exactly one", "public_key (PEM) or public_key_file")
        if path is not None:
            try:
                pem = (base / path).read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise key.fail("public_key_file", f"{base / path}: {exc}") from None
        try:
            load_public_key(key_id, pem)
        except ValueError as exc:
            raise key.fail("public_key_file" if path else "public_key", str(exc)) from None
        key.done()
        keys.append((key_id, pem))
    if not keys:
        raise reader.fail("keys", "missing", "at least one { id, public_key } entry")
    reader.done()
    return KeyGroup(name, tuple(keys))


def _usage_plan(reader: TableReader) -> UsagePlan:
    name = reader.text("name", None)
    if not name:
        raise reader.fail("name", "missing", "a usage plan name")
    throttle = reader.child("throttle")
    quota_reader = reader.child("quota")
    quota = None
    if quota_reader.table:
        limit = quota_reader.integer("limit", None, minimum=1)
        if limit is None:
            raise quota_reader.fail("limit", "missing", "requests per period")
        period = quota_reader.choice("period", "DAY", QUOTA_PERIODS)
        quota_reader.done()
        quota = Quota(limit, period)
    fields = reader.choice("ratelimit_fields", "throttled", RATELIMIT_FIELDS)
    plan = UsagePlan(name, _throttle(throttle) if throttle.table else None, quota, fields)
    reader.done()
    return plan


def _api_key(reader: TableReader) -> ApiKey:
    name = reader.text("name", None)
    if not name:
        raise reader.fail("name", "missing", "an API key name")
    value = reader.text("value", None)
    env = reader.text("value_env", None)
    if (value is None) == (env is None):
        raise reader.fail("value", "give exactly one", "value or value_env")
    if value is not None and len(value) < 20:
        raise reader.fail("value", "is shorter than 20 characters", "API Gateway's minimum of 20")
    plan = reader.text("usage_plan", None)
    if not plan:
        raise reader.fail("usage_plan", "missing", "the name of a [[usage_plan]]")
    reader.done()
    return ApiKey(name, plan, value, env)


def _origin_group(reader: TableReader) -> OriginGroup:
    name = reader.text("name", None)
    if not name:
        raise reader.fail("name", "missing", "an origin group name")
    members = _strings(reader, "members")
    if len(members) != 2:
        raise reader.fail("members", f"{list(members)}", "[primary, secondary]")
    statuses = reader.raw("failover_statuses", [500, 502, 503, 504])
    if (
        not isinstance(statuses, list)
        or not statuses
        or not all(isinstance(s, int) and s in FAILOVER_STATUSES for s in statuses)
    ):
        raise reader.fail(
            "failover_statuses", f"{statuses!r}", f"statuses among {sorted(FAILOVER_STATUSES)}"
        )
    reader.done()
    return OriginGroup(name, (members[0], members[1]), frozenset(statuses))


def _external_origin(reader: TableReader, base: Path) -> ExternalOrigin:
    name = reader.text("name", None)
    if not name:
        raise reader.fail("name", "missing", "an origin name")
    url = reader.text("url", None)
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        raise reader.fail("url", f"{url!r}", "a base URL like https://127.0.0.1:8443 (no path)")
    assert url is not None
    ca_file = reader.text("ca_file", None)
    if ca_file is not None:
        path = base / ca_file
        if not path.is_file():
            raise reader.fail("ca_file", f"{path} is not a file", "a PEM file of CA certificates")
        ca_file = str(path)
    reader.done()
    return ExternalOrigin(name, url.rstrip("/"), ca_file)


def parse_gateway(top: TableReader, origins: tuple[str, ...]) -> Gateway:
    """The gateway of the topology read by ``top``; ``origins`` are the names of its origins
    (the topology's own; ``[[external_origin]]`` tables add origins it does not run)."""
    base = Path(top.source).parent
    external = tuple(_external_origin(r, base) for r in top.children("external_origin"))
    names = [*origins, *(e.name for e in external)]
    if len(names) != len(set(names)):
        raise ConfigError(
            f"{top.source}:external_origin",
            f"two origins are called alike: {names}",
            "unique names",
        )
    origins = tuple(names)
    groups = tuple(_origin_group(r) for r in top.children("origin_group"))
    key_groups = tuple(_key_group(r, base) for r in top.children("key_group"))
    plans = tuple(_usage_plan(r) for r in top.children("usage_plan"))
    api_keys = tuple(_api_key(r) for r in top.children("api_key"))
    readers = top.children("behavior")
    behaviors = tuple(_behavior(r, origins[0]) for r in readers)
    if not behaviors:
        if groups or external:
            raise ConfigError(
                f"{top.source}:behavior", "missing", "[[behavior]] tables that use the origins"
            )
        return default_gateway(origins[0])

    def check(where: str, name: str | None, known: list[str], what: str) -> None:
        if name is not None and name not in known:
            choices = ", ".join(known) or f"none defined: add a [[{what}]]"
            raise ConfigError(f"{top.source}:{where}", f"{name!r} is not defined", choices)

    targets = [*origins, *(g.name for g in groups)]
    plan_names = [p.name for p in plans]
    group_names = [g.name for g in key_groups]
    for index, group in enumerate(groups):
        for member in group.members:
            check(f"origin_group[{index}].members", member, list(origins), "origin")
    for index, key in enumerate(api_keys):
        check(f"api_key[{index}].usage_plan", key.usage_plan, plan_names, "usage_plan")
    values = [k.value for k in api_keys if k.value is not None]
    if len(values) != len(set(values)):
        raise ConfigError(f"{top.source}:api_key", "two keys have the same value", "unique values")
    for index, behavior in enumerate(behaviors):
        where = f"behavior[{index}]"
        check(f"{where}.target_origin", behavior.target_origin, targets, "origin_group")
        check(f"{where}.usage_plan", behavior.usage_plan, plan_names, "usage_plan")
        for group_name in behavior.trusted_key_groups:
            check(f"{where}.trusted_key_groups", group_name, group_names, "key_group")
        if behavior.api_key_required and behavior.usage_plan is None and not plans:
            raise ConfigError(
                f"{top.source}:{where}.api_key_required", "no usage plan exists", "a [[usage_plan]]"
            )
        if behavior.path_pattern.is_default and index != len(behaviors) - 1:
            raise ConfigError(
                f"{top.source}:{where}.path_pattern", "'*' is not last", "the default behavior last"
            )
    if not behaviors[-1].path_pattern.is_default:
        raise ConfigError(
            f"{top.source}:behavior[{len(behaviors) - 1}].path_pattern",
            f"the last behavior is {behaviors[-1].path_pattern.text!r}",
            "a default behavior with path_pattern = '*' last",
        )
    return Gateway(behaviors, key_groups, plans, api_keys, groups, external)
