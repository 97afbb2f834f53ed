"""Several upstreams per cache: ``upstream = [first, then, ...]``, tried in order on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn.errors import ConfigError
from cdn.topology import load_topology

TOPOLOGY = """
[origin]
name = "origin"
port = 8100
city = "Ashburn"

[[shield]]
name = "shield-fra"
port = 8110
city = "Frankfurt"

[[shield]]
name = "shield-lon"
port = 8111
city = "London"

[[edge]]
name = "edge-par"
port = 8121
city = "Paris"
cache_size = "16MiB"
upstream = {upstream}
"""


def _load(tmp_path: Path, upstream: str):
    path = tmp_path / "topo.toml"
    path.write_text(TOPOLOGY.format(upstream=upstream))
    return load_topology(path)


def test_a_list_of_upstreams_is_the_first_then_the_fallbacks_in_order(tmp_path: Path) -> None:
    topology = _load(tmp_path, '["shield-fra", "shield-lon", "origin"]')
    edge = topology.node("edge-par")
    assert edge.upstream == "shield-fra"
    assert [node.name for node in topology.fallbacks_of(edge)] == ["shield-lon", "origin"]


def test_a_single_upstream_has_no_fallbacks(tmp_path: Path) -> None:
    edge = _load(tmp_path, '"shield-lon"').node("edge-par")
    assert edge.upstream == "shield-lon"
    assert edge.fallbacks == ()


def test_a_fallback_that_is_an_edge_is_an_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, '["shield-fra", "edge-par"]')
    assert "edge-par.upstream" in str(info.value)


def test_an_upstream_named_twice_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, '["shield-fra", "shield-fra"]')
    assert "names a node twice" in str(info.value)


def test_an_empty_upstream_list_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        _load(tmp_path, "[]")
