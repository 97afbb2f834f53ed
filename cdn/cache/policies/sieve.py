"""SIEVE eviction (Zhang et al., NSDI'24), matching libCacheSim's Sieve.c step for step.

Rules: pure. New objects enter at the head with the visited bit clear; a hit sets the bit. The hand
starts at the tail and walks toward the head, clearing bits, and evicts the first unvisited object;
it then rests on that object's head-side neighbour (None = restart at the tail), and wraps from the
head back to the tail. Retained objects keep their place (unlike CLOCK-style reinsertion).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from cachetools import Cache

from cdn.cache.policies.base import EvictionListener


class _Node:
    # ``newer`` points toward the head, ``older`` toward the tail.
    __slots__ = ("key", "newer", "older", "visited")

    def __init__(self, key: Hashable, older: _Node | None) -> None:
        self.key = key
        self.newer: _Node | None = None
        self.older = older
        self.visited = False


class SieveCache(Cache):
    """SIEVE on the cachetools ``Cache`` contract (see the module docstring for the algorithm)."""

    on_evict: EvictionListener | None = None  # told (key, value) after each eviction

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        Cache.__init__(self, maxsize, getsizeof)
        self.__nodes: dict[Hashable, _Node] = {}
        self.__head: _Node | None = None
        self.__tail: _Node | None = None
        self.__hand: _Node | None = None

    def __getitem__(self, key: Hashable, cache_getitem=Cache.__getitem__) -> Any:
        value = cache_getitem(self, key)
        node = self.__nodes.get(key)
        if node is not None:  # __missing__ may not store the item
            node.visited = True
        return value

    def __setitem__(self, key: Hashable, value: Any, cache_setitem=Cache.__setitem__) -> None:
        cache_setitem(self, key, value)
        nodes = self.__nodes
        if key in nodes:  # an overwrite keeps its place and its bit
            return
        head = self.__head
        node = _Node(key, head)
        if head is None:
            self.__tail = node
        else:
            head.newer = node
        self.__head = node
        nodes[key] = node

    def __delitem__(self, key: Hashable, cache_delitem=Cache.__delitem__) -> None:
        cache_delitem(self, key)
        node = self.__nodes.pop(key)
        if node is self.__hand:
            self.__hand = node.newer
        newer, older = node.newer, node.older
        if newer is None:
            self.__head = older
        else:
            newer.older = older
        if older is None:
            self.__tail = newer
        else:
            older.newer = newer

    def popitem(self) -> tuple[Hashable, Any]:
        """Move the hand to the first unvisited object, clearing bits on the way; evict it."""
        node = self.__hand or self.__tail
        if node is None:
            raise KeyError(f"{type(self).__name__} is empty")
        while node.visited:
            node.visited = False
            node = node.newer or self.__tail  # type: ignore[assignment]
        self.__hand = node.newer
        key = node.key
        value = Cache.__getitem__(self, key)
        del self[key]
        listener = self.on_evict
        if listener is not None:
            listener(key, value)
        return key, value

    def clear(self) -> None:
        """Remove every object and reset the hand."""
        Cache.clear(self)
        self.__nodes.clear()
        self.__head = self.__tail = self.__hand = None

    def visited(self, key: Hashable) -> bool:
        """Whether ``key`` has been hit since it was inserted or last passed by the hand."""
        return self.__nodes[key].visited

    def order(self) -> list[Hashable]:
        """Keys from head (newest) to tail (oldest)."""
        keys = []
        node = self.__head
        while node is not None:
            keys.append(node.key)
            node = node.older
        return keys

    @property
    def hand(self) -> Hashable | None:
        """The key the hand rests on (None: the next eviction starts at the tail)."""
        return None if self.__hand is None else self.__hand.key
