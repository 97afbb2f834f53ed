"""Run-time fault control of one origin app: the current faults, the seeded rng, stalls, down.

Rules: the only mutable fault state of an app lives here; the admin endpoint, the start-up
settings and in-process callers (tests) all change faults through ``FaultControl.apply``.
"Down" in refuse mode needs a listener hook (``OriginServer`` attaches one) that closes and
reopens the listening sockets; without a hook, down behaves like reset mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from cdn.fault_draws import injected_error
from origin.counters import ServedCounters
from origin.faults import Faults
from origin.metrics import OriginMetrics

__all__ = ["FaultControl", "ListenerHook"]

ListenerHook = Callable[[bool], Awaitable[None]]
_STALL_POLL = 0.05


class FaultControl:
    """The faults in force, and the waiting they cause, for one app."""

    def __init__(
        self, faults: Faults, seed: int, counters: ServedCounters, metrics: OriginMetrics
    ) -> None:
        self.faults = faults
        self.seed = seed
        self.rng = random.Random(seed)
        self.error_draws: Counter[str] = Counter()  # per path: the error draws made so far
        self.counters = counters
        self.metrics = metrics
        self.closing = asyncio.Event()
        self._listener: ListenerHook | None = None
        self._restore: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def refusing(self) -> bool:
        """True when the listening sockets should be closed (down in refuse mode)."""
        return self.faults.down and self.faults.down_mode == "refuse"

    def attach_listener(self, hook: ListenerHook | None) -> None:
        """Let ``hook(listening)`` open or close the server's sockets when down changes."""
        self._listener = hook

    async def apply(self, changes: Mapping[str, Any], down_for: float | None = None) -> Faults:
        """Merge ``changes`` into the faults (ValueError when bad); ``down_for`` ends down later."""
        async with self._lock:
            faults = self.faults.merged(changes)
            was_refusing = self.refusing
            self.faults = faults
            if was_refusing != self.refusing and self._listener is not None:
                await self._listener(not self.refusing)
            if self._restore is not None and ("down" in changes or down_for is not None):
                self._restore.cancel()
                self._restore = None
            if down_for is not None and faults.down:
                self._restore = asyncio.create_task(self._come_back(down_for))
            return faults

    async def clear(self) -> Faults:
        """Switch every fault off (prefix and modes back to their defaults too)."""
        return await self.apply(Faults().to_json())

    async def _come_back(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)
        if not self.closing.is_set():
            self._restore = None
            await self.apply({"down": False})

    def draws_error(self, path: str) -> bool:
        """Whether this request for ``path`` gets the injected error status: the shared
        deterministic draw (``cdn.fault_draws``) of (seed, path, earlier draws for path)."""
        attempt = self.error_draws[path]
        self.error_draws[path] = attempt + 1
        return injected_error(self.seed, path, attempt, self.faults.error_rate)

    def count(self, kind: str) -> None:
        """Count one injected fault of ``kind``."""
        self.counters.faults[kind] += 1
        self.metrics.faults.labels(kind).inc()

    async def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the app shuts down first; True when the sleep was complete."""
        if seconds <= 0:
            return True
        try:
            await asyncio.wait_for(self.closing.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def stall(self, transport: asyncio.BaseTransport | None) -> None:
        """Hold a request until its client gives up or the app shuts down (never answer it)."""
        self.counters.stalled_now += 1
        try:
            # aiohttp does not cancel handlers when the client leaves, so watch the transport.
            while transport is not None and not transport.is_closing():
                if not await self.wait(_STALL_POLL):
                    break
        finally:
            self.counters.stalled_now -= 1

    async def close(self) -> None:
        """Release stalled and delayed requests and stop the down timer (app shutdown)."""
        self.closing.set()
        if self._restore is not None:
            self._restore.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restore
            self._restore = None
