"""Routing: which PoP a user's request enters, and which peer owns a key in a sharded group.

Rules: pure functions of the topology's points, the latency model and the nodes' queue state.
Per user location the edges are ranked by great-circle distance once (ties by name);
``nearest`` takes the first, ``latency`` the lowest RTT plus current queueing of the first
CANDIDATES, ``overflow`` the nearest whose queued work is under a threshold. Peer owners come from
``cdn.ring.HashRing`` over ``cdn.ring.peer_key``, exactly what the live edges hash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from cdn.geo import distance_km
from cdn.latency import LatencyModel
from cdn.ring import HashRing, peer_key
from cdn.topology import Node
from cdn.workload import UserModel
from sim.queueing import ServerQueue

CANDIDATES = 3  # PoPs considered per user location by latency-based and overflow routing


class Routable(Protocol):
    """What routing needs of a simulated edge: its topology node and its queue."""

    node: Node
    queue: ServerQueue


E = TypeVar("E", bound=Routable)
N = TypeVar("N")


def user_routes(
    users: UserModel, edges: Sequence[E], latency: LatencyModel
) -> list[list[tuple[E, float]]]:
    """Per user location, its CANDIDATES nearest edges with the one-way delay to each."""
    routes = []
    for user in users.locations:
        point = user.location.point
        ranked = sorted(
            edges, key=lambda e: (distance_km(point, e.node.location.point), e.node.name)
        )[:CANDIDATES]
        routes.append([(edge, latency.one_way(point, edge.node.location.point)) for edge in ranked])
    return routes


def choose(
    route: Sequence[tuple[E, float]], t: float, routing: str, overflow_wait: float
) -> tuple[E, float]:
    """The (edge, one-way delay) of ``route`` a request leaving the user at ``t`` goes to."""
    if routing == "overflow":
        for edge, one_way in route:
            if edge.queue.backlog(t + one_way) < overflow_wait:
                return edge, one_way
        return min(route, key=lambda r: r[0].queue.backlog(t + r[1]))
    return min(route, key=lambda r: 2.0 * r[1] + r[0].queue.backlog(t + r[1]))


class PeerOwners(Generic[N]):
    """The owner of an object id in a peer group: ``owners(obj)``; ``memo`` maps ids seen so far.

    Callers on a hot path read ``memo.get(obj)`` first (a C call) and call only on a miss.
    """

    __slots__ = ("_nodes", "_path", "_ring", "_site", "memo")

    def __init__(
        self, ring: HashRing, nodes: dict[str, N], site: str, path: str | Callable[[int], str]
    ) -> None:
        self._ring = ring
        self._nodes = nodes
        self._site = site
        self._path = path
        self.memo: dict[int, N] = {}

    def __call__(self, obj: int) -> N:
        found = self.memo.get(obj)
        if found is None:
            path = self._path
            key = peer_key(
                self._site, path(obj) if callable(path) else path.replace("{id}", str(obj))
            )
            found = self.memo[obj] = self._nodes[self._ring.owner(key)]
        return found

    def of_path(self, path: str) -> N:
        """The owner of the object the live edge keys by ``path`` (e.g. a URI a function
        rewrote), not memoised."""
        return self._nodes[self._ring.owner(peer_key(self._site, path))]


def owner_function(
    peers: Sequence[Node], nodes: dict[str, N], site: str, path: str | Callable[[int], str]
) -> PeerOwners[N]:
    """The owner of an object id in a peer group: the ring over what the live edge hashes.

    ``site`` is the origin's ``host:port``, ``path`` the workload path with ``{id}`` (or an
    id's path, with a path mix); owners are
    memoised per object id.
    """
    return PeerOwners(HashRing([peer.name for peer in peers]), nodes, site, path)
