"""Topology tables of the live gateway: [[external_origin]], origin groups over them, an edge's
tls_port (parsed into the edge's settings, errors naming file and key)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cdn.errors import ConfigError
from cdn.topology import default_topology_path, load_topology
from edge.settings import EdgeSettings

TABLES = """
[[external_origin]]
name = "backup"
url = "http://127.0.0.1:8101"

[[origin_group]]
name = "static-group"
members = ["origin", "backup"]
failover_statuses = [404, 503]

[[behavior]]
path_pattern = "/static/*"
target_origin = "static-group"
compress = true

[[behavior]]
path_pattern = "*"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(default_topology_path().read_text() + text)
    return path


def test_an_origin_group_may_name_an_external_origin(tmp_path) -> None:
    topology = load_topology(write(tmp_path, TABLES))
    gateway = topology.gateway
    assert gateway is not None
    assert gateway.external_origins[0].url == "http://127.0.0.1:8101"
    group = gateway.origin_group("static-group")
    assert group is not None and group.failover_statuses == frozenset({404, 503})


def test_an_external_origin_url_with_a_path_is_a_clear_error(tmp_path) -> None:
    text = TABLES.replace('"http://127.0.0.1:8101"', '"http://127.0.0.1:8101/x"')
    with pytest.raises(ConfigError, match=r"external_origin\[0\]\.url"):
        load_topology(write(tmp_path, text))


def test_a_missing_ca_file_is_a_clear_error(tmp_path) -> None:
    text = TABLES.replace(
        'url = "http://127.0.0.1:8101"', 'url = "https://b:1"\nca_file = "no.pem"'
    )
    with pytest.raises(ConfigError, match="ca_file"):
        load_topology(write(tmp_path, text))


def test_an_edges_tls_port_reaches_its_settings(tmp_path) -> None:
    text = (
        default_topology_path()
        .read_text()
        .replace('name = "edge-par"', 'name = "edge-par"\ntls_port = 8443', 1)
    )
    path = tmp_path / "tls.toml"
    path.write_text(text)
    settings = EdgeSettings.from_topology(load_topology(path), "edge-par")
    assert settings.tls_port == 8443


def test_shields_get_the_behaviors_ttl_bounds_but_no_checks(tmp_path) -> None:
    text = '[[behavior]]\npath_pattern = "/obj/*"\nmax_ttl = "30s"\n\n[[behavior]]\npath_pattern = "*"\n'
    topology = load_topology(write(tmp_path, text))
    shield = EdgeSettings.from_topology(topology, "shield-fra")
    assert shield.gateway is None and shield.ttl_behaviors is topology.gateway
    assert EdgeSettings.from_topology(topology, "edge-par").ttl_behaviors is None


def test_cdn_up_checks_an_edges_https_port_before_starting(tmp_path) -> None:
    import socket

    from cluster.errors import PortInUseError
    from cluster.ports import check_ports, free_port

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        port = busy.getsockname()[1]
        text = (
            default_topology_path()
            .read_text()
            .replace('name = "edge-par"', f'name = "edge-par"\ntls_port = {port}', 1)
        )
        path = tmp_path / "tls.toml"
        path.write_text(text)
        edge = load_topology(path).node("edge-par")
        with pytest.raises(PortInUseError):
            check_ports([replace(edge, port=free_port())])  # only its HTTPS port is busy
    finally:
        busy.close()
