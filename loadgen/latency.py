"""The user <-> edge leg of a load run, emulated as the simulator charges it (cdn.latency).

Rules: on only when the topology asks for it (``network.emulate_latency = true``) and requests go
to the topology's edges (not to ``--target`` URLs, whose users have no known location). Each
route carries the one-way delay from its user location to its edge (loadgen.schedule), so:

- before the request: the dispatcher books the send (schedule lag is measured here, before any
  emulated delay), draws whether the request opens a new connection (``new_connection_share``,
  from an rng seeded by the run's seed and shard) and hands the request to the socket
  ``LatencyModel.to_edge`` seconds later (``DelayedSends``: a timer up to ``spin`` before, then
  a re-check every loop turn, the dispatcher's own precision);
- after the last body byte: ``LatencyModel.from_edge`` (the way back plus the transfer at the
  client bandwidth, or the narrowest link for a body that came from upstream) is added to the
  response time. It is added, not slept: nothing waits on the user's side of the leg, so a sleep
  would change no figure but add a timer's error.

The upstream legs are the nodes' own (the edges' and shields' round-trip sleep per hop, the
origin's service-time sleep); queueing is not emulated: live nodes queue on their real CPU.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from typing import Any

from cdn.latency import LatencyModel
from cdn.topology import Topology

__all__ = ["DelayedSends", "UserLeg"]

_STREAM = b"cdnlab-user-leg"  # the new-connection draws' stream, apart from every other draw


class UserLeg:
    """The emulated user <-> edge leg of one load process: ``before`` and ``after`` a request."""

    __slots__ = ("_draw", "model", "share")

    def __init__(self, model: LatencyModel, seed: int, shard: tuple[int, int] = (0, 1)) -> None:
        self.model = model
        self.share = model.new_connection_share
        digest = hashlib.blake2b(
            b"%s/%d/%d/%d" % (_STREAM, seed, shard[0], shard[1]), digest_size=8
        ).digest()
        self._draw = random.Random(int.from_bytes(digest, "big")).random

    @classmethod
    def for_run(
        cls, topology: Topology, seed: int, shard: tuple[int, int], targets: bool
    ) -> UserLeg | None:
        """The leg a run emulates, or None (emulation off, or requests go to ``--target`` URLs)."""
        if not topology.network.emulate_latency or targets:
            return None
        return cls(LatencyModel.from_network(topology.network), seed, shard)

    def before(self, one_way: float) -> float:
        """Seconds from the user's send until the request reaches the edge (draws once)."""
        fresh = self.share > 0.0 and self._draw() < self.share
        return self.model.to_edge(one_way, fresh)

    def after(self, one_way: float, size: int, from_upstream: bool) -> float:
        """Seconds from the edge's last byte to the user's: the way back plus the transfer."""
        return self.model.from_edge(one_way, size, from_upstream)


class DelayedSends:
    """Run ``fn(*args)`` at a clock time: a loop timer until ``spin`` before, then a re-check
    every loop turn (timers fire with about 1 ms granularity; the re-checks do not)."""

    __slots__ = ("clock", "loop", "pending", "spin")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, clock: Callable[[], float], spin: float
    ) -> None:
        self.loop = loop
        self.clock = clock
        self.spin = spin
        self.pending = 0  # calls waiting for their time

    def at(self, when: float, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` once the clock reads ``when`` (now if it already does)."""
        wait = when - self.clock()
        if wait <= 0.0:
            fn(*args)
            return
        self.pending += 1
        if wait > self.spin:
            self.loop.call_later(wait - self.spin, self._due, when, fn, args)
        else:
            self.loop.call_soon(self._due, when, fn, args)

    def _due(self, when: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self.clock() < when:
            self.loop.call_soon(self._due, when, fn, args)
            return
        self.pending -= 1
        fn(*args)
