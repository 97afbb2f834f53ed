"""The gateway in a peer group: the edge a viewer reaches admits; the key's owner does not again.

Two edges (edge-a, edge-b) share keys by consistent hashing and an admin token; each runs the
gateway below on a fixed clock (buckets never refill). Requests go to edge-a for keys that
edge-b owns, so edge-a admits them and forwards the miss to edge-b with its proof.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from yarl import URL

from cdn.topology import default_topology_path, load_topology
from edge.settings import Peer, api_key_values

KEYS = Path(__file__).resolve().parents[2] / "configs" / "keys"
KEY_ID = "KCDNLABDEMO01"
API_KEY = "cdnlab-test-key-0123456789"
NOW = float(int(time.time()))
LIMIT = 3  # the plan's burst; the rate is too slow to refill on a fixed clock

GATEWAY = f"""
[[key_group]]
name = "demo"
keys = [{{ id = "{KEY_ID}", public_key_file = "{KEYS / (KEY_ID + ".public.pem")}" }}]

[[usage_plan]]
name = "tight"
throttle = {{ rate_limit = 0.001, burst_limit = {LIMIT} }}

[[api_key]]
name = "alice"
value = "{API_KEY}"
usage_plan = "tight"

[[behavior]]
path_pattern = "/obj/1*"
api_key_required = true
usage_plan = "tight"

[[behavior]]
path_pattern = "/obj/2*"
trusted_key_groups = ["demo"]
cache_key = {{ query_strings = "none" }}

[[behavior]]
path_pattern = "*"
"""


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
async def group(start_origin, start_edge_server, tmp_path: Path) -> dict[str, Any]:
    """edge-a and edge-b in one peer group with the gateway, both up."""
    path = tmp_path / "gateway.toml"
    path.write_text(default_topology_path().read_text() + GATEWAY)
    gateway = load_topology(path).gateway
    origin = await start_origin()
    names = ["edge-a", "edge-b"]
    ports = free_ports(2)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in zip(names, ports, strict=True)}
    servers = {}
    for name, port in zip(names, ports, strict=True):
        servers[name] = await start_edge_server(
            origin,
            name=name,
            port=port,
            peers=tuple(Peer(other, urls[other]) for other in names if other != name),
            peer_check_interval=0.1,
            clock=lambda: NOW,
            gateway=gateway,
            api_key_values=api_key_values(gateway, {}),
        )
    async with aiohttp.ClientSession() as session:
        for _ in range(100):  # bounded: both see each other up
            states = []
            for server in servers.values():
                async with session.get(server.url + "/_cdn/health") as response:
                    states.extend((await response.json())["peers"].values())
            if set(states) == {"up"}:
                break
            await asyncio.sleep(0.05)
    return servers


def owned_by(server: Any, owner: str, prefix: str, count: int, query: str = "") -> list[str]:
    """``count`` targets ``prefix``N``query`` whose ring owner is ``owner``."""
    from edge.app import PEERS, PROXY

    proxy, peers = server.app[PROXY], server.app[PEERS]
    targets = []
    n = 0
    while len(targets) < count:
        if peers.owner(proxy.key_of(f"{prefix}{n}{query}")) == owner:
            targets.append(f"{prefix}{n}{query}")
        n += 1
    return targets


async def status_of(http: Any, url: str, **kwargs: Any) -> int:
    async with http.get(URL(url, encoded=True), **kwargs) as response:  # the target as it is
        await response.read()
        return response.status


@pytest.mark.parametrize("query", ["", "?x=%7E"])  # the client re-encodes this one: ?x=~
async def test_requests_forwarded_to_the_owner_take_nothing_from_its_limits(
    group, http, query
) -> None:
    edge_a, edge_b = group["edge-a"], group["edge-b"]
    key = {"x-api-key": API_KEY}
    forwarded = owned_by(edge_a, "edge-b", "/obj/1", LIMIT, query)
    assert [await status_of(http, edge_a.url + t, headers=key) for t in forwarded] == [200] * 3
    # edge-b's own viewers still get its whole plan: the forwarded ones were edge-a's.
    own = owned_by(edge_b, "edge-b", "/obj/1", 2 * LIMIT)[LIMIT:]
    assert [await status_of(http, edge_b.url + t, headers=key) for t in own] == [200] * 3
    assert await status_of(http, edge_b.url + "/obj/1999", headers=key) == 429


async def test_a_limit_of_n_admits_n_at_the_edge_that_forwards(group, http) -> None:
    edge_a = group["edge-a"]
    key = {"x-api-key": API_KEY}
    targets = owned_by(edge_a, "edge-b", "/obj/1", LIMIT + 1)
    statuses = [await status_of(http, edge_a.url + t, headers=key) for t in targets]
    assert statuses == [200] * LIMIT + [429]


async def test_a_url_signed_for_the_edge_it_reaches_is_accepted_via_the_owner(group, http) -> None:
    edge_a = group["edge-a"]
    pem = (KEYS / f"{KEY_ID}.private.pem").read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    signer = CloudFrontSigner(
        KEY_ID,
        lambda message: private.sign(message, padding.PKCS1v15(), hashes.SHA1()),  # type: ignore[union-attr,call-arg,arg-type]
    )
    expires = datetime.datetime.fromtimestamp(NOW + 600, tz=datetime.UTC)
    (target,) = owned_by(edge_a, "edge-b", "/obj/2", 1)  # the key has no query: by path
    url = signer.generate_presigned_url(edge_a.url + target, date_less_than=expires)
    async with http.get(url) as response:
        await response.read()
        assert response.status == 200
        assert "fwd-status=200" in response.headers["Cache-Status"]  # the owner answered
    from edge.app import PROXY

    assert len(group["edge-b"].app[PROXY].store) == 1  # ...and stored it


@pytest.mark.parametrize("proof", [None, "0" * 64])
async def test_a_viewer_claiming_to_be_a_peer_is_still_admitted(group, http, proof) -> None:
    headers = {"X-Cdnlab-Peer": "edge-a"}
    if proof is not None:
        headers["X-Cdnlab-Peer-Proof"] = proof
    assert await status_of(http, group["edge-b"].url + "/obj/2001", headers=headers) == 403
