"""The eviction-notice hook and hit path every policy in the registry carries; lru, fifo and lfu.

Rules: pure (no I/O, no clock, no randomness). A policy is a ``cachetools.Cache``: a byte-bounded
mapping (``maxsize`` = capacity, ``getsizeof`` = object size) whose ``popitem()`` picks the victim.
Besides the mapping, each registry policy offers what the store's hot paths use directly:
- ``data``: the mapping of cached key -> value itself (read it, never write it): ``key in data``
  and ``data[key]`` are C-level dict operations with no hit bookkeeping;
- ``touch``: ``touch(key)`` does the hit bookkeeping of a cached key (what ``cache[key]`` does
  besides returning the value), or None when a hit changes nothing;
- ``insert(key, value, size)``: ``cache[key] = value`` with ``size`` (= ``getsizeof(value)``)
  given, since the store knows an entry's size (no ``getsizeof`` call per insertion);
- ``evictions``: how many objects the policy has evicted (by ``popitem()`` or to make room);
- ``on_evict``: told ``(key, value)`` after each eviction; removals by ``del`` are the owner's own
  doing and are not reported. The victim is already gone from ``data``, but an insertion's
  eviction loop may settle ``currsize`` and ``evictions`` only when it ends (also when the listener
  raises: the victims so far stay evicted and counted), so the listener must not read those or
  modify the policy.

``LeanCache`` is the base of our own policies: it keeps the cachetools contract (same errors,
same eviction-before-insertion order, same overwrite rules) without cachetools' generic
per-operation call chain (``__setitem__`` -> ``popitem`` -> ``__delitem__`` -> hook); each policy
inlines its insertion and eviction: a new key's insertion runs its eviction loop in place, while
overwrites (rare) and direct calls take one victim per ``popitem()``. ``LRUPolicy`` and
``FIFOPolicy`` are exact replacements of ``cachetools.LRUCache`` / ``FIFOCache`` (+ the hook): the
same victims in the same order, the same overwrite behaviour (an overwrite is a use for LRU and
re-queues the key for FIFO), the same currsize, the same errors. Two differences, both outside
what callers rely on: iteration is in the policy's order (oldest first) rather than
first-insertion order, and ``items()``/``values()`` read without hit bookkeeping (cachetools'
views call ``cache[key]``, a use, for each key; ours would reorder the dict being iterated). So,
as with any dict, do not hit (``cache[key]``) an LRU while iterating it. ``LFUPolicy`` is
cachetools' LFUCache algorithm (frequency links) on our storage, with the same choices;
``_store_sized`` is cachetools 8's ``Cache.__setitem__`` for policies that keep no inline loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, ItemsView, Iterator, ValuesView
from typing import Any, NoReturn

import cachetools

from cdn.cache.policies.cachetools_private import adopt_data

EvictionListener = Callable[[Hashable, Any], None]


class LeanCache(cachetools.Cache):
    """A ``cachetools.Cache`` that owns its storage: ``data`` (key -> value) and plain counters.

    ``Cache.__init__`` is not called; ``data`` is also cachetools' private data dict, so the
    inherited readers (``Cache.__getitem__`` as a peek, ``get``, ``pop``) work as before. ``currsize`` and
    ``maxsize`` are plain attributes (the class attributes shadow ``Cache``'s properties).
    Subclasses implement ``__setitem__``, ``__delitem__``, ``popitem`` and ``clear``.
    """

    currsize = 0
    maxsize = 0
    evictions = 0
    on_evict: EvictionListener | None = None
    touch: Callable[[Hashable], Any] | None = None

    def __init__(
        self,
        maxsize: int,
        getsizeof: Callable[[Any], int] | None,
        data: dict[Hashable, Any],
    ) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be non-negative")
        if getsizeof is not None:
            self.getsizeof = getsizeof  # type: ignore[method-assign]
        self.maxsize = maxsize
        self.currsize = 0
        self.evictions = 0
        self.data = data
        # ``Cache.__getitem__(cache, key)`` (a peek without bookkeeping) reads it there.
        adopt_data(self, data)

    def insert(self, key: Hashable, value: Any, size: int) -> None:
        """``self[key] = value`` where ``size`` is ``getsizeof(value)``, already known.

        The store's insertion (it knows an entry's size): policies with an inline insertion
        take the size from here instead of a ``getsizeof`` call; the others store by
        ``__setitem__``.
        """
        self[key] = value

    def __getitem__(self, key: Hashable) -> Any:
        try:
            value = self.data[key]
        except KeyError:
            return self.__missing__(key)
        touch = self.touch
        if touch is not None:
            touch(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def items(self) -> ItemsView[Hashable, Any]:
        """The (key, value) pairs, read without hit bookkeeping (iterating may not reorder)."""
        return self.data.items()

    def values(self) -> ValuesView[Any]:
        """The values, read without hit bookkeeping (iterating may not reorder)."""
        return self.data.values()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.data!r}, maxsize={self.maxsize!r}, "
            f"currsize={self.currsize!r})"
        )

    def __copy__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be copied")

    def _store_sized(self, key: Hashable, value: Any, sizes: dict[Hashable, int]) -> None:
        """Store ``value`` under ``key`` by cachetools' ``Cache.__setitem__`` rules (8.0).

        Too large or negative: ValueError. Otherwise evict (``popitem``) until it fits, counting
        a cached key's old size as freed (it may evict itself: then it is stored as new).
        ``sizes`` is the subclass's key -> size map, kept beside ``data``.
        """
        size = self.getsizeof(value)
        if size > self.maxsize:
            raise ValueError("value too large")
        if size < 0:
            raise ValueError("value size must be non-negative")
        data = self.data
        if key in data and self._room_to_resize(key, sizes[key], size):
            self.currsize += size - sizes[key]
        else:
            while self.currsize + size > self.maxsize:
                self.popitem()
            self.currsize += size
        data[key] = value
        sizes[key] = size

    def _room_to_resize(self, key: Hashable, old: int, size: int) -> bool:
        """Evict, one ``popitem()`` at a time, until cached ``key`` can go from ``old`` to ``size``.

        As cachetools, the key keeps its place meanwhile and may evict itself: then False, and the
        caller stores it as a new key (whose insertion makes whatever room is still missing).
        """
        while self.currsize + size - old > self.maxsize:
            self.popitem()
            if key not in self.data:
                return False
        return True


class _QueueCache(LeanCache):
    """LRU and FIFO: ``data`` is an OrderedDict, oldest (the next victim) first; sizes beside it."""

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        LeanCache.__init__(self, maxsize, getsizeof, OrderedDict())
        self._sizes: dict[Hashable, int] = {}

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self.insert(key, value, self.getsizeof(value))

    def insert(self, key: Hashable, value: Any, size: int) -> None:
        """``self[key] = value`` where ``size`` is ``getsizeof(value)``, already known."""
        maxsize = self.maxsize
        if size > maxsize:
            raise ValueError("value too large")
        if size < 0:
            raise ValueError("value size must be non-negative")
        data, sizes = self.data, self._sizes
        # ``data`` and ``sizes`` hold the same keys; ``data``'s table is the one the caller has
        # just probed (a store's lookup), still in the CPU caches.
        if key in data and self._overwrite(key, value, size):
            return
        # As cachetools: evict (oldest first) until the new size fits, then store. ``currsize``
        # counts the new size already; the attributes are written once, after the loop.
        currsize = self.currsize + size
        if currsize > maxsize:
            listener, evicted = self.on_evict, 0
            try:
                while currsize > maxsize:
                    victim, victim_value = data.popitem(False)
                    currsize -= sizes.pop(victim)
                    evicted += 1
                    if listener is not None:
                        listener(victim, victim_value)
            except BaseException:  # a raising listener: the victims so far stay evicted
                self.currsize, self.evictions = currsize - size, self.evictions + evicted
                raise
            self.evictions += evicted
        data[key] = value
        sizes[key] = size
        self.currsize = currsize

    def _overwrite(self, key: Hashable, value: Any, size: int) -> bool:
        """Replace a cached key's value and send it to the young end: True.

        False when making room evicted the key itself: it is now a new key.
        """
        sizes = self._sizes
        old = sizes[key]
        if not self._room_to_resize(key, old, size):
            return False
        data = self.data
        data[key] = value
        data.move_to_end(key)
        sizes[key] = size
        self.currsize += size - old
        return True

    def __delitem__(self, key: Hashable) -> None:
        size = self._sizes.pop(key)
        del self.data[key]
        self.currsize -= size

    def popitem(self) -> tuple[Hashable, Any]:
        """Evict the oldest entry (least recently used for LRU, first inserted for FIFO)."""
        try:
            key, value = self.data.popitem(False)
        except KeyError:
            raise KeyError(f"{type(self).__name__} is empty") from None
        self.currsize -= self._sizes.pop(key)
        self.evictions += 1
        listener = self.on_evict
        if listener is not None:
            listener(key, value)
        return key, value

    def clear(self) -> None:
        """Remove every entry."""
        self.data.clear()
        self._sizes.clear()
        self.currsize = 0


class LRUPolicy(_QueueCache):
    """Least recently used: a hit moves the object to the head; the tail is evicted."""

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        _QueueCache.__init__(self, maxsize, getsizeof)
        self.touch = self.data.move_to_end  # a C call: the hit path runs no Python frame


class FIFOPolicy(_QueueCache):
    """First in, first out: a hit does not reorder; the oldest insertion is evicted."""


class _FrequencyLink:
    """The keys used ``count`` times, least recently used first; links are kept by count."""

    __slots__ = ("count", "keys", "next", "prev")

    def __init__(self, count: int) -> None:
        self.count = count
        self.keys: OrderedDict[Hashable, None] = OrderedDict()
        self.next: _FrequencyLink = self
        self.prev: _FrequencyLink = self

    def unlink(self) -> None:
        self.prev.next = self.next
        self.next.prev = self.prev


class LFUPolicy(LeanCache):
    """Least frequently used (in-cache frequency); ties are evicted least recently used first.

    cachetools' LFUCache algorithm (a list of frequency links, O(1) per operation) on storage
    we own; insertion keeps cachetools' ``Cache.__setitem__`` rules, so it makes exactly
    cachetools' choices (tests/core/cache/test_policy_lean_equivalence.py). A hit is ``touch``.
    """

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        LeanCache.__init__(self, maxsize, getsizeof, {})
        self._sizes: dict[Hashable, int] = {}
        self._root = _FrequencyLink(0)  # sentinel: root.next has the lowest count
        self._links: dict[Hashable, _FrequencyLink] = {}
        self.touch = self._touch

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self._store_sized(key, value, self._sizes)
        if key in self._links:
            self._touch(key)
            return
        root = self._root
        link = root.next
        if link.count != 1:
            link = _FrequencyLink(1)
            link.next = root.next
            link.prev = root
            root.next.prev = link
            root.next = link
        link.keys[key] = None
        self._links[key] = link

    def __delitem__(self, key: Hashable) -> None:
        del self.data[key]
        self.currsize -= self._sizes.pop(key)
        link = self._links.pop(key)
        del link.keys[key]
        if not link.keys:
            link.unlink()

    def popitem(self) -> tuple[Hashable, Any]:
        """Evict the least recently used of the least frequently used keys."""
        link = self._root.next
        if link is self._root:
            raise KeyError(f"{type(self).__name__} is empty")
        key = next(iter(link.keys))
        value = self.data[key]
        del self[key]
        self.evictions += 1
        listener = self.on_evict
        if listener is not None:
            listener(key, value)
        return key, value

    def clear(self) -> None:
        """Remove every entry."""
        self.data.clear()
        self._sizes.clear()
        self.currsize = 0
        root = self._root
        root.next = root.prev = root
        self._links.clear()

    def _touch(self, key: Hashable) -> None:
        """Count one use of ``key`` (move it to the next frequency link)."""
        link = self._links[key]
        following = link.next
        if following.count != link.count + 1:
            if len(link.keys) == 1:
                link.count += 1
                return
            following = _FrequencyLink(link.count + 1)
            following.next = link.next
            following.prev = link
            link.next.prev = following
            link.next = following
        following.keys[key] = None
        del link.keys[key]
        if not link.keys:
            link.unlink()
        self._links[key] = following
