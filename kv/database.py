"""The store on a thread of its own: the event loop hands operations over and awaits answers.

Rules: SQLite work never runs on the event loop. One worker thread owns the connection and
runs operations one at a time, so every operation is one serial transaction (no two
conditional writes interleave) and the loop stays free to parse and answer requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kv.errors import UnknownOperation
from kv.operations import OPERATIONS, Context, Outcome
from kv.store import Store

__all__ = ["Database"]

T = TypeVar("T")


class Database:
    """A Store behind a one-thread executor."""

    def __init__(
        self, path: str, synchronous: str = "normal", clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self.clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-sqlite")
        self._context: Context | None = None

    async def open(self) -> None:
        """Open (or create) the SQLite file."""
        store = await self.run(lambda: Store(self.path, self.synchronous))
        self._context = Context(store, self.clock)

    async def close(self) -> None:
        """Checkpoint, close the file and stop the thread."""
        if self._context is not None:
            await self.run(self._context.store.close)
            self._context = None
        self._executor.shutdown(wait=True)

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the store's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def call(self, operation: str, request: dict[str, Any]) -> Outcome:
        """Run the DynamoDB ``operation`` on ``request``."""
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise UnknownOperation(f"An unknown operation was requested: {operation}")
        context = self._context
        assert context is not None, "Database.open() first"
        return await self.run(lambda: handler(context, request))

    async def with_store(self, work: Callable[[Store], T]) -> T:
        """Run ``work(store)`` on the store's thread (the read facade)."""
        context = self._context
        assert context is not None, "Database.open() first"
        return await self.run(lambda: work(context.store))
