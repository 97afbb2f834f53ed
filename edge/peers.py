"""Peer sharding inside a group: who owns a key, which peers are up, background health checks.

Rules: the ring is the core's ``HashRing`` over the group's node names (this node included),
so every member computes the same owner. Peers start "up" (optimistic): members of a group
start at about the same time, and one probed before it listens must not lose its keys to
the next owner until a later probe. A peer is marked down at once when a fetch from it fails
to connect (that request goes to the next owner), after ``EJECT_AFTER`` other failed fetches
in a row, or when a health probe fails after the peer has answered one; it is marked up again only by a successful probe.
A passive ejection (a refused connection or ``EJECT_AFTER`` failures in a row) lasts a backoff that
grows with each ejection in a row (``EJECT_BASE`` 1 s, then 2 s, 4 s, ... capped at ``EJECT_MAX``
30 s, Envoy's outlier detection): once it is over, requests try the peer again (one failure then
ejects it again, for twice as long); a fetch that gets an answer, or a successful probe, ends the
run of ejections. The peer's status stays ``down`` until it has answered again. ``route(key)``
gives the peers to try in order: the ring's fail-over order up to (not including) this
node; an empty list means "fetch from the upstream yourself" (we own the key, or every
earlier owner is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import aiohttp

from cdn.ring import HashRing
from edge.settings import Peer

__all__ = ["EJECT_AFTER", "EJECT_BASE", "EJECT_MAX", "PeerSet", "ejection_backoff"]

# Failed fetches in a row (other than refused connections) that mark a peer down.
EJECT_AFTER = 3
# A passive ejection lasts EJECT_BASE seconds, doubled for each further ejection in a row.
EJECT_BASE = 1.0
EJECT_MAX = 30.0


def ejection_backoff(ejections: int) -> float:
    """How long the ``ejections``-th ejection in a row lasts: 1 s, 2 s, 4 s, ... capped."""
    return min(EJECT_BASE * 2.0 ** max(ejections - 1, 0), EJECT_MAX)


log = logging.getLogger("cdnlab.edge")


class PeerSet:
    """The peers of one node and their health."""

    def __init__(
        self, node: str, peers: tuple[Peer, ...], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.node = node
        self.clock = clock
        # Passively ejected peers: until when (on ``clock``); kept past that until they answer.
        self.ejected_until: dict[str, float] = {}
        self.ejections: dict[str, int] = {}  # ejections in a row without an answer between
        self.peers = {peer.name: peer for peer in peers}
        self.ring = HashRing([node, *self.peers]) if peers else None
        self.down: set[str] = set()
        self.seen: set[str] = set()  # peers that have answered a health probe
        self.failures: dict[str, int] = {}  # consecutive failed fetches per peer
        self.on_down: Callable[[str], None] | None = None  # told each time a peer goes down

    def __bool__(self) -> bool:
        return self.ring is not None

    def route(self, key: str) -> list[Peer]:
        """Peers to try for ``key``, owner first, stopping at this node; skips down peers."""
        if self.ring is None:
            return []
        tried: list[Peer] = []
        ejected = self.ejected_until
        now = self.clock() if ejected else 0.0
        for name in self.ring.owners(key):
            if name == self.node:
                break
            if name not in self.down and (not ejected or ejected.get(name, now) <= now):
                tried.append(self.peers[name])
        return tried

    def owner(self, key: str) -> str:
        """The ring owner of ``key`` regardless of health (this node without a group)."""
        return self.node if self.ring is None else self.ring.owner(key)

    def mark_down(self, name: str) -> None:
        """Skip ``name`` until a health probe succeeds."""
        if name not in self.down:
            log.warning("peer %s is down; its keys go to the next node on the ring", name)
            self.down.add(name)
            if self.on_down is not None:
                self.on_down(name)

    def failed(self, name: str, *, refused: bool) -> None:
        """A fetch from ``name`` failed: down at once when it refused the connection, else
        after ``EJECT_AFTER`` failures in a row (passive outlier detection)."""
        failures = self.failures.get(name, 0) + 1
        self.failures[name] = failures
        # On probation (its last ejection is over, no answer since): one failure ejects again.
        probation = self.ejected_until.get(name, float("inf")) <= self.clock()
        ejecting = refused or failures >= EJECT_AFTER or probation
        if ejecting and (name not in self.ejected_until or probation):
            self.eject(name)

    def eject(self, name: str) -> float:
        """Eject ``name`` for the backoff its run of ejections has reached; returns it (s)."""
        ejections = self.ejections.get(name, 0) + 1
        self.ejections[name] = ejections
        backoff = ejection_backoff(ejections)
        self.ejected_until[name] = self.clock() + backoff
        self.failures.pop(name, None)
        log.warning("peer %s ejected for %gs (ejection %d in a row)", name, backoff, ejections)
        if self.on_down is not None:
            self.on_down(name)
        return backoff

    def answered(self, name: str) -> None:
        """A fetch from ``name`` got a response head: its runs of failures and ejections end."""
        if name in self.failures:
            del self.failures[name]
        if name in self.ejections:
            del self.ejections[name]
            self.ejected_until.pop(name, None)

    def status(self) -> dict[str, str]:
        """Each peer's state, ``up`` or ``down`` (down, or ejected and not answered since)."""
        return {
            name: ("down" if name in self.down or name in self.ejected_until else "up")
            for name in self.peers
        }

    async def probe(self, session: aiohttp.ClientSession, timeout: float) -> None:
        """Probe every peer's /_cdn/health once: bring answering peers up, mark failing ones down.

        A failed probe marks a peer down only once it has answered a probe before, so a group
        starting together does not mark its slower members down.
        """

        async def one(peer: Peer) -> None:
            try:
                async with session.get(
                    peer.url + "/_cdn/health", timeout=aiohttp.ClientTimeout(total=timeout)
                ) as response:
                    healthy = response.status == 200
                    await response.read()
            except (aiohttp.ClientError, TimeoutError, OSError):
                healthy = False
            if healthy:
                if peer.name in self.down:
                    log.warning("peer %s is up again", peer.name)
                self.down.discard(peer.name)
                self.failures.pop(peer.name, None)
                self.ejections.pop(peer.name, None)
                self.ejected_until.pop(peer.name, None)
                self.seen.add(peer.name)
            elif peer.name in self.seen:
                self.mark_down(peer.name)
            # A peer never seen healthy is still starting: fetches mark it down if need be.

        await asyncio.gather(*(one(peer) for peer in self.peers.values()))

    async def watch(self, session: aiohttp.ClientSession, interval: float) -> None:
        """Probe the peers every ``interval`` seconds until cancelled."""
        while True:
            with contextlib.suppress(Exception):
                await self.probe(session, timeout=max(0.5, interval))
            await asyncio.sleep(interval)
