"""Origin groups, live: two real origins on loopback; GET/HEAD/OPTIONS fail over to the
secondary on a connection failure, a timeout, or a configured status, never POST; Cache-Status
names the origin that answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_support import Clock, Reply, ScriptedOrigin, gateway_of

from cdn.gateway.behaviors import Behavior, ExternalOrigin, Gateway, OriginGroup
from cdn.gateway.patterns import PathPattern

CACHED = ("Cache-Control", "max-age=600")


@pytest.fixture
async def origins() -> AsyncIterator[tuple[Any, Any, Clock]]:
    clock = Clock()
    primary, secondary = ScriptedOrigin(clock), ScriptedOrigin(clock)
    await primary.start()
    await secondary.start()
    yield primary, secondary, clock
    await primary.stop()
    await secondary.stop()


def grouped(backup_url: str, statuses: frozenset[int] | None = None) -> Gateway:
    group = OriginGroup("static", ("origin", "backup"))
    if statuses is not None:
        group = OriginGroup("static", ("origin", "backup"), statuses)
    gateway = gateway_of(Behavior(PathPattern("/g/*"), "static"), groups=(group,))
    return Gateway(
        gateway.behaviors,
        origin_groups=gateway.origin_groups,
        external_origins=(ExternalOrigin("backup", backup_url),),
    )


async def edge_for(start_edge_server, primary_url: str, gateway: Gateway, clock, **changes) -> str:
    server = await start_edge_server(primary_url, clock=clock, gateway=gateway, **changes)
    return server.url


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_default_failover_status_goes_to_the_secondary(
    origins, start_edge_server, http, status
) -> None:
    primary, secondary, clock = origins
    primary.script("/g/1", Reply(status=status))
    secondary.script("/g/1", Reply(headers=(CACHED,), body=b"from the secondary"))
    url = await edge_for(start_edge_server, primary.url, grouped(secondary.url), clock)
    async with http.get(url + "/g/1") as response:
        assert await response.read() == b"from the secondary"
        assert response.status == 200
        cache_status = response.headers["Cache-Status"]
    assert f'cdnlab-group-static; detail="backup (primary origin: {status})"' in cache_status
    assert primary.fetches["/g/1"] == 1 and secondary.fetches["/g/1"] == 1
    async with http.get(url + "/g/1") as response:  # stored: the hit still says who answered
        await response.read()
        assert response.headers["X-Cache"].startswith("HIT")
        assert 'detail="backup' in response.headers["Cache-Status"]


@pytest.mark.parametrize("status", [400, 403, 404, 416])
async def test_a_configured_client_error_status_fails_over(
    origins, start_edge_server, http, status
) -> None:
    primary, secondary, clock = origins
    primary.script("/g/2", Reply(status=status))
    secondary.script("/g/2", Reply(body=b"second"))
    gateway = grouped(secondary.url, frozenset({status}))
    url = await edge_for(start_edge_server, primary.url, gateway, clock)
    async with http.get(url + "/g/2") as response:
        assert (response.status, await response.read()) == (200, b"second")


async def test_a_status_not_configured_is_the_answer(origins, start_edge_server, http) -> None:
    primary, secondary, clock = origins
    primary.script("/g/3", Reply(status=404, body=b"not here"))
    url = await edge_for(start_edge_server, primary.url, grouped(secondary.url), clock)
    async with http.get(url + "/g/3") as response:
        assert response.status == 404
        assert 'cdnlab-group-static; detail="origin"' in response.headers["Cache-Status"]
    assert secondary.fetches["/g/3"] == 0


async def test_the_primary_answering_is_named_in_cache_status(
    origins, start_edge_server, http
) -> None:
    primary, secondary, clock = origins
    primary.script("/g/4", Reply(body=b"first"))
    url = await edge_for(start_edge_server, primary.url, grouped(secondary.url), clock)
    async with http.get(url + "/g/4") as response:
        assert await response.read() == b"first"
        assert 'detail="origin"' in response.headers["Cache-Status"]


async def test_a_primary_refusing_connections_fails_over(origins, start_edge_server, http) -> None:
    primary, secondary, clock = origins
    secondary.script("/g/5", Reply(body=b"second"))
    down = primary.url
    await primary.stop()  # nothing listens there any more
    url = await edge_for(start_edge_server, down, grouped(secondary.url), clock)
    async with http.get(url + "/g/5") as response:
        assert (response.status, await response.read()) == (200, b"second")
        assert "primary origin: connect" in response.headers["Cache-Status"]


async def test_a_primary_that_times_out_fails_over(origins, start_edge_server, http) -> None:
    _, secondary, clock = origins
    secondary.script("/g/6", Reply(body=b"second"))

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)  # reads the request, never answers
        writer.close()

    hung = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = hung.sockets[0].getsockname()[1]
    try:
        url = await edge_for(
            start_edge_server,
            f"http://127.0.0.1:{port}",
            grouped(secondary.url),
            clock,
            upstream_timeout=0.3,
        )
        async with http.get(url + "/g/6") as response:
            assert (response.status, await response.read()) == (200, b"second")
            assert "primary origin: timeout" in response.headers["Cache-Status"]
    finally:
        hung.close()


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
async def test_head_and_options_fail_over_too(origins, start_edge_server, http, method) -> None:
    primary, secondary, clock = origins
    primary.script("/g/7", Reply(status=503))
    secondary.script("/g/7", Reply(body=b"second"))
    url = await edge_for(start_edge_server, primary.url, grouped(secondary.url), clock)
    async with http.request(method, url + "/g/7") as response:
        await response.read()
        assert response.status == 200
    assert secondary.fetches["/g/7"] == 1


async def test_post_never_fails_over_on_a_status(origins, start_edge_server, http) -> None:
    primary, secondary, clock = origins
    primary.script("/g/8", Reply(status=503, body=b"busy"))
    secondary.script("/g/8", Reply(body=b"second"))
    url = await edge_for(start_edge_server, primary.url, grouped(secondary.url), clock)
    async with http.post(url + "/g/8", data=b"payload") as response:
        assert (response.status, await response.read()) == (503, b"busy")
    assert primary.fetches["/g/8"] == 1 and secondary.fetches["/g/8"] == 0


async def test_post_never_fails_over_when_the_primary_is_down(
    origins, start_edge_server, http
) -> None:
    primary, secondary, clock = origins
    secondary.script("/g/9", Reply(body=b"second"))
    down = primary.url
    await primary.stop()
    url = await edge_for(start_edge_server, down, grouped(secondary.url), clock)
    async with http.post(url + "/g/9", data=b"payload") as response:
        await response.read()
        assert response.status == 502
    assert secondary.fetches["/g/9"] == 0


async def test_a_behavior_on_an_external_origin_fetches_from_it(
    origins, start_edge_server, http
) -> None:
    primary, secondary, clock = origins
    secondary.script("/x/1", Reply(body=b"external"))
    gateway = gateway_of(Behavior(PathPattern("/x/*"), "backup"))
    gateway = Gateway(
        gateway.behaviors, external_origins=(ExternalOrigin("backup", secondary.url),)
    )
    url = await edge_for(start_edge_server, primary.url, gateway, clock)
    async with http.get(url + "/x/1") as response:
        assert await response.read() == b"external"
    assert primary.fetches["/x/1"] == 0
