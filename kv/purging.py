"""Purges of a write delivered before the write is acknowledged, retried in the background if not.

Rules: a write's purges are POSTed to every cache node at once and awaited for at most
``wait`` seconds, so a read through an edge right after the acknowledgement already misses
and sees the new value (read-your-writes through the CDN). A node that does not confirm in
time (down, slow, not 200) does not fail the write: the purges go to the ``PurgeNotifier``,
which retries them with backoff until delivered. ``wait`` 0 sends everything in the
background only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiohttp

from serving.purge_notify import PURGE_PATH, PurgeNotifier, PurgeRequest, PurgeTarget

__all__ = ["WritePurger"]

log = logging.getLogger("cdnlab.kv.purge")


class WritePurger:
    """Purges the CDN's copies of what a write changed: first in line, then in the background."""

    def __init__(
        self,
        targets: Sequence[PurgeTarget],
        token: str | None,
        notifier: PurgeNotifier,
        wait: float,
    ) -> None:
        self.targets = tuple(targets)
        self.token = token
        self.notifier = notifier
        self.wait = wait
        self.confirmed = 0
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the client session."""
        if self._session is None and self.wait > 0:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.wait))

    async def close(self) -> None:
        """Close the client session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def purge(self, requests: Sequence[PurgeRequest]) -> None:
        """Deliver ``requests`` to every target within ``wait``; hand what failed to the notifier."""
        if not requests or not self.targets:
            return
        if self._session is None:
            self.notifier.notify(requests)
            return
        sends = [self._send(t, r) for t in self.targets for r in requests]
        results = await asyncio.gather(*sends)
        if all(results):
            self.confirmed += len(results)
            return
        self.notifier.notify(requests)

    async def _send(self, target: PurgeTarget, request: PurgeRequest) -> bool:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self._session.post(
                target.url + PURGE_PATH, json=request.body(), headers=headers
            ) as response:
                await response.read()
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("purge to %s not confirmed in time: %s", target.name, type(exc).__name__)
            return False
