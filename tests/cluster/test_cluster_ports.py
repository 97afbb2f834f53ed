"""`cdn up` checks every port before starting anything: a busy port names the node and the port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_support import ROOT, processes_mentioning

from cdn.topology import load_topology
from cluster.errors import PortInUseError
from cluster.launcher import Cluster
from cluster.ports import check_ports, free_ports, port_is_free


@pytest.fixture
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def _busy_topology(free_topology: Path, listener: socket.socket, node: str) -> Path:
    """The free-port topology with ``node`` moved onto the listener's port."""
    topology = load_topology(free_topology)
    old = topology.node(node).port
    busy = listener.getsockname()[1]
    text = free_topology.read_text().replace(f"port = {old}\n", f"port = {busy}\n")
    free_topology.write_text(text)
    assert load_topology(free_topology).node(node).port == busy
    return free_topology


def test_a_listening_port_is_not_free(listener) -> None:
    assert not port_is_free("127.0.0.1", listener.getsockname()[1])


def test_free_ports_are_distinct_and_free() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    assert all(port_is_free("127.0.0.1", port) for port in ports)


def test_check_ports_names_the_node_and_port(free_topology, listener) -> None:
    topology = load_topology(_busy_topology(free_topology, listener, "edge-lon"))
    with pytest.raises(PortInUseError) as info:
        check_ports(topology.nodes)
    port = listener.getsockname()[1]
    assert (info.value.node, info.value.port) == ("edge-lon", port)
    assert "edge-lon" in str(info.value) and str(port) in str(info.value)


def test_cluster_start_with_a_busy_port_starts_nothing(free_topology, listener, tmp_path) -> None:
    cluster = Cluster(_busy_topology(free_topology, listener, "edge-ams"), state_dir=tmp_path)
    with pytest.raises(PortInUseError):
        cluster.start()
    assert cluster.children == {}
    assert not any(tmp_path.glob("*.json"))


def test_cdn_up_with_a_busy_port_exits_2_naming_node_and_port(
    free_topology, listener, tmp_path
) -> None:
    topology_file = _busy_topology(free_topology, listener, "edge-lon")
    port = listener.getsockname()[1]
    env = dict(os.environ, CDNLAB_STATE_DIR=str(tmp_path / "state"))
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "up", str(topology_file), "--no-prometheus"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "edge-lon" in result.stderr and str(port) in result.stderr
    assert "Traceback" not in result.stderr
    assert processes_mentioning(str(topology_file)) == []
    origin = load_topology(topology_file).origin
    assert port_is_free(origin.host, origin.port)
    assert not (tmp_path / "state" / "local.json").exists()
