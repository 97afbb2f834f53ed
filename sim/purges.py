"""Scheduled purges: ``--purge-at 300:tag=catalog`` and friends, applied as SimPy events.

Rules: a purge spec is ``AT:KIND=VALUE[:soft]`` with AT a duration (``300``, ``5m``), KIND one of
``tag`` (surrogate key), ``prefix`` (URL path prefix) or ``url`` (one path). Hard purges remove
entries; soft purges mark them stale so the next request revalidates. Every cache node is purged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cdn.units import parse_duration

PURGE_KINDS = ("tag", "prefix", "url")
PURGE_EXPECTED = (
    "AT:KIND=VALUE[:soft] like '300:tag=catalog', '5m:prefix=/obj/' or '60:url=/obj/7:soft'"
)


@dataclass(frozen=True, slots=True)
class Purge:
    """Invalidate ``kind``=``value`` on every cache at simulated time ``at`` (soft: mark stale)."""

    at: float
    kind: str
    value: str
    soft: bool = False


def parse_purge(text: str) -> Purge:
    """A Purge from its command-line spec; ValueError naming the spec and the expected form."""
    parts = text.split(":")
    soft = False
    if len(parts) == 3 and parts[2] in ("soft", "hard"):
        soft = parts[2] == "soft"
        parts = parts[:2]
    if len(parts) != 2 or "=" not in parts[1]:
        raise ValueError(f"purge {text!r} is not valid (expected {PURGE_EXPECTED})")
    try:
        at = parse_duration(parts[0])
    except ValueError:
        raise ValueError(
            f"purge {text!r} has a bad time {parts[0]!r} (expected {PURGE_EXPECTED})"
        ) from None
    kind, _, value = parts[1].partition("=")
    if kind not in PURGE_KINDS or not value:
        raise ValueError(
            f"purge {text!r} has a bad target {parts[1]!r} (expected {PURGE_EXPECTED})"
        )
    return Purge(at=at, kind=kind, value=value, soft=soft)


def apply_purge(nodes: Iterable[Any], purge: Purge) -> None:
    """Carry out ``purge`` on the store of every cache node in ``nodes`` (``CacheNodeSim``)."""
    for node in nodes:
        store = node.cache.store
        if purge.kind == "tag":
            store.purge_tag(purge.value, soft=purge.soft)
        elif purge.kind == "prefix":
            store.purge_prefix(purge.value, soft=purge.soft)
        else:
            store.purge_key(purge.value, soft=purge.soft)
