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


# ---- edge fixtures (edge/: `cdn edge`) ---------------------------------------------------------
# - ``start_edge_server(upstream_url, **changes) -> EdgeServer``: an edge in front of
#   ``upstream_url`` on 127.0.0.1 port 0 with ``admin_token=EDGE_ADMIN_TOKEN``; ``changes`` are
#   EdgeSettings fields (``site_host`` defaults to the upstream's host:port; ``sleep=`` injects
#   the emulated-latency sleep, ``clock=`` the wall clock). ``start_edge(...) -> str``
#   returns the base URL instead.
# - ``edge_admin_headers``: Authorization header with the edges' admin token.
# - ``http``: one aiohttp ClientSession per test, closed at teardown.
# - ``origin_fetches(origin_url, target) -> int``: how often the origin served ``target``
#   (path?query, from its /_cdn/stats).

EDGE_ADMIN_TOKEN = "test-edge-admin-token"


def edge_settings(upstream_url: str, **changes: Any) -> Any:
    """Edge settings for tests: in front of ``upstream_url`` on port 0 with the test admin token."""
    from urllib.parse import urlsplit

    from edge.settings import EdgeSettings

    defaults: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "upstream_url": upstream_url,
        "site_host": urlsplit(upstream_url).netloc,
        "admin_token": EDGE_ADMIN_TOKEN,
        "shutdown_timeout": 2.0,
    }
    return EdgeSettings(**{**defaults, **changes})


@pytest.fixture
def edge_admin_headers() -> dict[str, str]:
    """Authorization header carrying the test edges' admin token."""
    return {"Authorization": f"Bearer {EDGE_ADMIN_TOKEN}"}


@pytest.fixture
async def start_edge_server() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Factory starting EdgeServers in front of an upstream URL; all stop at teardown."""
    import asyncio
    import time

    from edge.server import EdgeServer

    servers: list[Any] = []

    async def start(
        upstream_url: str, *, sleep: Any = asyncio.sleep, clock: Any = time.time, **changes: Any
    ) -> Any:
        server = EdgeServer(edge_settings(upstream_url, **changes), sleep=sleep, clock=clock)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await server.stop()


@pytest.fixture
async def start_edge(
    start_edge_server: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[str]]:
    """Factory starting edges and returning their base URLs."""

    async def start(upstream_url: str, **changes: Any) -> str:
        return (await start_edge_server(upstream_url, **changes)).url

    return start


@pytest.fixture
async def http() -> AsyncIterator[Any]:
    """An aiohttp ClientSession for the test (no cookie jar, no decompression)."""
    import aiohttp

    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
    ) as session:
        yield session


@pytest.fixture
def origin_fetches(http: Any) -> Callable[[str, str], Awaitable[int]]:
    """``await origin_fetches(origin_url, "/obj/1?x=1")``: requests the origin got for a target."""

    async def count(origin_url: str, target: str) -> int:
        async with http.get(origin_url + "/_cdn/stats") as response:
            stats = await response.json()
        return int(stats["targets"].get(target, 0))

    return count
