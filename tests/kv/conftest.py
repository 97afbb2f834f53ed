"""Fixtures of the cdn kv tests: a server per test on a fresh SQLite file, boto3 clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kv_support import ThreadedKv, client, create_table, resource

from kv.settings import KvSettings


@pytest.fixture
def start_kv(tmp_path: Path) -> Iterator[Callable[..., ThreadedKv]]:
    """Start KvServers (port 0) on files under tmp_path; all stopped at the end."""
    started: list[ThreadedKv] = []

    def start(
        data: str | None = None, clock: Callable[[], float] | None = None, **changes: Any
    ) -> ThreadedKv:
        settings = KvSettings(data=data or str(tmp_path / "kv.sqlite"), port=0, **changes)
        server = ThreadedKv(settings, clock)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def kv_url(start_kv: Callable[..., ThreadedKv]) -> str:
    """The URL of a fresh cdn kv."""
    server = start_kv()
    assert server.server is not None
    return server.server.url


@pytest.fixture
def ddb(kv_url: str) -> Any:
    """A boto3 client of a fresh cdn kv."""
    return client(kv_url)


@pytest.fixture
def table_resource(kv_url: str) -> Any:
    """A boto3 resource of a fresh cdn kv."""
    return resource(kv_url)


@pytest.fixture
def users(ddb: Any) -> str:
    """Table ``users``: HASH ``id`` (S)."""
    create_table(ddb, "users", ("id", "S"))
    return "users"


@pytest.fixture
def events(ddb: Any) -> str:
    """Table ``events``: HASH ``pk`` (S), RANGE ``sk`` (N)."""
    create_table(ddb, "events", ("pk", "S"), ("sk", "N"))
    return "events"
