"""Cache rules applied: the caching fields the origin sends for an object under a rule.

Rules: pure functions of the rules, the path, the object id and ``now``. The live origin and the
simulator's synthetic origin both call ``rule_headers``, so the edge and the simulated caches see
the same Cache-Control, Expires, Vary and Surrogate-Key for the same object.
"""

from __future__ import annotations

from cdn.http.dates import format_http_date
from cdn.topology.model import CacheRule


def surrogate_keys(rule: CacheRule, obj_id: int | None) -> list[str]:
    """The rule's surrogate keys with ``{id}`` filled in (keys needing an id are dropped without one)."""
    keys = []
    for key in rule.surrogate_keys:
        if "{id}" in key:
            if obj_id is None:
                continue
            key = key.replace("{id}", str(obj_id))
        keys.append(key)
    return keys


def rule_headers(rule: CacheRule, obj_id: int | None, now: float) -> list[tuple[str, str]]:
    """Cache-Control, Expires, Vary, Surrogate-Key and the rule's extra fields, in that order."""
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
