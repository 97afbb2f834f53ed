"""Fault injection at the origin: latency, errors, stalls, down; at start-up and at run time."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from origin.faults import Faults
from origin.state import CONTROL


async def stats(session: aiohttp.ClientSession, base: str) -> dict:
    async with session.get(base + "/_cdn/stats") as response:
        return await response.json()


async def set_faults(
    session: aiohttp.ClientSession, base: str, headers: dict, **changes: object
) -> dict:
    async with session.post(base + "/_cdn/faults", json=changes, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def wait_until(predicate, tries: int = 200, pause: float = 0.02) -> bool:
    """Poll an async predicate a bounded number of times."""
    for _ in range(tries):
        if await predicate():
            return True
        await asyncio.sleep(pause)
    return False


async def test_latency_is_injected_and_counted(start_origin) -> None:
    base = await start_origin(faults=Faults(latency=0.01, jitter=0.005))
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(base + "/obj/1") as response:
                assert response.status == 200
        counts = await stats(session, base)
    assert counts["faults"]["latency"] == 3


async def test_error_rate_one_answers_every_request_with_the_configured_5xx(start_origin) -> None:
    base = await start_origin(faults=Faults(error_rate=1.0, error_status=502))
    async with aiohttp.ClientSession() as session:
        for _ in range(4):
            async with session.get(base + "/obj/1") as response:
                assert response.status == 502
                assert response.headers["X-Cdnlab-Fault"] == "error"
        async with session.get(base + "/_cdn/health") as response:
            assert response.status == 200  # admin routes are never faulted
        counts = await stats(session, base)
    assert counts["faults"]["error"] == 4
    assert counts["statuses"]["502"] == 4


async def test_error_rate_draws_are_reproducible_with_a_seed(start_origin) -> None:
    async def pattern() -> list[int]:
        base = await start_origin(faults=Faults(error_rate=0.5), fault_seed=11)
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(12):
                async with session.get(base + "/obj/1") as response:
                    statuses.append(response.status)
            return statuses

    first, second = await pattern(), await pattern()
    assert first == second
    assert set(first) == {200, 503}


async def test_faults_only_touch_paths_under_their_prefix(start_origin) -> None:
    base = await start_origin(faults=Faults(error_rate=1.0, prefix="/obj/"))
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/echo") as response:
            assert response.status == 200
        async with session.get(base + "/obj/1") as response:
            assert response.status == 503


async def test_stall_never_answers_and_is_released_when_the_client_gives_up(
    start_origin, origin_admin_headers
) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        await set_faults(session, base, origin_admin_headers, stall_rate=1.0)
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(base + "/obj/1", timeout=aiohttp.ClientTimeout(total=0.2)):
                pass
        counts = await stats(session, base)
        assert counts["faults"]["stall"] == 1

        async def released() -> bool:
            return (await stats(session, base))["stalled_now"] == 0

        assert await wait_until(released)


async def test_shutdown_releases_stalled_requests(start_origin_server) -> None:
    server = await start_origin_server(faults=Faults(stall_rate=1.0))
    async with aiohttp.ClientSession() as session:
        pending = asyncio.create_task(session.get(server.url + "/obj/1"))

        async def stalled() -> bool:
            return server.app[CONTROL].counters.stalled_now == 1

        assert await wait_until(stalled)
        await asyncio.wait_for(server.stop(), timeout=10)
        with pytest.raises(aiohttp.ClientError):
            await pending


async def test_down_refuses_connections_until_cleared(
    start_origin_server, origin_admin_headers
) -> None:
    server = await start_origin_server()
    base = server.url
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        await set_faults(session, base, origin_admin_headers, down=True)
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(base + "/obj/1")
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(base + "/_cdn/health")
        await server.app[CONTROL].apply({"down": False})
        async with session.get(base + "/obj/1") as response:
            assert response.status == 200
    assert server.url == base


async def test_down_closes_established_keep_alive_connections(
    start_origin_server, origin_admin_headers
) -> None:
    # A client's pooled connection must not survive "down": its next request fails at once
    # (connection closed or refused), not after the read timeout.
    server = await start_origin_server()
    base = server.url
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
    async with (
        aiohttp.ClientSession(connector=connector) as client,
        aiohttp.ClientSession() as admin,
    ):
        async with client.get(base + "/obj/1") as response:
            assert response.status == 200
            await response.read()
        await set_faults(admin, base, origin_admin_headers, down=True)
        with pytest.raises(aiohttp.ClientError) as failure:
            async with client.get(
                base + "/obj/1", timeout=aiohttp.ClientTimeout(total=None, sock_read=10)
            ):
                pass
        assert not isinstance(failure.value, asyncio.TimeoutError), failure.value


async def test_down_for_comes_back_by_itself(start_origin, origin_admin_headers) -> None:
    base = await start_origin()
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        await set_faults(session, base, origin_admin_headers, down=True, down_for="200ms")

        async def up() -> bool:
            try:
                async with session.get(base + "/_cdn/health") as response:
                    return response.status == 200
            except aiohttp.ClientConnectorError:
                return False

        assert await wait_until(up, tries=250)
        counts = await stats(session, base)
    assert counts["faults"].get("down", 0) == 0  # refused connections never reach the app


async def test_down_in_reset_mode_drops_requests_but_keeps_admin(
    start_origin, origin_admin_headers
) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        await set_faults(session, base, origin_admin_headers, down=True, down_mode="reset")
        # POST: aiohttp's client retries a dropped idempotent request once by itself.
        with pytest.raises(aiohttp.ClientError):
            async with session.post(base + "/echo") as response:
                await response.read()
        async with session.delete(base + "/_cdn/faults", headers=origin_admin_headers) as response:
            assert response.status == 200
        async with session.get(base + "/obj/1") as response:
            assert response.status == 200
        counts = await stats(session, base)
    assert counts["faults"]["down"] == 1
    assert counts["paths"] == {"/echo": 1, "/obj/1": 1}


async def test_starting_down_with_port_zero_still_reserves_a_port(start_origin_server) -> None:
    server = await start_origin_server(faults=Faults(down=True))
    assert server.port != 0
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(server.url + "/_cdn/health")
        await server.app[CONTROL].clear()
        async with session.get(server.url + "/_cdn/health") as response:
            assert response.status == 200
