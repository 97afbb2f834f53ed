"""SIEVE eviction (Zhang et al., NSDI'24), matching libCacheSim's Sieve.c step for step.

Rules: pure. New objects enter at the head with the visited bit clear; a hit sets the bit. The hand
starts at the tail and walks toward the head, clearing bits, and evicts the first unvisited object;
it then rests on that object's head-side neighbour (None = restart at the tail), and wraps from the
head back to the tail. Retained objects keep their place (unlike CLOCK-style reinsertion).
The visited bits are a set of keys, so a hit is one C call (``touch`` = ``visited.add``). A new
key's insertion walks the hand inline, keeping head, tail, hand and counters in locals until the
loop ends (see ``base`` for what the listener may rely on); ``popitem`` is one step of that walk.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from cdn.cache.policies.base import LeanCache


class _Node:
    # ``newer`` points toward the head, ``older`` toward the tail.
    __slots__ = ("key", "newer", "older")

    def __init__(self, key: Hashable, older: _Node | None) -> None:
        self.key = key
        self.newer: _Node | None = None
        self.older = older


class SieveCache(LeanCache):
    """SIEVE on the cachetools ``Cache`` contract (see the module docstring for the algorithm)."""

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        LeanCache.__init__(self, maxsize, getsizeof, {})
        self._sizes: dict[Hashable, int] = {}
        self._nodes: dict[Hashable, _Node] = {}
        self._visited: set[Hashable] = set()
        self.touch = self._visited.add
        self._head: _Node | None = None
        self._tail: _Node | None = None
        self._hand: _Node | None = None

    def __setitem__(self, key: Hashable, value: Any) -> None:
        size = self.getsizeof(value)
        maxsize = self.maxsize
        if size > maxsize:
            raise ValueError("value too large")
        if size < 0:
            raise ValueError("value size must be non-negative")
        sizes, data = self._sizes, self.data
        if key in sizes and self._overwrite(key, value, size):
            return
        # As cachetools: evict until the new size fits, then store.
        currsize = self.currsize + size
        if currsize > maxsize:
            # ``popitem`` inlined: one call per insertion rather than per victim.
            nodes, visited, listener, evicted = self._nodes, self._visited, self.on_evict, 0
            head, tail, hand = self._head, self._tail, self._hand
            try:
                while currsize > maxsize:
                    node = hand or tail
                    if visited:
                        while node.key in visited:
                            visited.remove(node.key)
                            node = node.newer or tail
                    victim = node.key
                    del nodes[victim]
                    newer, older = node.newer, node.older
                    hand = newer
                    if newer is None:
                        head = older
                    else:
                        newer.older = older
                    if older is None:
                        tail = newer
                    else:
                        older.newer = newer
                    victim_value = data.pop(victim)
                    currsize -= sizes.pop(victim)
                    evicted += 1
                    if listener is not None:
                        listener(victim, victim_value)
            finally:
                self._head, self._tail, self._hand = head, tail, hand
                self.currsize, self.evictions = currsize - size, self.evictions + evicted
        data[key] = value
        sizes[key] = size
        self.currsize = currsize
        head = self._head
        node = _Node(key, head)
        if head is None:
            self._tail = node
        else:
            head.newer = node
        self._head = node
        self._nodes[key] = node

    def __delitem__(self, key: Hashable) -> None:
        size = self._sizes.pop(key)
        del self.data[key]
        self.currsize -= size
        self._visited.discard(key)
        self._unlink(self._nodes.pop(key))

    def popitem(self) -> tuple[Hashable, Any]:
        """Move the hand to the first unvisited object, clearing bits on the way; evict it."""
        node = self._hand or self._tail
        if node is None:
            raise KeyError(f"{type(self).__name__} is empty")
        visited = self._visited
        if visited:
            tail = self._tail
            while node.key in visited:
                visited.remove(node.key)
                node = node.newer or tail  # type: ignore[assignment]
        key = node.key
        del self._nodes[key]
        # Unlink (inline: this runs once per eviction); the hand rests on the head-side neighbour.
        newer, older = node.newer, node.older
        self._hand = newer
        if newer is None:
            self._head = older
        else:
            newer.older = older
        if older is None:
            self._tail = newer
        else:
            older.newer = newer
        value = self.data.pop(key)
        self.currsize -= self._sizes.pop(key)
        self.evictions += 1
        listener = self.on_evict
        if listener is not None:
            listener(key, value)
        return key, value

    def clear(self) -> None:
        """Remove every object and reset the hand."""
        self.data.clear()
        self._sizes.clear()
        self._nodes.clear()
        self._visited.clear()
        self.currsize = 0
        self._head = self._tail = self._hand = None

    def visited(self, key: Hashable) -> bool:
        """Whether ``key`` has been hit since it was inserted or last passed by the hand."""
        if key not in self._nodes:
            raise KeyError(key)
        return key in self._visited

    def order(self) -> list[Hashable]:
        """Keys from head (newest) to tail (oldest)."""
        keys = []
        node = self._head
        while node is not None:
            keys.append(node.key)
            node = node.older
        return keys

    @property
    def hand(self) -> Hashable | None:
        """The key the hand rests on (None: the next eviction starts at the tail)."""
        return None if self._hand is None else self._hand.key

    def _overwrite(self, key: Hashable, value: Any, size: int) -> bool:
        """Replace a cached key's value in place (it keeps its place and its bit): True.

        False when making room evicted the key itself: it is now a new key.
        """
        sizes = self._sizes
        old = sizes[key]
        if not self._room_to_resize(key, old, size):
            return False
        self.data[key] = value
        sizes[key] = size
        self.currsize += size - old
        return True

    def _unlink(self, node: _Node) -> None:
        if node is self._hand:
            self._hand = node.newer
        newer, older = node.newer, node.older
        if newer is None:
            self._head = older
        else:
            newer.older = older
        if older is None:
            self._tail = newer
        else:
            older.newer = newer
