"""The edge hashes and stores under the core's keys: the simulator's peer key and CacheConfig."""

from __future__ import annotations

import pytest

from cdn.http import NEGATIVE_STATUSES
from cdn.ring import peer_key
from cdn.topology import default_topology_path, load_topology
from edge.settings import EdgeSettings

TARGETS = ["/obj/42", "/obj/7?b=2&a=1", "/obj/7?utm=x&a=1", "/assets/1.bin?", "/obj/9#frag"]


@pytest.mark.parametrize("target", TARGETS)
async def test_edge_key_of_a_target_is_the_simulators_peer_key(
    start_origin, start_edge_server, target: str
) -> None:
    from edge.app import PROXY

    origin = await start_origin()
    server = await start_edge_server(origin, ignore_query_params=("utm",), sort_query_params=True)
    site = server.settings.site_host
    expected = peer_key(site, target, ignore_params=("utm",), sort_params=True)
    assert server.app[PROXY].key_of(target) == expected


def test_topology_edge_builds_the_simulators_cache_config() -> None:
    topology = load_topology(default_topology_path())
    for node in topology.caches:
        settings = EdgeSettings.from_topology(topology, node.name)
        assert settings.cache_config == topology.edge_settings.cache_config()


def test_negative_ttl_flag_covers_the_cores_negative_statuses() -> None:
    config = EdgeSettings(negative_ttl=5.0).cache_config
    assert dict(config.negative_ttl) == dict.fromkeys(NEGATIVE_STATUSES, 5.0)
    assert dict(EdgeSettings(negative_ttl=0).cache_config.negative_ttl) == {}
