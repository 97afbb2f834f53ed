"""A server says where it really listens: the start-up line of `cdn origin`/`cdn edge` prints it."""

from __future__ import annotations

from aiohttp import web

from serving.server import AppServer


async def _started(host: str) -> AppServer:
    app = web.Application()
    server = AppServer(app, web.AppRunner(app), host, 0)
    await server.start()
    return server


async def test_a_server_bound_to_every_address_reports_0_0_0_0() -> None:
    server = await _started("0.0.0.0")
    try:
        assert server.url == f"http://0.0.0.0:{server.port}"
    finally:
        await server.stop()


async def test_a_server_bound_to_loopback_reports_127_0_0_1() -> None:
    server = await _started("127.0.0.1")
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()
