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
Bookkeeping (per new object, the common case, as few hashed maps touched as possible): the small
queue is its FIFO order plus a parallel FIFO of the sizes (no map: an object entering or leaving
small touches no dict of its own), main a FIFO order plus a key -> size map (main's churn is the
promotions and ghost returns only); ``freq`` (key -> hits) holds every cached key, so small's
members are ``freq``'s keys not in main. A size asked for by key (a ``del`` or an overwrite of a
small object) is ``getsizeof`` of the stored value, as ``insert``'s contract says it is; a
resize in place of a small object finds its queued size by a scan (only direct callers resize
in place: the store deletes and re-inserts). A hit is one small Python call (``touch`` counts
it). A new key's
insertion runs its evictions inline, with the counters in locals: the listener sees the victim gone
from ``data``, but ``currsize``, ``evictions`` and the byte counts settle when the loop ends (also
when the listener raises), so it must not modify the cache. ``popitem`` (one eviction, also used by
overwrites) makes the same choice as one turn of that loop.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Any

from cdn.cache.policies.base import LeanCache

_NO_VICTIM = object()  # a sentinel: None is a valid key


class S3FIFOCache(LeanCache):
    """S3-FIFO on the cachetools ``Cache`` contract (see the module docstring for the algorithm)."""

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
        LeanCache.__init__(self, maxsize, getsizeof, {})
        self.small_capacity = int(maxsize * small_ratio)
        self.main_capacity = maxsize - self.small_capacity
        self.ghost_capacity = int(maxsize * ghost_ratio)
        self.move_to_main_threshold = move_to_main_threshold
        # Each queue's FIFO order, oldest first, as a deque of keys that may also hold stale
        # occurrences of keys deleted from the queue (counted per key in ``_*_stale``; they
        # precede the key's live occurrence, so a popped key with a stale count is skipped).
        # small: that order and the sizes beside it (``_small_sizes[i]`` is the size of
        # ``_small_order[i]``), and a count of its live members; main: its order and key -> size.
        self._small_order: deque[Hashable] = deque()
        self._small_sizes: deque[int] = deque()
        self._small_count = 0
        self._main: dict[Hashable, int] = {}
        self._main_order: deque[Hashable] = deque()
        self._small_stale: dict[Hashable, int] = {}
        self._main_stale: dict[Hashable, int] = {}
        self._ghost: OrderedDict[Hashable, int] = OrderedDict()  # key -> size, oldest first
        self._small_bytes = self._main_bytes = self._ghost_bytes = 0
        freq: dict[Hashable, int] = {}  # every cached key -> its hits (see the module docstring)
        self._freq = freq

        def touch(key: Hashable) -> None:
            freq[key] += 1

        self.touch = touch

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self.insert(key, value, self.getsizeof(value))

    def insert(self, key: Hashable, value: Any, size: int) -> None:
        """``self[key] = value`` where ``size`` is ``getsizeof(value)``, already known."""
        if size >= self.small_capacity:
            raise ValueError("value too large")
        data = self.data
        if key in data:  # (``data`` has ``freq``'s keys; a caller has just looked it up)
            self._overwrite(key, value, size)
            return
        ghost = self._ghost
        from_ghost = key in ghost
        if from_ghost:  # libCacheSim drops the ghost before making room
            self._ghost_bytes -= ghost.pop(key)
        if size < 0:
            raise ValueError("value size must be non-negative")
        freq = self._freq
        currsize, limit = self.currsize, self.maxsize - size
        if currsize > limit:
            # ``popitem`` inlined: one call per insertion rather than per victim.
            main = self._main
            small_order, main_order = self._small_order, self._main_order
            small_sizes = self._small_sizes
            small_stale, main_stale = self._small_stale, self._main_stale
            small_count = self._small_count
            small_bytes, main_bytes, ghost_bytes = (
                self._small_bytes,
                self._main_bytes,
                self._ghost_bytes,
            )
            main_capacity, ghost_capacity = self.main_capacity, self.ghost_capacity
            threshold, listener, evicted = self.move_to_main_threshold, self.on_evict, 0
            try:
                while currsize > limit:
                    victim = _NO_VICTIM
                    if small_count and main_bytes <= main_capacity:
                        while small_count:
                            victim = small_order.popleft()
                            victim_size = small_sizes.popleft()
                            if small_stale and _was_stale(small_stale, victim):
                                continue
                            small_count -= 1
                            small_bytes -= victim_size
                            hits = freq.pop(victim)
                            if hits >= threshold:
                                main[victim] = victim_size
                                main_order.append(victim)
                                main_bytes += victim_size
                                freq[victim] = 0
                                victim = _NO_VICTIM
                                continue
                            if victim not in ghost and victim_size <= ghost_capacity:
                                ghost_bytes += victim_size
                                while ghost_bytes > ghost_capacity:
                                    ghost_bytes -= ghost.popitem(False)[1]
                                ghost[victim] = victim_size
                            break
                    if victim is _NO_VICTIM:
                        while True:
                            victim = main_order.popleft()
                            if main_stale and _was_stale(main_stale, victim):
                                continue
                            hits = freq[victim]
                            if hits < 1:
                                del freq[victim]
                                break
                            main_order.append(victim)  # back to the head, same size
                            freq[victim] = (hits if hits < 3 else 3) - 1
                        victim_size = main.pop(victim)
                        main_bytes -= victim_size
                    victim_value = data.pop(victim)
                    currsize -= victim_size
                    evicted += 1
                    if listener is not None:
                        listener(victim, victim_value)
            finally:
                self._small_bytes, self._main_bytes = small_bytes, main_bytes
                self._ghost_bytes, self.evictions = ghost_bytes, self.evictions + evicted
                self._small_count = small_count
                self.currsize = currsize
        data[key] = value
        self.currsize = currsize + size
        freq[key] = 0
        if from_ghost:
            self._main[key] = size
            self._main_order.append(key)
            self._main_bytes += size
        else:
            self._small_order.append(key)
            self._small_sizes.append(size)
            self._small_count += 1
            self._small_bytes += size

    def __delitem__(self, key: Hashable) -> None:
        value = self.data.pop(key)
        del self._freq[key]
        size = self._main.pop(key, None)
        if size is None:
            size = self.getsizeof(value)
            self._small_bytes -= size
            self._small_count -= 1
            stale = self._small_stale
        else:
            self._main_bytes -= size
            stale = self._main_stale
        stale[key] = stale.get(key, 0) + 1  # its occurrence in the queue's order is stale now
        self.currsize -= size

    def popitem(self) -> tuple[Hashable, Any]:
        """Evict one object: from main if main is over its share or small is empty, else small."""
        freq = self._freq
        if not freq:
            raise KeyError(f"{type(self).__name__} is empty")
        main = self._main
        small_stale, main_stale = self._small_stale, self._main_stale
        victim = _NO_VICTIM
        if self._small_count and self._main_bytes <= self.main_capacity:
            # Promote hit small objects to main until one is cold; it goes to the ghost queue.
            threshold = self.move_to_main_threshold
            while self._small_count:
                victim = self._small_order.popleft()
                size = self._small_sizes.popleft()
                if small_stale and _was_stale(small_stale, victim):
                    continue
                self._small_count -= 1
                self._small_bytes -= size
                hits = freq.pop(victim)
                if hits >= threshold:
                    main[victim] = size
                    self._main_order.append(victim)
                    self._main_bytes += size
                    freq[victim] = 0
                    victim = _NO_VICTIM
                    continue
                # Remember it in the ghost queue (FIFO, by bytes), unless already there or too big.
                ghost, ghost_capacity = self._ghost, self.ghost_capacity
                if victim not in ghost and size <= ghost_capacity:
                    ghost_bytes = self._ghost_bytes + size
                    while ghost_bytes > ghost_capacity:
                        ghost_bytes -= ghost.popitem(False)[1]
                    ghost[victim] = size
                    self._ghost_bytes = ghost_bytes
                break
        if victim is _NO_VICTIM:  # main's 2-bit CLOCK: a hit tail goes back to the head
            while True:
                victim = self._main_order.popleft()
                if main_stale and _was_stale(main_stale, victim):
                    continue
                hits = freq[victim]
                if hits < 1:
                    del freq[victim]
                    break
                self._main_order.append(victim)
                freq[victim] = (hits if hits < 3 else 3) - 1
            size = main.pop(victim)
            self._main_bytes -= size
        value = self.data.pop(victim)
        self.currsize -= size
        self.evictions += 1
        listener = self.on_evict
        if listener is not None:
            listener(victim, value)
        return victim, value

    def clear(self) -> None:
        """Remove every object and forget the ghosts."""
        self.data.clear()
        for queue in (
            self._small_order,
            self._small_sizes,
            self._main,
            self._main_order,
            self._small_stale,
            self._main_stale,
            self._ghost,
            self._freq,
        ):
            queue.clear()
        self.currsize = self._small_bytes = self._main_bytes = self._ghost_bytes = 0
        self._small_count = 0

    def queue_of(self, key: Hashable) -> str | None:
        """Which queue holds ``key``: "small", "main", "ghost" or None."""
        if key in self._main:
            return "main"
        if key in self._freq:
            return "small"
        if key in self._ghost:
            return "ghost"
        return None

    def frequency(self, key: Hashable) -> int:
        """The hit counter of a cached ``key``."""
        return self._freq[key]

    def _overwrite(self, key: Hashable, value: Any, size: int) -> None:
        """Replace a cached key's value, as cachetools does (it may evict itself making room)."""
        if size < 0:
            raise ValueError("value size must be non-negative")
        freq, main = self._freq, self._main
        old = main[key] if key in main else self.getsizeof(self.data[key])
        diff = size - old
        while self.currsize + diff > self.maxsize:
            self.popitem()
            if key not in freq:
                diff = size
        self.data[key] = value
        self.currsize += diff
        if key in freq:  # resize in place
            if key in main:
                self._main_bytes += diff
                main[key] = size
            else:
                self._small_bytes += diff
                if diff:
                    _resize_queued(self._small_order, self._small_sizes, key, size)
        else:  # its own growth evicted it: back as a new small object
            freq[key] = 0
            self._small_order.append(key)
            self._small_sizes.append(size)
            self._small_count += 1
            self._small_bytes += size


def _resize_queued(order: deque[Hashable], sizes: deque[int], key: Hashable, size: int) -> None:
    """Set the queued size of ``key``'s live occurrence (its last one) in ``order`` to ``size``.

    O(queue length): only a resize in place comes here (the store never resizes in place).
    """
    index = len(order) - 1
    for queued in reversed(order):
        if queued == key:
            sizes[index] = size
            return
        index -= 1
    raise KeyError(key)


def _was_stale(stale: dict[Hashable, int], key: Hashable) -> bool:
    """Whether this occurrence of ``key`` popped from a queue's order is stale (then counted off)."""
    count = stale.get(key)
    if count is None:
        return False
    if count == 1:
        del stale[key]
    else:
        stale[key] = count - 1
    return True
