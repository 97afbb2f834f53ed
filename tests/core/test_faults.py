"""Fault scenarios (cdn.faults): one [[fault]] format in a topology or a scenario file; every
bad value names the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn.errors import ConfigError
from cdn.faults import Fault, load_fault_file
from cdn.topology import load_topology

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
NODES = ["origin", "shield-fra", "edge-par", "edge-lon"]


def _load(tmp_path: Path, text: str) -> tuple[Fault, ...]:
    path = tmp_path / "chaos.toml"
    path.write_text(text)
    return load_fault_file(path, nodes=NODES)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return str(info.value)


def test_a_scenario_file_gives_its_faults_in_start_order(tmp_path: Path) -> None:
    faults = _load(
        tmp_path,
        '[[fault]]\nat = "40s"\nkind = "origin_down"\nfor = "60s"\n'
        '[[fault]]\nat = "20s"\nkind = "stop"\nnode = "edge-par"\nfor = "10s"\n',
    )
    assert faults == (
        Fault(at=20.0, kind="stop", node="edge-par", duration=10.0),
        Fault(at=40.0, kind="origin_down", node="origin", duration=60.0),
    )


def test_origin_faults_take_their_parameters(tmp_path: Path) -> None:
    slow, errors = _load(
        tmp_path,
        '[[fault]]\nat = "1s"\nkind = "origin_slow"\nfor = "5s"\nlatency = "500ms"\n'
        '[[fault]]\nat = "2s"\nkind = "origin_errors"\nfor = "5s"\nrate = 0.1\nstatus = 500\n',
    )
    assert slow.latency == 0.5
    assert (errors.rate, errors.status) == (0.1, 500)


def test_a_fault_is_active_from_at_until_at_plus_for() -> None:
    fault = Fault(at=10.0, kind="stop", node="edge-par", duration=5.0)
    assert [fault.active(t) for t in (9.9, 10.0, 14.9, 15.0)] == [False, True, True, False]


def test_a_kill_lasts_for_good() -> None:
    assert Fault(at=1.0, kind="kill", node="edge-par").active(1e9)


def test_a_restart_without_for_comes_back_at_once(tmp_path: Path) -> None:
    (fault,) = _load(tmp_path, '[[fault]]\nat = "1s"\nkind = "restart"\nnode = "edge-lon"\n')
    assert fault.duration == 0.0


def test_an_unknown_kind_names_the_file_and_key(tmp_path: Path) -> None:
    message = _error(tmp_path, '[[fault]]\nat = "1s"\nkind = "boom"\nnode = "edge-par"\n')
    assert "chaos.toml:fault[0].kind" in message
    assert "origin_errors" in message


def test_an_unknown_node_names_the_nodes(tmp_path: Path) -> None:
    message = _error(tmp_path, '[[fault]]\nat = "1s"\nkind = "kill"\nnode = "edge-xyz"\n')
    assert "fault[0].node" in message
    assert "edge-par" in message


def test_a_stop_needs_for(tmp_path: Path) -> None:
    assert "fault[0].for" in _error(
        tmp_path, '[[fault]]\nat = "1s"\nkind = "stop"\nnode = "edge-par"\n'
    )


def test_a_kill_refuses_for(tmp_path: Path) -> None:
    message = _error(
        tmp_path, '[[fault]]\nat = "1s"\nkind = "kill"\nnode = "edge-par"\nfor = "2s"\n'
    )
    assert "fault[0].for" in message
    assert "restart" in message


def test_an_origin_fault_on_an_edge_is_an_error(tmp_path: Path) -> None:
    message = _error(
        tmp_path, '[[fault]]\nat = "1s"\nkind = "origin_down"\nnode = "edge-par"\nfor = "2s"\n'
    )
    assert "fault[0].node" in message


def test_a_missing_at_is_an_error(tmp_path: Path) -> None:
    assert "fault[0].at" in _error(tmp_path, '[[fault]]\nkind = "origin_down"\nfor = "2s"\n')


def test_a_bad_duration_is_an_error(tmp_path: Path) -> None:
    assert "fault[0].for" in _error(
        tmp_path, '[[fault]]\nat = "1s"\nkind = "origin_down"\nfor = "soon"\n'
    )


def test_an_error_rate_above_one_is_an_error(tmp_path: Path) -> None:
    message = _error(
        tmp_path, '[[fault]]\nat = "1s"\nkind = "origin_errors"\nfor = "2s"\nrate = 1.5\n'
    )
    assert "fault[0].rate" in message


def test_an_unknown_key_is_an_error(tmp_path: Path) -> None:
    message = _error(
        tmp_path, '[[fault]]\nat = "1s"\nkind = "origin_down"\nfor = "2s"\nduration = "3s"\n'
    )
    assert "fault[0].duration" in message


def test_a_scenario_file_without_faults_is_an_error(tmp_path: Path) -> None:
    assert "fault" in _error(tmp_path, "")


def test_a_topology_may_carry_its_faults(tmp_path: Path) -> None:
    text = (CONFIGS / "local.toml").read_text()
    path = tmp_path / "topo.toml"
    path.write_text(text + '\n[[fault]]\nat = "5s"\nkind = "kill"\nnode = "edge-par"\n')
    assert load_topology(path).faults == (Fault(at=5.0, kind="kill", node="edge-par"),)


def test_a_topology_fault_naming_no_node_of_it_is_an_error(tmp_path: Path) -> None:
    text = (CONFIGS / "local.toml").read_text()
    path = tmp_path / "topo.toml"
    path.write_text(text + '\n[[fault]]\nat = "5s"\nkind = "kill"\nnode = "edge-nowhere"\n')
    with pytest.raises(ConfigError) as info:
        load_topology(path)
    assert "topo.toml:fault[0].node" in str(info.value)
