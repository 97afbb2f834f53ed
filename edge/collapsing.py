"""Request collapsing on asyncio: futures around the core's ``cdn.collapse.Collapser``.

Rules: the core decides (lead, follow, bypass; hit-for-pass; max waiters; deadlines); this
module only makes the waiting real. A follower's future resolves to the leader's stored
``CachedObject`` (the follower then checks with ``decide`` that it fits its own request, e.g.
Vary), or to None: fetch on your own (uncacheable response, leader failed, or timeout).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from cdn.collapse import Bypass, Collapser, Follow, Lead
from edge.stored import CachedObject

__all__ = ["Collapsing", "Ticket"]

Waiter = asyncio.Future[CachedObject | None]


class Ticket:
    """A request's place in the collapsing of one key: leader, follower or alone."""

    __slots__ = ("key", "lead", "owner", "waiter")

    def __init__(self, owner: Collapsing, key: str, lead: bool, waiter: Waiter | None) -> None:
        self.owner = owner
        self.key = key
        self.lead = lead
        self.waiter = waiter

    def finish(self, obj: CachedObject | None, cacheable: bool) -> None:
        """The leader is done: wake followers with ``obj`` (cacheable) or to go alone."""
        if not self.lead:
            return
        self.lead = False
        core = self.owner.core
        if cacheable and obj is not None:
            waiters = core.finish(self.key, True, self.owner.clock())
        elif cacheable:
            waiters = core.abandon(self.key)
        else:
            waiters = core.finish(self.key, False, self.owner.clock())
            obj = None
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(obj)

    def abandon(self) -> None:
        """The leader failed (error, timeout, cancelled): wake followers to fetch alone."""
        if not self.lead:
            return
        self.lead = False
        for waiter in self.owner.core.abandon(self.key):
            if not waiter.done():
                waiter.set_result(None)


class Collapsing:
    """One per app: the core Collapser plus asyncio waiting."""

    def __init__(
        self,
        max_waiters: int,
        hit_for_pass_seconds: float,
        wait_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.core: Collapser[Waiter] = Collapser(
            max_waiters=max_waiters,
            hit_for_pass_seconds=hit_for_pass_seconds,
            wait_timeout=wait_timeout,
        )

    async def join(self, key: str) -> tuple[Ticket, CachedObject | None, bool]:
        """Join the fetch of ``key``: (ticket, leader's object or None, waited).

        A leader or a bypassing request gets (ticket, None, False) and fetches. A follower
        waits, then gets the leader's object, or None to fetch alone (``waited`` is True).
        """
        loop = asyncio.get_running_loop()
        waiter: Waiter = loop.create_future()
        joined = self.core.join(key, self.clock(), waiter)
        if isinstance(joined, Lead):
            return Ticket(self, key, True, None), None, False
        if isinstance(joined, Bypass):
            return Ticket(self, key, False, None), None, False
        assert isinstance(joined, Follow)
        timeout = max(0.0, joined.deadline - self.clock())
        try:
            obj = await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            obj = None if self.core.leave(key, waiter) or not waiter.done() else waiter.result()
        except asyncio.CancelledError:
            self.core.leave(key, waiter)
            raise
        return Ticket(self, key, False, None), obj, True

    def forget(self, key: str) -> None:
        """Drop ``key``'s hit-for-pass mark (after a purge)."""
        self.core.clear_hit_for_pass(key)
