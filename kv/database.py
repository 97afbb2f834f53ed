"""Where SQLite work runs: short operations on the event loop, long reads on a reader thread.

Rules: the event loop's thread owns the writer connection and runs every operation that
touches a bounded amount of data: one item (at most 400 KB), a batch write (at most 25
items), table metadata. Each is a synchronous call without an ``await`` inside, so no other
request runs in the middle of one: a conditional write's read, check and write are one
serial transaction. These calls take tens of microseconds and never fsync, because WAL
checkpoints (the only fsyncs with synchronous=NORMAL) run on a checkpointer thread with a
connection of its own. Query, Scan (pages up to 1 MB), BatchGetItem (answers up to 16 MB)
and the read facade run on one reader thread with a reader connection, which sees the last
commit (WAL), so an acknowledged write is visible to every read that follows it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kv.errors import UnknownOperation
from kv.operations import OPERATIONS, Context, Outcome
from kv.store import Store

__all__ = ["Database"]

T = TypeVar("T")

READER_OPERATIONS = frozenset({"Query", "Scan", "BatchGetItem"})


class Checkpointer:
    """Copies the WAL into the database file every ``interval`` seconds, on its own thread."""

    def __init__(self, path: str, synchronous: str, interval: float = 0.5) -> None:
        self.path = path
        self.synchronous = synchronous
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kv-checkpoint", daemon=True)

    def start(self) -> None:
        """Start checkpointing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop (the writer's close does the last, full checkpoint)."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        store = Store(self.path, self.synchronous, tables={})
        try:
            while not self._stop.wait(self.interval):
                store.checkpoint()
        finally:
            store.disconnect()


class Database:
    """The writer on the loop, a reader thread, a checkpointer thread."""

    def __init__(
        self, path: str, synchronous: str = "normal", clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self.clock = clock
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-reader")
        self._writer: Context | None = None
        self._reader: Context | None = None
        self._checkpointer = Checkpointer(path, synchronous)

    async def open(self) -> None:
        """Open (or create) the SQLite file, its reader and its checkpointer."""
        store = Store(self.path, self.synchronous, checkpoints=False)
        self._writer = Context(store, self.clock)
        self._reader = Context(store.reader(), self.clock)
        self._checkpointer.start()

    async def close(self) -> None:
        """Stop the threads, checkpoint everything and close the file."""
        self._checkpointer.stop()
        self._reads.shutdown(wait=True)
        if self._reader is not None:
            self._reader.store.disconnect()
            self._reader = None
        if self._writer is not None:
            self._writer.store.close()
            self._writer = None

    async def call(self, operation: str, request: dict[str, Any]) -> Outcome:
        """Run the DynamoDB ``operation`` on ``request``."""
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise UnknownOperation(f"An unknown operation was requested: {operation}")
        assert self._writer is not None and self._reader is not None, "Database.open() first"
        if operation in READER_OPERATIONS:
            reader = self._reader
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._reads, handler, reader, request)
        return handler(self._writer, request)

    async def read(self, work: Callable[[Store], T]) -> T:
        """Run ``work(store)`` with the reader connection on the reader thread."""
        reader = self._reader
        assert reader is not None, "Database.open() first"
        return await asyncio.get_running_loop().run_in_executor(self._reads, work, reader.store)
