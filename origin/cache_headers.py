"""The caching headers the origin sends for a path, from the longest-prefix cache rule.

Rules: pure functions of the rules, the path, the object id and ``now``.
"""

from __future__ import annotations

from cdn.http.dates import format_http_date
from cdn.topology import DEFAULT_RULE, CacheRule

__all__ = ["cache_headers", "rule_for", "surrogate_keys"]


def rule_for(rules: tuple[CacheRule, ...], path: str) -> CacheRule:
    """The rule with the longest prefix of ``path`` (the default rule when none matches).

    Same choice as ``Topology.rule_for``, for settings that carry rules without a topology.
    """
    best = DEFAULT_RULE
    for rule in rules:
        if path.startswith(rule.prefix) and len(rule.prefix) >= len(best.prefix):
            best = rule
    return best


def surrogate_keys(rule: CacheRule, obj_id: int | None) -> list[str]:
    """The rule's surrogate keys with ``{id}`` replaced (keys needing an id are dropped without one)."""
    keys = []
    for key in rule.surrogate_keys:
        if "{id}" in key:
            if obj_id is None:
                continue
            key = key.replace("{id}", str(obj_id))
        keys.append(key)
    return keys


def cache_headers(rule: CacheRule, obj_id: int | None, now: float) -> list[tuple[str, str]]:
    """Cache-Control, Expires, Vary, Surrogate-Key and the rule's extra headers, in that order."""
    fields: list[tuple[str, str]] = []
    if rule.cache_control is not None:
        fields.append(("Cache-Control", rule.cache_control))
    if rule.expires_in is not None:
        fields.append(("Expires", format_http_date(now + rule.expires_in)))
    if rule.vary:
        fields.append(("Vary", rule.vary))
    keys = surrogate_keys(rule, obj_id)
    if keys:
        fields.append(("Surrogate-Key", " ".join(keys)))
    fields.extend(rule.headers)
    return fields
