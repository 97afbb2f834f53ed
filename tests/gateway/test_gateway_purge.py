"""Purging under behaviors: a URL purge removes the entry its behavior's cache key stores.

One edge with the gateway below: /obj/1... keeps only ``v`` of the query in its key, /obj/2...
keeps no query but the ``x-tier`` request field (a key suffix per value).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cdn.topology import default_topology_path, load_topology

GATEWAY = """
[[behavior]]
path_pattern = "/obj/1*"
cache_key = { query_strings = ["v"] }

[[behavior]]
path_pattern = "/obj/2*"
cache_key = { query_strings = "none", headers = ["x-tier"] }

[[behavior]]
path_pattern = "*"
"""


@pytest.fixture
async def edge(start_origin, start_edge_server, tmp_path: Path) -> str:
    path = tmp_path / "gateway.toml"
    path.write_text(default_topology_path().read_text() + GATEWAY)
    gateway = load_topology(path).gateway
    server = await start_edge_server(await start_origin(), gateway=gateway)
    return server.url


async def cache_of(http: Any, url: str, **kwargs: Any) -> str:
    async with http.get(url, **kwargs) as response:
        await response.read()
        assert response.status == 200
        return response.headers["X-Cache"].split()[0]


async def purge(http: Any, edge: str, url: str, headers: dict[str, str]) -> int:
    async with http.post(edge + "/_cdn/purge", json={"url": url}, headers=headers) as response:
        assert response.status == 200
        return (await response.json())["purged"]


async def test_a_purge_removes_the_entry_under_the_behaviors_query_key(
    edge, http, edge_admin_headers
) -> None:
    assert await cache_of(http, edge + "/obj/11?v=1&utm=a") == "MISS"
    assert await cache_of(http, edge + "/obj/11?v=1&utm=b") == "HIT"
    assert await purge(http, edge, "/obj/11?utm=c&v=1", edge_admin_headers) == 1
    assert await cache_of(http, edge + "/obj/11?v=1&utm=a") == "MISS"


async def test_a_purge_method_removes_the_entry_under_the_behaviors_query_key(
    edge, http, edge_admin_headers
) -> None:
    assert await cache_of(http, edge + "/obj/12?v=2&utm=a") == "MISS"
    async with http.request(
        "PURGE", edge + "/obj/12?v=2&utm=z", headers=edge_admin_headers
    ) as response:
        assert (await response.json())["purged"] == 1


async def test_a_purge_removes_every_header_value_of_a_keyed_header(
    edge, http, edge_admin_headers
) -> None:
    for tier in ("gold", "silver"):
        assert await cache_of(http, edge + "/obj/21?x=1", headers={"x-tier": tier}) == "MISS"
    assert await cache_of(http, edge + "/obj/21", headers={"x-tier": "gold"}) == "HIT"
    assert await purge(http, edge, "/obj/21?y=2", edge_admin_headers) == 2
    assert await cache_of(http, edge + "/obj/21", headers={"x-tier": "gold"}) == "MISS"
