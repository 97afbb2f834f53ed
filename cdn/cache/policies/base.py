"""The eviction-notice hook every policy in the registry carries, and the cachetools policies.

Rules: pure (no I/O, no clock, no randomness). A policy is a ``cachetools.Cache``: a byte-bounded
mapping (``maxsize`` = capacity, ``getsizeof`` = object size) whose ``popitem()`` picks the victim.
The hook reports each victim so an owner (the store) can keep its own indexes in step; removals by
``del`` are the owner's own doing and are not reported.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import cachetools

EvictionListener = Callable[[Hashable, Any], None]


class EvictionNotifier:
    """Mixin: after the policy's own ``popitem()`` evicts ``(key, value)``, call ``on_evict`` with it."""

    on_evict: EvictionListener | None = None

    def popitem(self) -> tuple[Hashable, Any]:
        """Evict the policy's victim, tell the listener, and return ``(key, value)``."""
        key, value = super().popitem()  # type: ignore[misc]
        listener = self.on_evict
        if listener is not None:
            listener(key, value)
        return key, value


class LRUPolicy(EvictionNotifier, cachetools.LRUCache):
    """Least recently used: a hit moves the object to the head; the tail is evicted."""


class FIFOPolicy(EvictionNotifier, cachetools.FIFOCache):
    """First in, first out: a hit does not reorder; the oldest insertion is evicted."""


class LFUPolicy(EvictionNotifier, cachetools.LFUCache):
    """Least frequently used (in-cache frequency); ties are evicted least recently used first."""
