"""What the edge puts in the core's Store: an Entry with its body bytes and ready-made headers.

Rules: the core's ``cdn.cache.Store`` holds these objects (they satisfy its ``Storable``
protocol), so the body leaves memory exactly when the Store evicts, replaces or purges the
entry: there is no second map to reconcile. A soft purge (``dataclasses.replace(obj,
invalidated=True)`` inside the Store) carries over to the wrapped Entry in ``__post_init__``.

Everything a hit needs that does not change with the clock is computed once here:
the header lines to send (via the core's ``serve_headers``, minus the per-request Age,
Via, Cache-Status, X-Cache and Content-Length), the upstream's Via and Cache-Status values to
append to, and a memo of the last hit's fields and rendered header block (``edge.wire``),
keyed by (age, ttl, tier): rebuilt about once a second per object, reused by every hit between.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from cdn.http import Entry, serve_headers

__all__ = ["PER_RESPONSE_FIELDS", "CachedObject", "served_pairs"]

# Fields the edge writes itself on every response (merged with the upstream's where a list).
PER_RESPONSE_FIELDS = frozenset({"age", "via", "cache-status", "x-cache", "content-length"})


def served_pairs(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """``pairs`` without the fields the edge writes per response."""
    return tuple(pair for pair in pairs if pair[0].lower() not in PER_RESPONSE_FIELDS)


def _joined(entry: Entry, name: str) -> str:
    return ", ".join(entry.headers.get_all(name))


@dataclass(slots=True, eq=False)
class CachedObject:
    """A stored response variant: the core's ``entry`` and its ``body``.

    ``key``, ``variant``, ``size``, ``surrogate_keys`` and ``invalidated`` are what the Store
    reads. ``client_pairs`` / ``tier_pairs`` are the header lines for clients and for our own
    downstream caches (these keep Surrogate-Key). ``memo`` caches the last hit's fields and bytes.
    """

    entry: Entry
    body: bytes
    invalidated: bool = False
    key: str = field(init=False)
    variant: tuple[Any, ...] = field(init=False)
    size: int = field(init=False)
    surrogate_keys: frozenset[str] = field(init=False)
    client_pairs: tuple[tuple[str, str], ...] = field(init=False)
    tier_pairs: tuple[tuple[str, str], ...] = field(init=False)
    upstream_via: str = field(init=False)
    upstream_cache_status: str = field(init=False)
    memo: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        entry = self.entry
        if self.invalidated and not entry.invalidated:
            entry = self.entry = dataclasses.replace(entry, invalidated=True)
        self.invalidated = entry.invalidated
        self.key = entry.key
        self.variant = entry.variant
        self.size = entry.size
        self.surrogate_keys = entry.surrogate_keys
        now = entry.response_time  # Age is replaced per response; any instant will do
        self.client_pairs = served_pairs(serve_headers(entry, now, to_client=True).items())
        self.tier_pairs = served_pairs(serve_headers(entry, now, to_client=False).items())
        self.upstream_via = _joined(entry, "via")
        self.upstream_cache_status = _joined(entry, "cache-status")

    def with_entry(self, entry: Entry) -> CachedObject:
        """The same body under a new entry (a 304 freshened it)."""
        return CachedObject(entry, self.body)
