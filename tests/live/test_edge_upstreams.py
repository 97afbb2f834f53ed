"""Several upstreams per edge (``EdgeSettings.fallbacks``): tried in order when one fails."""

from __future__ import annotations

import socket
from typing import Any

from edge.settings import EdgeSettings, Fallback


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def _failovers(http: Any, edge: str) -> float:
    async with http.get(edge + "/_cdn/metrics") as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("cdnlab_edge_upstream_failovers_total{")
    )


async def test_a_refusing_first_upstream_is_skipped_for_the_next(
    start_origin: Any, start_edge: Any, http: Any
) -> None:
    origin = await start_origin()
    dead = _closed_port_url()
    edge = await start_edge(
        dead,
        upstream_kind="shield",
        upstream_name="shield-dead",
        fallbacks=(Fallback("origin", origin, "origin"),),
    )
    async with http.get(edge + "/obj/1") as response:
        assert response.status == 200
        await response.read()
    assert await _failovers(http, edge) == 1


async def test_fallbacks_are_tried_in_order(
    start_origin: Any, start_edge: Any, http: Any, origin_fetches: Any
) -> None:
    first, second = await start_origin(), await start_origin()
    edge = await start_edge(
        _closed_port_url(),
        fallbacks=(Fallback("first", first, "origin"), Fallback("second", second, "origin")),
    )
    async with http.get(edge + "/obj/2") as response:
        assert response.status == 200
    assert await origin_fetches(first, "/obj/2") == 1
    assert await origin_fetches(second, "/obj/2") == 0


async def test_when_every_upstream_fails_the_last_failure_is_the_answer(
    start_edge: Any, http: Any
) -> None:
    last = _closed_port_url()
    edge = await start_edge(_closed_port_url(), fallbacks=(Fallback("last", last, "origin"),))
    async with http.get(edge + "/obj/3") as response:
        assert response.status == 502
        assert f"cannot connect to origin last ({last})" in await response.text()


def test_a_topology_edge_gets_its_fallbacks_with_their_urls(tmp_path: Any) -> None:
    from cdn.topology import load_topology

    path = tmp_path / "topo.toml"
    path.write_text(
        '[origin]\nname = "origin"\nport = 8100\ncity = "Ashburn"\n'
        '[[shield]]\nname = "shield-fra"\nport = 8110\ncity = "Frankfurt"\n'
        '[[edge]]\nname = "edge-par"\nport = 8121\ncity = "Paris"\n'
        'upstream = ["shield-fra", "origin"]\n'
    )
    settings = EdgeSettings.from_topology(load_topology(path), "edge-par")
    assert settings.upstream_name == "shield-fra"
    assert settings.fallbacks[0].name == "origin"
    assert settings.fallbacks[0].url == "http://127.0.0.1:8100"
    assert settings.fallbacks[0].kind == "origin"


async def test_a_hung_peer_costs_the_peer_timeout_then_the_next_owner_answers(
    start_origin: Any, start_edge: Any, http: Any
) -> None:
    import asyncio

    from edge.settings import Peer

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, reads, never answers (a stopped or partitioned peer)
        writer.close()

    hung = await asyncio.start_server(hang, "127.0.0.1", 0)
    peer_url = f"http://127.0.0.1:{hung.sockets[0].getsockname()[1]}"
    try:
        origin = await start_origin()
        edge = await start_edge(origin, peers=(Peer("edge-hung", peer_url),), peer_timeout=0.3)
        for i in range(8):  # about half of the keys are the hung peer's
            async with http.get(edge + f"/obj/{200 + i}") as response:
                assert response.status == 200
        async with http.get(edge + "/_cdn/metrics") as response:
            text = await response.text()
        assert 'reason="timeout"' in text
    finally:
        hung.close()
