"""Fixtures of the load tests: ``serve(app) -> ServedApp`` runs an aiohttp app in a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import hypothesis  # noqa: F401  (see below)
import pytest
from aiohttp import web
from load_apps import ServedApp, ServerThread

# Python 3.11.7's ast module can raise "SystemError: AST constructor recursion depth mismatch" when
# the hypothesis pytest plugin first imports hypothesis from deep inside pytest's terminal summary
# (seen after these tests). Importing it here, at a shallow stack, makes that later import a no-op.


@pytest.fixture
def serve() -> Iterator[Callable[[web.Application], ServedApp]]:
    """Factory: start ``app`` on 127.0.0.1 port 0 in a thread; every server stops at teardown."""
    threads: list[ServerThread] = []

    def start(app: web.Application) -> ServedApp:
        thread = ServerThread(app)
        threads.append(thread)
        return thread.start()

    yield start
    for thread in reversed(threads):
        thread.stop()
