"""Consistent hashing with virtual nodes: which peer owns a cache key.

Rules: pure and deterministic across processes and Python runs. Positions come from
blake2b(digest_size=8), never the built-in hash() (salted per process by PYTHONHASHSEED).
Each node sits on the ring at ``vnodes`` points ``blake2b(f"{node}#{i}")``; a key belongs to the
first point clockwise from ``blake2b(key)`` (wrapping at 2**64). Rings are immutable:
``with_node``/``without_node`` return new rings, so a shell can swap them atomically.

Properties the tests hold us to:
- same owner for a key in every process;
- adding a node to N nodes moves about 1/(N+1) of keys, all of them to the new node; removing a
  node moves only that node's keys (each to the next node clockwise, the fail-over order);
- balance: with the default 160 virtual nodes, 10 nodes and 100k keys, every node's share of the
  keys lies within +-20% of the fair share 1/N (relative standard deviation ~1/sqrt(vnodes)).

What a peer group hashes is ``peer_key``: a request's primary cache key (``cdn.http.cache_key``
on the origin's site), the key the live edge looks up and ``PeerSet.route`` is given. The
simulator hashes the same text, so a simulated group and a live group pick the same owner.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Collection, Iterable

from cdn.http.cache_key import cache_key

DEFAULT_VNODES = 160
_SPACE = 1 << 64


def ring_hash(text: str) -> int:
    """The 64-bit ring position of ``text``: blake2b with an 8-byte digest, big-endian."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def peer_key(
    site: str,
    target: str,
    *,
    scheme: str = "http",
    ignore_params: Collection[str] = frozenset(),
    sort_params: bool = False,
) -> str:
    """The text a peer group hashes for a request of ``target`` on ``site`` (``host:port``).

    It is the request's primary cache key, ``cdn.http.cache_key(scheme, site, target, ...)``
    (e.g. ``http://127.0.0.1:8100/obj/42``), with the edge's query-parameter options.
    """
    return cache_key(scheme, site, target, ignore_params=ignore_params, sort_params=sort_params)


class HashRing:
    """An immutable consistent hash ring of named nodes with ``vnodes`` virtual nodes each."""

    __slots__ = ("_nodes", "_owners", "_positions", "vnodes")

    def __init__(self, nodes: Iterable[str], vnodes: int = DEFAULT_VNODES) -> None:
        if vnodes < 1:
            raise ValueError(f"vnodes {vnodes} < 1 (expected at least one virtual node per node)")
        unique = tuple(dict.fromkeys(nodes))
        for node in unique:
            if not isinstance(node, str) or not node:
                raise ValueError(f"node name {node!r} is not a non-empty string")
        self.vnodes = vnodes
        self._nodes = unique
        # Sorting by (position, node) keeps the ring identical whatever order nodes were given in,
        # and breaks the (astronomically unlikely) 64-bit collisions the same way everywhere.
        points = sorted((ring_hash(f"{node}#{i}"), node) for node in unique for i in range(vnodes))
        self._positions = [position for position, _ in points]
        self._owners = [node for _, node in points]

    @property
    def nodes(self) -> tuple[str, ...]:
        """The node names, in the order first given."""
        return self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def __repr__(self) -> str:
        return f"HashRing({list(self._nodes)!r}, vnodes={self.vnodes})"

    def _start(self, key: str) -> int:
        if not self._owners:
            raise LookupError("the hash ring has no nodes")
        index = bisect_right(self._positions, ring_hash(key))
        return 0 if index == len(self._positions) else index

    def owner(self, key: str) -> str:
        """The node that owns ``key``."""
        return self._owners[self._start(key)]

    def owners(self, key: str, n: int | None = None) -> list[str]:
        """Up to ``n`` distinct nodes for ``key`` in ring order (all nodes when ``n`` is None).

        The first is the owner; the rest are the fail-over order: when a node is down its keys
        move to the next node on the ring.
        """
        wanted = len(self._nodes) if n is None else min(n, len(self._nodes))
        if wanted <= 0:
            return []
        found: list[str] = []
        seen: set[str] = set()
        owners = self._owners
        start, size = self._start(key), len(owners)
        for step in range(size):
            node = owners[(start + step) % size]
            if node not in seen:
                seen.add(node)
                found.append(node)
                if len(found) == wanted:
                    break
        return found

    def owner_among(self, key: str, alive: Collection[str]) -> str | None:
        """The first node of ``key``'s fail-over order that is in ``alive`` (None if none is)."""
        owners = self._owners
        start, size = self._start(key), len(owners)
        for step in range(size):
            node = owners[(start + step) % size]
            if node in alive:
                return node
        return None

    def owner_excluding(self, key: str, exclude: Collection[str]) -> str | None:
        """The first node of ``key``'s fail-over order not in ``exclude`` (None if all are)."""
        owners = self._owners
        start, size = self._start(key), len(owners)
        for step in range(size):
            node = owners[(start + step) % size]
            if node not in exclude:
                return node
        return None

    def with_node(self, node: str) -> HashRing:
        """A new ring with ``node`` added (the same ring if it is already there)."""
        return HashRing((*self._nodes, node), self.vnodes)

    def without_node(self, node: str) -> HashRing:
        """A new ring without ``node``; KeyError if it is not on the ring."""
        if node not in self._nodes:
            raise KeyError(f"node {node!r} is not on the ring (nodes: {', '.join(self._nodes)})")
        return HashRing((n for n in self._nodes if n != node), self.vnodes)

    def shares(self) -> dict[str, float]:
        """Each node's fraction of the hash space (what share of uniformly hashed keys it owns)."""
        share = dict.fromkeys(self._nodes, 0.0)
        positions, owners = self._positions, self._owners
        for index, position in enumerate(positions):
            previous = positions[index - 1] if index else positions[-1] - _SPACE
            share[owners[index]] += (position - previous) / _SPACE
        return share
