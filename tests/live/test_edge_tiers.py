"""Tiers and peers: edge -> shield -> origin, consistent-hash peer sharding, emulated latency."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

from cdn.geo import Point, propagation_delay
from edge.settings import Peer

PARIS = Point(48.8566, 2.3522)
ASHBURN = Point(39.0438, -77.4874)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


async def get(http, url: str, **kwargs) -> tuple[int, dict, bytes]:
    async with http.get(url, **kwargs) as response:
        return response.status, response.headers.copy(), await response.read()


async def test_two_edges_behind_a_shield_make_one_origin_fetch(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    site = urlsplit(origin).netloc
    shield = await start_edge(origin, name="shield")
    edges = [
        await start_edge(
            shield, name=name, site_host=site, upstream_kind="shield", upstream_name="shield"
        )
        for name in ("edge-a", "edge-b")
    ]
    _, first, body_a = await get(http, edges[0] + "/obj/1")
    _, second, body_b = await get(http, edges[1] + "/obj/1")
    assert body_a == body_b
    assert await origin_fetches(origin, "/obj/1") == 1
    # Upstream first, the cache closest to the client last (RFC 9211 §2).
    members = [m.strip() for m in second["Cache-Status"].split(",")]
    assert members[0].startswith("cdnlab-shield; hit")
    assert members[1].startswith("cdnlab-edge-b; fwd=uri-miss")
    assert first["Via"] == "1.1 shield, 1.1 edge-a"
    _, third, _ = await get(http, edges[1] + "/obj/1")
    assert third["X-Cache"] == "HIT"
    assert third["Cache-Status"].split(",")[-1].strip().startswith("cdnlab-edge-b; hit")


async def test_age_from_the_shield_is_respected(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    site = urlsplit(origin).netloc
    shield = await start_edge(origin, name="shield")
    edge = await start_edge(shield, name="edge-a", site_host=site, upstream_kind="shield")
    target = "/obj/2?cc=max-age%3D1000&h=Age:400"
    await get(http, shield + target)
    _, headers, _ = await get(http, edge + target)
    assert int(headers["Age"]) >= 400
    own = headers["Cache-Status"].split(",")[-1]
    ttl = int(own.split("ttl=")[1].split(";")[0])
    assert ttl <= 600  # no double lifetime: 1000 - 400 at most


async def test_shield_passes_surrogate_keys_to_edges_for_tag_purges(
    start_origin, start_edge, http, edge_admin_headers
) -> None:
    origin = await start_origin()
    site = urlsplit(origin).netloc
    shield = await start_edge(origin, name="shield")
    edge = await start_edge(shield, name="edge-a", site_host=site, upstream_kind="shield")
    _, headers, _ = await get(http, edge + "/obj/3")
    assert "Surrogate-Key" not in headers  # stripped towards the client
    async with http.post(
        edge + "/_cdn/purge", json={"tag": "obj-3"}, headers=edge_admin_headers
    ) as r:
        assert (await r.json())["purged"] == 1  # ...but the edge indexed it


async def start_group(start_edge_server, origin: str, names: list[str]) -> dict:
    ports = free_ports(len(names))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in zip(names, ports, strict=True)}
    servers = {}
    for name, port in zip(names, ports, strict=True):
        peers = tuple(Peer(other, urls[other]) for other in names if other != name)
        servers[name] = await start_edge_server(
            origin, name=name, port=port, peers=peers, peer_check_interval=0.1
        )
    # Peers start up; this only guards against a probe racing a slow start (bounded).
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            states = []
            for server in servers.values():
                async with session.get(server.url + "/_cdn/health") as response:
                    states.extend((await response.json())["peers"].values())
            if set(states) == {"up"}:
                break
            await asyncio.sleep(0.05)
    return servers


async def test_peer_group_fetches_each_key_once(
    start_origin, start_edge_server, http, origin_fetches
) -> None:
    origin = await start_origin()
    servers = await start_group(start_edge_server, origin, ["edge-a", "edge-b", "edge-c"])
    for i in range(6):
        bodies = set()
        for server in servers.values():
            status, _headers, body = await get(http, server.url + f"/obj/{200 + i}")
            assert status == 200
            bodies.add(body)
        assert len(bodies) == 1
        assert await origin_fetches(origin, f"/obj/{200 + i}") == 1
    # Each key is stored once in the group: only by its owner.
    from edge.app import PROXY

    stored = sum(len(server.app[PROXY].store) for server in servers.values())
    assert stored == 6


async def test_a_peer_request_is_never_forwarded_to_another_peer(
    start_origin, start_edge_server, http, origin_fetches
) -> None:
    origin = await start_origin()
    servers = await start_group(start_edge_server, origin, ["edge-a", "edge-b", "edge-c"])
    for i in range(6):
        # Marked as coming from a peer: whoever gets it fetches from the origin itself.
        for server in servers.values():
            await get(http, server.url + f"/obj/{300 + i}", headers={"X-Cdnlab-Peer": "edge-z"})
    for i in range(6):
        assert await origin_fetches(origin, f"/obj/{300 + i}") >= 1


async def test_a_killed_peer_is_skipped(start_origin, start_edge_server, http) -> None:
    origin = await start_origin()
    servers = await start_group(start_edge_server, origin, ["edge-a", "edge-b", "edge-c"])
    await servers["edge-c"].stop()
    for i in range(12):
        for name in ("edge-a", "edge-b"):
            status, _, body = await get(http, servers[name].url + f"/obj/{400 + i}")
            assert status == 200
            assert body
    async with http.get(servers["edge-a"].url + "/_cdn/health") as response:
        assert (await response.json())["peers"]["edge-c"] == "down"


def keys_owned_by(server, owner: str, first: int, count: int) -> list[str]:
    """``count`` targets /obj/N (N from ``first``) whose ring owner is ``owner``."""
    from edge.app import PEERS, PROXY

    proxy, peers = server.app[PROXY], server.app[PEERS]
    targets = []
    n = first
    while len(targets) < count:
        if peers.owner(proxy.key_of(f"/obj/{n}")) == owner:
            targets.append(f"/obj/{n}")
        n += 1
    return targets


async def test_peers_start_up_even_when_probed_before_they_listen(
    start_origin, start_edge_server, http
) -> None:
    # edge-a starts (and probes) before edge-b listens; with no second probe for a minute,
    # edge-b must still own its keys once it is up (peers start optimistic).
    origin = await start_origin()
    port_a, port_b = free_ports(2)
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    edge_a = await start_edge_server(
        origin, name="edge-a", port=port_a, peers=(Peer("edge-b", url_b),), peer_check_interval=60
    )
    async with http.get(url_a + "/_cdn/health") as response:
        assert (await response.json())["peers"] == {"edge-b": "up"}
    edge_b = await start_edge_server(
        origin, name="edge-b", port=port_b, peers=(Peer("edge-a", url_a),), peer_check_interval=60
    )
    from edge.app import PROXY

    for target in keys_owned_by(edge_a, "edge-b", 500, 3):
        status, _, _ = await get(http, url_a + target)
        assert status == 200
    assert len(edge_b.app[PROXY].store) == 3  # the owner stored them
    assert len(edge_a.app[PROXY].store) == 0  # edge-a served them without a second copy
    async with http.get(url_a + "/_cdn/health") as response:
        assert (await response.json())["peers"] == {"edge-b": "up"}


async def test_a_peer_not_listening_yet_is_skipped_then_probed_back(
    start_origin, start_edge_server, http
) -> None:
    origin = await start_origin()
    port_a, port_b = free_ports(2)
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    edge_a = await start_edge_server(
        origin, name="edge-a", port=port_a, peers=(Peer("edge-b", url_b),), peer_check_interval=0.1
    )
    first, second = keys_owned_by(edge_a, "edge-b", 600, 2)
    # The first connection failure marks edge-b down; the request falls to the upstream.
    status, _, body = await get(http, url_a + first)
    assert (status, bool(body)) == (200, True)
    async with http.get(url_a + "/_cdn/health") as response:
        assert (await response.json())["peers"] == {"edge-b": "down"}
    edge_b = await start_edge_server(
        origin, name="edge-b", port=port_b, peers=(Peer("edge-a", url_a),), peer_check_interval=0.1
    )
    for _ in range(100):  # bounded: the health checks bring edge-b back
        async with http.get(url_a + "/_cdn/health") as response:
            if (await response.json())["peers"] == {"edge-b": "up"}:
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("edge-b never came back up")
    from edge.app import PROXY

    status, _, _ = await get(http, url_a + second)
    assert status == 200
    assert len(edge_b.app[PROXY].store) == 1


async def test_emulated_latency_sleeps_the_round_trip_to_the_upstream(
    start_origin, start_edge_server, http
) -> None:
    origin = await start_origin()
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    server = await start_edge_server(
        origin,
        sleep=record,
        emulate_latency=True,
        location=PARIS,
        upstream_location=ASHBURN,
        route_inflation=1.5,
    )
    expected = 2 * propagation_delay(PARIS, ASHBURN, 1.5)
    await get(http, server.url + "/obj/5")
    await get(http, server.url + "/obj/5")  # a hit: no upstream, no delay
    assert slept == [expected]
    async with http.get(server.url + "/_cdn/health") as response:
        assert (await response.json())["upstream"]["emulated_rtt_s"] == expected


async def test_no_delay_without_emulated_latency(start_origin, start_edge_server, http) -> None:
    origin = await start_origin()
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    server = await start_edge_server(
        origin, sleep=record, location=PARIS, upstream_location=ASHBURN
    )
    await get(http, server.url + "/obj/6")
    assert slept == []


async def test_client_location_is_accepted(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, access_log=True)
    status, _, _ = await get(http, edge + "/obj/7", headers={"X-Client-Location": "48.85,2.35"})
    assert status == 200
