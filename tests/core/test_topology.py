"""Topology files: the shipped configs load, and every bad value names its file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn.errors import ConfigError
from cdn.topology import load_topology

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MINIMAL = """
[origin]
name = "origin"
port = 8100
city = "Ashburn"

[[edge]]
name = "edge-par"
port = 8121
city = "Paris"
cache_size = "16MiB"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topo.toml"
    path.write_text(text)
    return path


def test_local_topology_has_origin_one_shield_and_three_edges():
    topology = load_topology(CONFIGS / "local.toml")
    assert topology.origin.name == "origin"
    assert len(topology.shields) == 1
    assert len(topology.edges) == 3
    assert all(edge.upstream == "shield-fra" for edge in topology.edges)
    assert all(node.host == "127.0.0.1" for node in topology.nodes)


def test_world_topology_has_twenty_plus_pops_in_real_cities():
    topology = load_topology(CONFIGS / "world.toml")
    assert len(topology.edges) >= 20
    assert {edge.location.continent for edge in topology.edges} >= {
        "EU",
        "NA",
        "SA",
        "AS",
        "OC",
        "AF",
    }


def test_every_shipped_config_loads():
    for path in CONFIGS.glob("*.toml"):
        if path.name.startswith("plan"):
            continue
        load_topology(path)


def test_minimal_topology_fills_defaults(tmp_path):
    topology = load_topology(write(tmp_path, MINIMAL))
    edge = topology.edges[0]
    assert edge.upstream == "origin"
    assert edge.cache_size == 16 * 1024 * 1024
    assert edge.policy == "lru"
    assert edge.url == "http://127.0.0.1:8121"
    assert topology.rule_for("/obj/1").cache_control == "public, max-age=3600"


def test_bad_cache_size_names_file_key_and_expectation(tmp_path):
    path = write(tmp_path, MINIMAL.replace('"16MiB"', '"sixteen"'))
    with pytest.raises(ConfigError) as info:
        load_topology(path)
    message = str(info.value)
    assert f"{path}:edge[0].cache_size" in message
    assert "'sixteen'" in message
    assert "expected a byte count" in message


def test_unknown_key_is_an_error_listing_known_keys(tmp_path):
    path = write(tmp_path, MINIMAL.replace('cache_size = "16MiB"', 'cach_size = "16MiB"'))
    with pytest.raises(ConfigError, match=r"edge\[0\]\.cach_size: unknown key \(expected one of"):
        load_topology(path)


def test_unknown_policy_is_refused(tmp_path):
    path = write(tmp_path, MINIMAL + 'policy = "random"\n')
    with pytest.raises(ConfigError, match=r"edge\[0\]\.policy: 'random' is not known"):
        load_topology(path)


def test_unknown_city_is_refused_with_a_hint(tmp_path):
    path = write(tmp_path, MINIMAL.replace('"Paris"', '"Nowhereville"'))
    with pytest.raises(ConfigError, match=r"edge\[0\]\.city: unknown city 'Nowhereville'"):
        load_topology(path)


def test_upstream_must_be_a_shield_or_origin(tmp_path):
    path = write(tmp_path, MINIMAL + 'upstream = "nowhere"\n')
    with pytest.raises(
        ConfigError, match=r"edge-par\.upstream: 'nowhere' is not a shield or the origin"
    ):
        load_topology(path)


def test_duplicate_ports_are_refused(tmp_path):
    path = write(tmp_path, MINIMAL.replace("port = 8121", "port = 8100"))
    with pytest.raises(ConfigError, match="port 8100 is also used by origin"):
        load_topology(path)


def test_missing_file_and_bad_toml_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_topology(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_topology(write(tmp_path, "[origin\nname="))


def test_missing_edges_is_an_error(tmp_path):
    text = MINIMAL.split("[[edge]]")[0]
    with pytest.raises(ConfigError, match=r":edge: missing \(expected at least one \[\[edge\]\]\)"):
        load_topology(write(tmp_path, text))


def test_lat_lon_location_is_accepted(tmp_path):
    text = MINIMAL.replace('city = "Paris"', 'lat = 48.85\nlon = 2.35\ncontinent = "EU"')
    topology = load_topology(write(tmp_path, text))
    assert topology.edges[0].location.point.lat == 48.85


def test_peer_groups_contain_only_groups_of_two_or_more():
    topology = load_topology(CONFIGS / "local.toml")
    assert [n.name for n in topology.peer_groups()["eu"]] == ["edge-par", "edge-lon", "edge-ams"]
