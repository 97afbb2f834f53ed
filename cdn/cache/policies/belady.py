"""Belady's MIN (offline optimal for unit sizes): evict the object whose next use is farthest.

Rules: pure. The policy cannot see the future itself: before each access the caller calls
``schedule(key, next_access)`` with the index of that object's next request (oracleGeneral traces
carry it; ``next_access_indices`` computes it from a request sequence). ``None`` means never again.
An access without a schedule counts as never used again. Like libCacheSim's Belady it always
inserts and ignores object size when choosing the victim, so with mixed sizes it is a strong
upper-bound heuristic, not a proof of optimality. Ties are broken oldest schedule first.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from cdn.cache.policies.base import LeanCache

NEVER = 2**63 - 1  # libCacheSim's INT64_MAX "no next access"


def next_access_indices(keys: Iterable[Hashable]) -> list[int | None]:
    """For each request in ``keys``, the index of the next request for the same key (None: never)."""
    sequence = list(keys)
    following: list[int | None] = [None] * len(sequence)
    seen: dict[Hashable, int] = {}
    for index in range(len(sequence) - 1, -1, -1):
        key = sequence[index]
        following[index] = seen.get(key)
        seen[key] = index
    return following


class BeladyCache(LeanCache):
    """Belady's MIN on the cachetools ``Cache`` contract, fed by ``schedule()`` before each access.

    Owns its storage (``LeanCache``: ``data`` and the sizes beside it); insertion follows
    cachetools' ``Cache.__setitem__`` rules exactly (evict while a new or growing value does not
    fit, a cached key's old size counting as freed; the key may evict itself, then store).
    """

    touch = None  # a hit changes nothing here: ``schedule`` does the bookkeeping

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        LeanCache.__init__(self, maxsize, getsizeof, {})
        self.__sizes: dict[Hashable, int] = {}
        self.__when: dict[Hashable, int] = {}  # cached key -> next access index
        self.__heap: list[tuple[int, int, Hashable]] = []  # (-next access, tiebreak, key), lazy
        self.__serial = 0
        self.__pending_key: Hashable = None
        self.__pending_next = NEVER

    def schedule(self, key: Hashable, next_access: int | None) -> None:
        """Declare that ``key`` is being requested now and is next requested at ``next_access``."""
        when = NEVER if next_access is None or next_access < 0 else next_access
        self.__pending_key = key
        self.__pending_next = when
        if key in self.__when:
            self.__push(key, when)

    def next_access(self, key: Hashable) -> int | None:
        """The scheduled next access of a cached ``key`` (None: never)."""
        when = self.__when[key]
        return None if when == NEVER else when

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self._store_sized(key, value, self.__sizes)
        if key in self.__when:
            return
        when = self.__pending_next if key == self.__pending_key else NEVER
        self.__push(key, when)

    def __delitem__(self, key: Hashable) -> None:
        del self.data[key]
        self.currsize -= self.__sizes.pop(key)
        del self.__when[key]

    def popitem(self) -> tuple[Hashable, Any]:
        """Evict the cached object whose next access is farthest in the future."""
        heap, when = self.__heap, self.__when
        while heap:
            negative, _, key = heapq.heappop(heap)
            if when.get(key) == -negative:
                value = self.data[key]
                del self[key]
                self.evictions += 1
                listener = self.on_evict
                if listener is not None:
                    listener(key, value)
                return key, value
        raise KeyError(f"{type(self).__name__} is empty")

    def clear(self) -> None:
        """Remove every object and its schedule."""
        self.data.clear()
        self.__sizes.clear()
        self.currsize = 0
        self.__when.clear()
        self.__heap.clear()

    def __push(self, key: Hashable, when: int) -> None:
        self.__when[key] = when
        self.__serial += 1
        heap = self.__heap
        heapq.heappush(heap, (-when, self.__serial, key))
        if len(heap) > 4 * len(self.__when) + 64:  # drop stale heap records now and then
            live = self.__when
            self.__heap = [item for item in heap if live.get(item[2]) == -item[0]]
            heapq.heapify(self.__heap)
