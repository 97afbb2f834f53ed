"""The launcher's pieces that need no running node: plan, relocation, run state, YAML, purge bodies."""

from __future__ import annotations

import os
import stat
import sys
import tomllib

import pytest
from cluster_support import LOCAL

from cdn.topology import load_topology, parse_topology
from cluster import yamltext
from cluster.errors import NodeStartError
from cluster.launcher import Cluster
from cluster.plan import plan_launches, tiers
from cluster.purge import PurgeRequest, url_path
from cluster.relocate import relocate_topology, with_ports
from cluster.state import NodeState, RunState, read_state, running_state, state_path, write_state


def test_tiers_start_origin_then_shields_then_edges() -> None:
    names = [[node.name for node in tier] for tier in tiers(load_topology(LOCAL))]
    assert names == [["origin"], ["shield-fra"], ["edge-par", "edge-lon", "edge-ams"]]


def test_a_shield_behind_a_shield_starts_after_it() -> None:
    data = tomllib.loads(LOCAL.read_text())
    data["shield"].append(
        {"name": "shield-par", "city": "Paris", "port": 8111, "upstream": "shield-fra"}
    )
    data["edge"][0]["upstream"] = "shield-par"
    names = [[n.name for n in tier] for tier in tiers(parse_topology(data, "x.toml"))]
    assert names == [
        ["origin"],
        ["shield-fra"],
        ["shield-par"],
        ["edge-par", "edge-lon", "edge-ams"],
    ]


def test_launch_commands_are_cdn_origin_and_cdn_edge() -> None:
    launches = [launch for tier in plan_launches(load_topology(LOCAL), LOCAL) for launch in tier]
    origin, shield = launches[0], launches[1]
    prefix = (sys.executable, "-m", "cli.main")
    assert origin.argv == (*prefix, "origin", "--topology", str(LOCAL))
    assert shield.argv == (*prefix, "edge", "--topology", str(LOCAL), "--node", "shield-fra")
    assert shield.health_url == "http://127.0.0.1:8110/_cdn/health"


def test_relocated_topology_keeps_everything_but_the_ports(tmp_path) -> None:
    original = load_topology(LOCAL)
    moved = load_topology(relocate_topology(LOCAL, tmp_path))
    assert moved.name == original.name
    assert [n.name for n in moved.nodes] == [n.name for n in original.nodes]
    assert {n.port for n in moved.nodes}.isdisjoint({n.port for n in original.nodes})
    assert len({n.port for n in moved.nodes}) == len(moved.nodes)
    assert moved.workload == original.workload and moved.cache_rules == original.cache_rules


def test_relocation_adds_a_port_to_nodes_that_had_none() -> None:
    text = '[origin]\nname = "o"\ncity = "Paris"\n\n[[edge]]\nname = "e"\ncity = "Paris"\n'
    data = tomllib.loads(with_ports(text, [5001, 5002]))
    assert (data["origin"]["port"], data["edge"][0]["port"]) == (5001, 5002)


def test_run_state_round_trips_and_is_private(tmp_path) -> None:
    state = RunState(
        topology="local",
        topology_file="/x/local.toml",
        launcher_pid=os.getpid(),
        token="secret",
        nodes=(NodeState("origin", "origin", "http://127.0.0.1:1", 123),),
        prometheus_url=None,
    )
    path = state_path("local", tmp_path)
    write_state(state, path)
    assert read_state(path) == state
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert running_state("local", tmp_path) == state


def test_run_state_of_a_dead_launcher_is_ignored(tmp_path) -> None:
    state = RunState("local", "/x", 2**22 + 12345, "t", ())
    write_state(state, state_path("local", tmp_path))
    assert running_state("local", tmp_path) is None


def test_yaml_writer_output_parses_back() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML checks the writer (test extra)")
    document = {
        "name": "x",
        "on": "yes",
        "n": 3,
        "flag": True,
        "empty": {},
        "cmd": ["cdn", "edge", "--host", "0.0.0.0"],
        "nested": {"list": [{"a": 1, "b": "c: d"}, "plain"], "weird": "${X:?a b}"},
    }
    assert yaml.safe_load(yamltext.dump(document, "header")) == document


def test_purge_bodies() -> None:
    assert PurgeRequest(url="http://h:1/obj/1?a=b").body() == {"url": "/obj/1?a=b"}
    assert PurgeRequest(prefix="/obj/", soft=True).body() == {"prefix": "/obj/", "soft": True}
    assert PurgeRequest(tag="catalog").body() == {"tag": "catalog"}
    assert url_path("/obj/2") == "/obj/2"
    with pytest.raises(ValueError):
        PurgeRequest(url="/a", tag="b")


def test_a_node_that_cannot_be_executed_fails_start_and_leaves_nothing(tmp_path) -> None:
    topology = relocate_topology(LOCAL, tmp_path)
    cluster = Cluster(topology, python=str(tmp_path / "no-such-python"), state_dir=tmp_path)
    with pytest.raises(NodeStartError) as info:
        cluster.start()
    assert info.value.node == "origin"
    assert not state_path("local", tmp_path).exists()
