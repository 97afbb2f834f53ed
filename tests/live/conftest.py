"""Shared fixtures of the live tests: real servers on loopback port 0, stopped after each test.

- ``start_origin(**changes) -> str``: start an origin, return its base URL.
- ``start_origin_server(**changes) -> OriginServer``: the same, with the server object for
  in-process control (``server.app[CONTROL].apply({...})``, ``server.port``).
- ``ORIGIN_ADMIN_TOKEN`` / ``origin_admin_headers``: the admin token the origins get by default.

``changes`` are OriginSettings fields; the defaults are configs/local.toml's origin (its cache
rules and workload) on 127.0.0.1 port 0 with ``admin_token=ORIGIN_ADMIN_TOKEN``. Pass
``topology=`` to start from another Topology.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from cdn.topology import Topology, default_topology_path, load_topology
from origin.server import OriginServer
from origin.settings import OriginSettings

ORIGIN_ADMIN_TOKEN = "test-origin-admin-token"

StartOriginServer = Callable[..., Awaitable[OriginServer]]
StartOrigin = Callable[..., Awaitable[str]]


def origin_settings(topology: Topology | None = None, **changes: Any) -> OriginSettings:
    """Origin settings for tests: local.toml's origin on port 0 with the test admin token."""
    topology = topology or load_topology(default_topology_path())
    defaults: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "admin_token": ORIGIN_ADMIN_TOKEN}
    return OriginSettings.from_topology(topology, **{**defaults, **changes})


@pytest.fixture
def origin_admin_headers() -> dict[str, str]:
    """Authorization header carrying the test origins' admin token."""
    return {"Authorization": f"Bearer {ORIGIN_ADMIN_TOKEN}"}


@pytest.fixture
async def start_origin_server() -> AsyncIterator[StartOriginServer]:
    """Factory starting OriginServers (settings changes as keywords); all stop at teardown."""
    servers: list[OriginServer] = []

    async def start(topology: Topology | None = None, **changes: Any) -> OriginServer:
        server = OriginServer(origin_settings(topology, **changes), shutdown_timeout=2.0)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await server.stop()


@pytest.fixture
async def start_origin(start_origin_server: StartOriginServer) -> StartOrigin:
    """Factory starting origins and returning their base URLs, e.g. ``http://127.0.0.1:40123``."""

    async def start(topology: Topology | None = None, **changes: Any) -> str:
        return (await start_origin_server(topology, **changes)).url

    return start


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers started as subprocesses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
