"""configs/gateway.toml, as docs/gateway.md walks through it: its origin and edge in-process
(port 0), each behavior checked over HTTP."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cdn.topology import load_topology
from cli.main import main
from edge.settings import EdgeSettings

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
API_KEY = "cdnlab-demo-key-0123456789"


@pytest.fixture
async def example(start_origin, start_edge_server) -> tuple[str, str]:
    """(origin URL, edge URL) of configs/gateway.toml's origin and edge-par."""
    topology = load_topology(CONFIGS / "gateway.toml")
    origin = await start_origin(topology)
    node = EdgeSettings.from_topology(topology, "edge-par")
    server = await start_edge_server(
        origin,
        gateway=node.gateway,
        api_key_values=node.api_key_values,
        node_urls=node.node_urls,  # origin-b, the group's secondary
    )
    return origin, server.url


async def test_the_api_needs_its_key_and_is_never_cached(example, http) -> None:
    _, url = example
    async with http.get(url + "/echo") as response:
        assert response.status == 403
        assert json.loads(await response.read()) == {"message": "Forbidden"}
    for _ in range(2):
        async with http.get(url + "/echo", headers={"x-api-key": API_KEY}) as response:
            await response.read()
            assert response.status == 200
            assert response.headers["X-Cache"] != "HIT"
            assert "RateLimit" in response.headers


async def test_static_objects_live_a_day_whatever_the_origin_says(example, http) -> None:
    _, url = example
    async with http.get(url + "/static/3?v=1&utm=a") as response:
        await response.read()
        ttl = int(response.headers["Cache-Status"].split("ttl=")[1].split(";")[0])
        assert ttl > 3600  # the origin says max-age=300; min_ttl is a day
    async with http.get(url + "/static/3?v=1&utm=b") as response:
        await response.read()
        assert response.headers["X-Cache"] == "HIT"


async def test_private_objects_need_a_url_signed_by_cdn_sign(example, http, capsys) -> None:
    _, url = example
    async with http.get(url + "/obj/5") as response:
        await response.read()
        assert response.status == 403
    key = CONFIGS / "keys" / "KCDNLABDEMO01.private.pem"
    assert main(["sign", url + "/obj/5", "--key", str(key), "--expires", "10m"]) == 0
    async with http.get(capsys.readouterr().out.strip()) as response:
        await response.read()
        assert response.status == 200


def test_shields_do_not_apply_the_gateway() -> None:
    topology = load_topology(CONFIGS / "gateway.toml")
    assert EdgeSettings.from_topology(topology, "edge-par").gateway is topology.gateway
    local = load_topology(CONFIGS / "local.toml")
    assert EdgeSettings.from_topology(local, "shield-fra").gateway is None


def test_a_missing_value_env_is_a_clear_error() -> None:
    from cdn.gateway.behaviors import ApiKey, Gateway
    from edge.settings import api_key_values

    gateway = Gateway((), api_keys=(ApiKey("k", "p", value_env="NO_SUCH_VAR_CDNLAB"),))
    with pytest.raises(ValueError, match="NO_SUCH_VAR_CDNLAB is not set"):
        api_key_values(gateway, {})
    assert api_key_values(gateway, {"NO_SUCH_VAR_CDNLAB": "v" * 20}) == (("k", "v" * 20),)


async def test_the_api_answers_compressed_to_a_gzip_client(example, http) -> None:
    _, url = example
    text = "cdnlab " * 300
    headers = {"x-api-key": API_KEY, "Accept-Encoding": "gzip"}
    async with http.get(url + "/echo", params={"body": text}, headers=headers) as response:
        body = await response.read()
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Vary"].startswith("Accept-Encoding")
    assert gzip.decompress(body).decode() == text


async def test_static_objects_fail_over_to_origin_b(start_origin_server, start_edge_server, http):
    topology = load_topology(CONFIGS / "gateway.toml")
    primary = await start_origin_server(topology)
    backup = await start_origin_server(topology)
    node = EdgeSettings.from_topology(topology, "edge-par")
    edge = await start_edge_server(
        primary.url, gateway=node.gateway, node_urls=(("origin-b", backup.url),)
    )
    await primary.stop()
    async with http.get(edge.url + "/static/4") as response:
        await response.read()
        assert response.status == 200
        assert 'detail="origin-b (primary origin: connect)"' in response.headers["Cache-Status"]
