"""Primary cache keys of request targets: the core's ``cdn.ring.peer_key``, memoised.

Rules: the key is exactly what a peer group hashes and what the simulator hashes
(``cdn.ring.peer_key`` = ``cdn.http.cache_key`` on the configured site with the edge's
query-parameter options), so a live edge and a simulated one shard and store alike. The
site is the configured origin's host:port, never the client's Host.
"""

from __future__ import annotations

from cdn.ring import peer_key
from edge.settings import EdgeSettings

__all__ = ["CacheKeys"]

# Targets remembered; past this the memo starts over (bounded memory under scans).
_MEMO_LIMIT = 65536


class CacheKeys:
    """``key_of(target)`` for one edge's site and query options."""

    __slots__ = ("_ignore", "_keys", "_site", "_sort")

    def __init__(self, settings: EdgeSettings) -> None:
        self._site = settings.site_host
        self._ignore = frozenset(settings.ignore_query_params)
        self._sort = settings.sort_query_params
        self._keys: dict[str, str] = {}

    @property
    def site(self) -> str:
        """The host:port of every key."""
        return self._site

    def key_of(self, target: str) -> str:
        """The primary cache key (= peer key) of a request target (memoised)."""
        key = self._keys.get(target)
        if key is None:
            key = peer_key(self._site, target, ignore_params=self._ignore, sort_params=self._sort)
            if len(self._keys) >= _MEMO_LIMIT:
                self._keys.clear()
            self._keys[target] = key
        return key
