"""S3-FIFO eviction (Yang et al., SOSP'23), as libCacheSim's original S3-FIFO (S3FIFOv0.c).

Rules: pure. Three FIFO queues, all counted in bytes:
- small: ``int(capacity * small_ratio)`` bytes (10%); new objects enter here, unless the key is in
  the ghost queue (then main). (libCacheSim's newer S3FIFO.c also sends new objects to main while
  the small queue is full before the first eviction; the reference miss counts in
  ../shared/traces/README.md are the original's, which this reproduces exactly.)
- main: the rest of the capacity; a 2-bit CLOCK: an object with ``freq >= 1`` at the tail is
  reinserted at the head with ``min(freq, 3) - 1``, otherwise evicted.
- ghost: keys only, ``int(capacity * ghost_ratio)`` bytes (90%) of recently evicted small objects.
Eviction takes from main when main is over its share or small is empty, else from small: a small
object hit ``move_to_main_threshold`` (2) times moves to main (freq reset), otherwise it is evicted
into the ghost queue. An object must be smaller than the small queue to be admitted
(libCacheSim evicts and then drops an object exactly the small queue's size; we reject it upfront).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import Cache

from cdn.cache.policies.base import EvictionListener


class S3FIFOCache(Cache):
    """S3-FIFO on the cachetools ``Cache`` contract (see the module docstring for the algorithm)."""

    on_evict: EvictionListener | None = None  # told (key, value) after each eviction

    def __init__(
        self,
        maxsize: int,
        getsizeof: Callable[[Any], int] | None = None,
        small_ratio: float = 0.10,
        ghost_ratio: float = 0.90,
        move_to_main_threshold: int = 2,
    ) -> None:
        if not 0.0 < small_ratio < 1.0:
            raise ValueError(f"small_ratio must be between 0 and 1, got {small_ratio}")
        if ghost_ratio < 0.0:
            raise ValueError(f"ghost_ratio must be >= 0, got {ghost_ratio}")
        Cache.__init__(self, maxsize, getsizeof)
        self.small_capacity = int(maxsize * small_ratio)
        self.main_capacity = maxsize - self.small_capacity
        self.ghost_capacity = int(maxsize * ghost_ratio)
        self.move_to_main_threshold = move_to_main_threshold
        # key -> size, oldest first
        self.__small: OrderedDict[Hashable, int] = OrderedDict()
        self.__main: OrderedDict[Hashable, int] = OrderedDict()
        self.__ghost: OrderedDict[Hashable, int] = OrderedDict()
        self.__small_bytes = self.__main_bytes = self.__ghost_bytes = 0
        self.__freq: dict[Hashable, int] = {}

    def __getitem__(self, key: Hashable, cache_getitem=Cache.__getitem__) -> Any:
        value = cache_getitem(self, key)
        freq = self.__freq
        if key in freq:
            freq[key] += 1
        return value

    def __setitem__(self, key: Hashable, value: Any, cache_setitem=Cache.__setitem__) -> None:
        size = self.getsizeof(value)
        if size >= self.small_capacity:
            raise ValueError("value too large")
        if key in self.__freq:
            cache_setitem(self, key, value)
            if key in self.__freq:
                self.__resize(key, size)
                return
            self.__place(key, size, from_ghost=False)  # its own growth evicted it
            return
        ghost = self.__ghost
        from_ghost = key in ghost
        if from_ghost:  # libCacheSim drops the ghost before making room
            self.__ghost_bytes -= ghost.pop(key)
        cache_setitem(self, key, value)
        self.__place(key, size, from_ghost)

    def __delitem__(self, key: Hashable, cache_delitem=Cache.__delitem__) -> None:
        cache_delitem(self, key)
        del self.__freq[key]
        if key in self.__small:
            self.__small_bytes -= self.__small.pop(key)
        else:
            self.__main_bytes -= self.__main.pop(key)

    def popitem(self) -> tuple[Hashable, Any]:
        """Evict one object: from main if main is over its share or small is empty, else small."""
        if not self.__freq:
            raise KeyError(f"{type(self).__name__} is empty")
        key = None
        if self.__main_bytes <= self.main_capacity and self.__small:
            key = self.__evict_small()
        if key is None:
            key = self.__evict_main()
        value = Cache.__getitem__(self, key)
        del self[key]
        listener = self.on_evict
        if listener is not None:
            listener(key, value)
        return key, value

    def clear(self) -> None:
        """Remove every object and forget the ghosts."""
        Cache.clear(self)
        for queue in (self.__small, self.__main, self.__ghost, self.__freq):
            queue.clear()
        self.__small_bytes = self.__main_bytes = self.__ghost_bytes = 0

    def queue_of(self, key: Hashable) -> str | None:
        """Which queue holds ``key``: "small", "main", "ghost" or None."""
        if key in self.__small:
            return "small"
        if key in self.__main:
            return "main"
        if key in self.__ghost:
            return "ghost"
        return None

    def frequency(self, key: Hashable) -> int:
        """The hit counter of a cached ``key``."""
        return self.__freq[key]

    def __place(self, key: Hashable, size: int, from_ghost: bool) -> None:
        self.__freq[key] = 0
        if from_ghost:
            self.__main[key] = size
            self.__main_bytes += size
        else:
            self.__small[key] = size
            self.__small_bytes += size

    def __resize(self, key: Hashable, size: int) -> None:
        if key in self.__small:
            self.__small_bytes += size - self.__small[key]
            self.__small[key] = size
        else:
            self.__main_bytes += size - self.__main[key]
            self.__main[key] = size

    def __evict_small(self) -> Hashable | None:
        """Promote hit small objects to main until one is cold; return it (None: small ran dry)."""
        small, freq = self.__small, self.__freq
        while small:
            key = next(iter(small))
            if freq[key] >= self.move_to_main_threshold:
                size = small.pop(key)
                self.__small_bytes -= size
                self.__main[key] = size
                self.__main_bytes += size
                freq[key] = 0
                continue
            self.__remember(key, small[key])
            return key
        return None

    def __evict_main(self) -> Hashable:
        main, freq = self.__main, self.__freq
        while True:
            key = next(iter(main))
            hits = freq[key]
            if hits < 1:
                return key
            main.move_to_end(key)
            freq[key] = min(hits, 3) - 1

    def __remember(self, key: Hashable, size: int) -> None:
        ghost = self.__ghost
        if key in ghost or size > self.ghost_capacity:
            return
        while self.__ghost_bytes + size > self.ghost_capacity:
            _, old = ghost.popitem(last=False)
            self.__ghost_bytes -= old
        ghost[key] = size
        self.__ghost_bytes += size
