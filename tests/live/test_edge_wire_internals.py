"""The hit fast path (edge/wire.py) on the pinned aiohttp: active, and byte for byte aiohttp's.

edge/wire.py reads aiohttp's private internals; pyproject.toml pins the aiohttp it was tested
with. These tests fail when that aiohttp no longer offers them (the fast path would silently
turn off) or when the pre-rendered bytes stop matching what aiohttp itself sends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from importlib.metadata import version

import pytest
from scripted_origin import Reply, ScriptedOrigin

from edge.app import PROXY
from edge.server import EdgeServer
from edge.settings import FAST_PATH_ENV, EdgeSettings
from edge.wire import HIT_FIRST_SUPPORTED, OBS_TEXT_SUPPORTED

NOW = float(int(time.time()))  # one fixed instant for the origin and both edges


def _clock() -> float:
    return NOW


@pytest.fixture(autouse=True)
def fast_path_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the fast path itself: $CDNLAB_EDGE_FAST_PATH=0 does not apply."""
    monkeypatch.delenv(FAST_PATH_ENV, raising=False)


@pytest.fixture
async def origin() -> AsyncIterator[ScriptedOrigin]:
    server = ScriptedOrigin(_clock)
    server.script(
        "/a",
        Reply(
            headers=(
                ("Cache-Control", "max-age=60"),
                ("ETag", '"a1"'),
                ("Content-Type", "text/plain"),
            ),
            body=b"x" * 300,
        ),
    )
    await server.start()
    yield server
    await server.stop()


def _edge(origin: ScriptedOrigin, **changes) -> EdgeServer:
    settings = EdgeSettings(
        host="127.0.0.1",
        port=0,
        upstream_url=origin.url,
        site_host=origin.url.split("//", 1)[1],
        shutdown_timeout=2.0,
        **changes,
    )
    return EdgeServer(settings, clock=_clock)


async def _raw_get(port: int, target: str) -> bytes:
    """One HTTP/1.1 keep-alive GET on a fresh connection: the raw response bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = await reader.readexactly(length)
    writer.close()
    await writer.wait_closed()
    return head + body


def test_the_pinned_aiohttp_offers_what_the_fast_path_reads() -> None:
    major, minor = (int(part) for part in version("aiohttp").split(".")[:2])
    assert (major, minor) == (3, 14)
    assert HIT_FIRST_SUPPORTED
    assert OBS_TEXT_SUPPORTED  # the header serializer obs-text passes through (edge.wire)


async def test_hits_are_answered_on_arrival_without_the_aiohttp_handler(origin) -> None:
    server = _edge(origin)
    proxy = server.app[PROXY]
    handled = []
    handle = proxy.handle

    async def counting(request):
        handled.append(request.raw_path)
        return await handle(request)

    proxy.handle = counting  # before start: the server binds it then
    await server.start()
    try:
        await _raw_get(server.port, "/a")  # the miss goes through aiohttp
        for _ in range(3):
            await _raw_get(server.port, "/a")
    finally:
        await server.stop()
    assert handled == ["/a"]


async def test_fast_path_bytes_equal_aiohttps_own_response(origin) -> None:
    answers = []
    for fast_path in (True, False):
        server = _edge(origin, fast_path=fast_path)
        await server.start()
        try:
            await _raw_get(server.port, "/a")
            answers.append(await _raw_get(server.port, "/a"))
        finally:
            await server.stop()
    fast, aiohttp_own = answers
    assert b"X-Cache: HIT" in fast
    assert fast == aiohttp_own
