"""The eviction-policy registry: one name per policy, one factory per name.

Rules: pure. Every policy is a ``cachetools.Cache`` (byte capacity = ``maxsize``, object size =
``getsizeof(value)``) with an ``on_evict(key, value)`` hook, called after each eviction (by
``popitem()`` or while an insertion makes room; not on ``del``), that the store uses to keep its
indexes in step; every policy is ours (``base.LeanCache``) and calls it from its eviction loops.
Each also offers ``data`` (key -> value, read only), ``touch(key)`` (hit bookkeeping, or None)
and an ``evictions`` count, the store's direct hot path (see ``base``). ``lru``, ``fifo`` and
``lfu`` make exactly the choices of cachetools' LRUCache / FIFOCache / LFUCache (tested step for
step); ``sieve`` and ``s3fifo`` follow libCacheSim; ``belady`` needs ``schedule(key,
next_access)`` before each access (the simulator's upper bound). cachetools' internals are
touched only in ``cachetools_private``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from cachetools import Cache

from cdn.cache.policies.base import (
    EvictionListener,
    FIFOPolicy,
    LeanCache,
    LFUPolicy,
    LRUPolicy,
)
from cdn.cache.policies.belady import NEVER, BeladyCache, next_access_indices
from cdn.cache.policies.s3fifo import S3FIFOCache
from cdn.cache.policies.sieve import SieveCache


class PolicyFactory(Protocol):
    """Builds an empty policy: ``factory(maxsize, getsizeof=None, **options)``."""

    def __call__(
        self, maxsize: int, getsizeof: Callable[[Any], int] | None = None, **options: Any
    ) -> Cache: ...


POLICIES: dict[str, PolicyFactory] = {
    "lru": LRUPolicy,
    "fifo": FIFOPolicy,
    "lfu": LFUPolicy,
    "sieve": SieveCache,
    "s3fifo": S3FIFOCache,
    "belady": BeladyCache,
}

# Policies whose choices depend on ``schedule(key, next_access)`` before each access.
NEEDS_FUTURE: frozenset[str] = frozenset({"belady"})
# The one list of policy names (topology, CLI, planner read it from here), and those a live
# node or a geographic run can use (no knowledge of the future).
POLICY_NAMES: tuple[str, ...] = tuple(POLICIES)
ONLINE_POLICIES: tuple[str, ...] = tuple(name for name in POLICIES if name not in NEEDS_FUTURE)


def make_policy(
    name: str,
    maxsize: int,
    getsizeof: Callable[[Any], int] | None = None,
    on_evict: EvictionListener | None = None,
    **options: Any,
) -> Cache:
    """Build the policy registered as ``name``; ``on_evict(key, value)`` hears each eviction."""
    try:
        factory = POLICIES[name]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise ValueError(f"unknown eviction policy {name!r} (expected one of {known})") from None
    if maxsize < 0:
        raise ValueError(f"capacity must be >= 0 bytes, got {maxsize}")
    policy = factory(maxsize, getsizeof, **options)
    policy.on_evict = on_evict  # type: ignore[attr-defined]
    return policy


__all__ = [
    "NEEDS_FUTURE",
    "NEVER",
    "ONLINE_POLICIES",
    "POLICIES",
    "POLICY_NAMES",
    "BeladyCache",
    "EvictionListener",
    "FIFOPolicy",
    "LFUPolicy",
    "LRUPolicy",
    "LeanCache",
    "PolicyFactory",
    "S3FIFOCache",
    "SieveCache",
    "make_policy",
    "next_access_indices",
]
