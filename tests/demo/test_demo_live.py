"""`cdn demo` end to end: the simulator predicts what the live cluster measures.

One short run (8 s at the workload's 200 req/s, configs/local.toml on free ports, seed 7, one-day
TTLs, LRU caches) is shared by the tests of this module.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from demo_support import processes_mentioning, run_demo

from cdn.topology import load_topology
from cluster.ports import port_is_free

pytestmark = pytest.mark.slow

DURATION = "8s"
TOLERANCE = 0.03  # absolute, for hit ratios


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("demo") / "out"
    done = run_demo(out, "--duration", DURATION)
    return done, out


@pytest.fixture(scope="module")
def compare(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    done, out = demo_run
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((out / "compare.json").read_text())


def test_the_simulator_replays_the_request_sequence_the_load_generator_sent(compare):
    assert compare["measured"]["requests"] == compare["predicted"]["requests"] > 1000
    assert compare["measured"]["lookups"] == compare["measured"]["requests"]


def test_measured_and_predicted_hit_ratios_agree_within_3_percent(compare):
    measured, predicted = compare["measured"], compare["predicted"]
    assert 0.2 < measured["hit_ratio"] < 0.9
    assert abs(predicted["hit_ratio"] - measured["hit_ratio"]) <= TOLERANCE
    assert abs(predicted["hit_ratio_prometheus"] - measured["hit_ratio_prometheus"]) <= TOLERANCE


def test_byte_hit_ratio_and_origin_requests_agree(compare):
    measured, predicted = compare["measured"], compare["predicted"]
    assert abs(predicted["byte_hit_ratio"] - measured["byte_hit_ratio"]) <= TOLERANCE
    origin = measured["origin_requests"]
    assert origin > 0
    assert abs(predicted["origin_requests"] - origin) <= 0.03 * origin


def test_each_edge_agrees_because_both_rings_pick_the_same_owners(compare):
    assert compare["run"]["ring_agrees"] is True
    for name, measured in compare["measured"]["edges"].items():
        predicted = compare["predicted"]["edges"][name]
        assert abs(predicted["requests"] - measured["requests"]) <= 0.03 * measured["requests"]
        assert abs(predicted["hit_ratio"] - measured["hit_ratio"]) <= 0.05, name


def test_compare_json_has_the_documented_schema(compare):
    assert compare["schema"] == "cdnlab-compare/1"
    assert set(compare) >= {"measured", "predicted", "difference", "run", "hit_definition"}
    for side in ("measured", "predicted"):
        figures = compare[side]
        for key in ("hit_ratio", "byte_hit_ratio", "origin_requests", "edges", "outcomes"):
            assert key in figures, (side, key)
        assert set(figures["edges"]) == {"edge-par", "edge-lon", "edge-ams"}
        for edge in figures["edges"].values():
            assert {"hit_ratio", "byte_hit_ratio", "requests", "lookups"} <= set(edge)
    difference = compare["difference"]
    assert difference["hit_ratio"] == pytest.approx(
        compare["predicted"]["hit_ratio"] - compare["measured"]["hit_ratio"], abs=2e-6
    )
    assert set(difference["edges"]) == {"edge-par", "edge-lon", "edge-ams"}


def test_both_reports_the_comparison_plot_and_the_topology_are_written(demo_run, compare):
    done, out = demo_run
    for name in ("compare.json", "compare.png", "cluster.log", "load/load.json", "sim/report.json"):
        assert (out / name).is_file(), name
    assert (out / "compare.png").read_bytes().startswith(b"\x89PNG")
    assert list((out / "topology").glob("*.toml"))
    assert str(out) in done.stdout  # the folder is named at the end
    assert "hit ratio (edge tier)" in done.stdout


def test_no_node_process_is_left_and_every_port_is_free(demo_run, compare):
    _, out = demo_run
    (topology_file,) = (out / "topology").glob("*.toml")
    assert processes_mentioning(str(topology_file)) == []
    for node in load_topology(topology_file).nodes:
        assert port_is_free(node.host, node.port), node.name
