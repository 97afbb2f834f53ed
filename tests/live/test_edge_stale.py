"""Revalidation, stale-while-revalidate, stale-if-error and upstream failures (502/504)."""

from __future__ import annotations

import asyncio

from origin.faults import Faults

# Responses that are stale on arrival: the origin says they are already older than max-age.
STALE_SIE = "/obj/30?cc=max-age%3D10,stale-if-error%3D600&h=Age:20"


async def get(http, url: str, **kwargs) -> tuple[int, dict, bytes]:
    async with http.get(url, **kwargs) as response:
        return response.status, response.headers.copy(), await response.read()


async def set_faults(http, origin: str, headers: dict, **changes) -> None:
    async with http.post(origin + "/_cdn/faults", json=changes, headers=headers) as response:
        assert response.status == 200, await response.text()


async def origin_stats(http, origin: str) -> dict:
    async with http.get(origin + "/_cdn/stats") as response:
        return await response.json()


async def test_stale_if_error_serves_stale_when_the_origin_is_down(
    start_origin_server, start_edge, http
) -> None:
    server = await start_origin_server()
    edge = await start_edge(server.url)
    status, _, body = await get(http, edge + STALE_SIE)
    assert status == 200
    await server.stop()  # connections closed, port refused
    status, headers, stale_body = await get(http, edge + STALE_SIE)
    assert status == 200
    assert stale_body == body
    assert headers["X-Cache"] == "STALE"
    assert "detail=stale-if-error" in headers["Cache-Status"]


async def test_stale_if_error_serves_stale_on_a_5xx(
    start_origin, start_edge, http, origin_admin_headers
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + STALE_SIE)
    await set_faults(http, origin, origin_admin_headers, error_rate=1.0, error_status=503)
    # (an error answer, not a dropped connection: the 5xx branch of stale-if-error)
    status, headers, _ = await get(http, edge + STALE_SIE)
    assert status == 200
    assert headers["X-Cache"] == "STALE"
    assert "fwd-status=503" in headers["Cache-Status"]


async def test_configured_stale_if_error_applies_without_the_directive(
    start_origin_server, start_edge, http
) -> None:
    server = await start_origin_server()
    edge = await start_edge(server.url, stale_if_error=600.0)
    target = "/obj/31?cc=max-age%3D10&h=Age:20"
    await get(http, edge + target)
    await server.stop()
    status, headers, _ = await get(http, edge + target)
    assert status == 200
    assert headers["X-Cache"] == "STALE"


async def test_without_stale_if_error_the_client_gets_502(
    start_origin_server, start_edge, http
) -> None:
    server = await start_origin_server()
    edge = await start_edge(server.url, stale_if_error=0.0)
    target = "/obj/32?cc=max-age%3D10&h=Age:20"
    await get(http, edge + target)
    await server.stop()
    status, headers, body = await get(http, edge + target)
    assert status == 502
    assert b"cannot connect" in body
    assert "X-Cache" in headers and "Cache-Status" in headers


async def test_connection_refused_is_502_with_a_clear_body(start_edge, http, free_port) -> None:
    edge = await start_edge(f"http://127.0.0.1:{free_port}")
    status, headers, body = await get(http, edge + "/obj/1")
    assert status == 502
    assert body.startswith(b"502 Bad Gateway: cannot connect to origin")
    assert "Cache-Status" in headers
    assert headers["X-Cache"] == "MISS"


async def test_reset_connections_are_502(
    start_origin, start_edge, http, origin_admin_headers
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await set_faults(http, origin, origin_admin_headers, down=True, down_mode="reset")
    status, _headers, body = await get(http, edge + "/obj/35")
    assert status == 502
    # A reset before the response head is a lost connection (tried again, then 502).
    assert body.startswith(b"502 Bad Gateway: connection to origin origin")
    assert b"lost before the response" in body


async def test_upstream_timeout_is_504(start_origin, start_edge, http) -> None:
    origin = await start_origin(faults=Faults(stall_rate=1.0))
    edge = await start_edge(origin, upstream_timeout=0.3)
    status, headers, body = await get(http, edge + "/obj/1")
    assert status == 504
    assert b"did not answer within 0.3s" in body
    assert "Cache-Status" in headers


async def test_soft_purge_then_revalidation_by_304(
    start_origin, start_edge, http, edge_admin_headers
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    _, _, body = await get(http, edge + "/obj/33")
    async with http.post(
        edge + "/_cdn/purge", json={"url": "/obj/33", "soft": True}, headers=edge_admin_headers
    ) as response:
        assert (await response.json())["purged"] == 1
    before = (await origin_stats(http, origin))["not_modified"]
    status, headers, revalidated = await get(http, edge + "/obj/33")
    assert status == 200
    assert revalidated == body
    assert headers["X-Cache"] == "REVALIDATED"
    assert "fwd=stale" in headers["Cache-Status"]
    assert (await origin_stats(http, origin))["not_modified"] == before + 1
    # The 304 freshened the entry: a plain hit again.
    assert (await get(http, edge + "/obj/33"))[1]["X-Cache"] == "HIT"


async def test_stale_while_revalidate_refreshes_once_in_the_background(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    target = (
        "/echo?size=64&delay=300ms&h=Cache-Control:max-age%3D10,stale-while-revalidate%3D600"
        "&h=Age:20&h=ETag:%22v1%22"
    )
    await get(http, edge + target)
    assert await origin_fetches(origin, target) == 1
    results = await asyncio.gather(*(get(http, edge + target) for _ in range(10)))
    assert {headers["X-Cache"] for _, headers, _ in results} == {"STALE"}
    assert all("stale-while-revalidate" in h["Cache-Status"] for _, h, _ in results)
    for _ in range(100):  # the refresh takes the origin's 300 ms
        if await origin_fetches(origin, target) >= 2:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    assert await origin_fetches(origin, target) == 2


async def test_client_no_cache_revalidates_a_fresh_entry(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/obj/34")
    status, headers, _ = await get(http, edge + "/obj/34", headers={"Cache-Control": "no-cache"})
    assert status == 200
    assert headers["X-Cache"] == "REVALIDATED"
