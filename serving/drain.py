"""A node leaving gracefully: ``Drain`` (is it draining, whom to tell) and the health it reports.

Rules: SIGTERM (or SIGINT) starts a drain (``serving.server.serve_until_signalled``):

1. ``draining`` turns on: ``/_cdn/health`` answers ``503 {"status": "draining"}``, which every
   health check (peers' probes, ``cdn up``'s) treats as down;
2. the ``on_drain`` callbacks run, each bounded by ``NOTIFY_TIMEOUT`` (the edge tells its peers
   it is leaving, so they stop routing to it before it closes);
3. the port closes (new connections are refused), idle keep-alive connections are closed, and
   requests in flight (streams included) may finish within the drain deadline (the runner's
   shutdown timeout, ``--drain-timeout``); what is still running then is cancelled;
4. the app's cleanup runs and the process exits 0.

A callback that fails or overruns is logged and skipped: leaving never waits on a peer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["DRAIN", "NOTIFY_TIMEOUT", "Drain", "drain_of", "health_state"]

log = logging.getLogger("cdnlab.serving")

# Longest each on-drain callback (e.g. telling the peers) may take.
NOTIFY_TIMEOUT = 2.0


@dataclass(slots=True)
class Drain:
    """Whether a node is draining, and what it does first when it starts to."""

    draining: bool = False
    on_drain: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        """Turn draining on and run the callbacks (each bounded, failures logged)."""
        if self.draining:
            return
        self.draining = True
        for callback in self.on_drain:
            try:
                await asyncio.wait_for(callback(), NOTIFY_TIMEOUT)
            except Exception as exc:  # leaving must not wait on anyone
                log.warning("drain: %s failed: %s: %s", callback, type(exc).__name__, exc)


DRAIN = web.AppKey("serving_drain", Drain)


def drain_of(app: web.Application) -> Drain:
    """The app's Drain, created on first use (call it while building the app)."""
    drain = app.get(DRAIN)
    if drain is None:
        drain = Drain()
        app[DRAIN] = drain
    return drain


def health_state(request: web.Request) -> tuple[str, int]:
    """``("ok", 200)``, or ``("draining", 503)`` once the node is leaving."""
    drain = request.app.get(DRAIN)
    if drain is not None and drain.draining:
        return "draining", 503
    return "ok", 200
