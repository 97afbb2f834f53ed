"""report.json: stable schema, byte-for-byte reproducible, CSV and PNG files beside it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sim_scenarios import write_scenario

from cdn.topology import load_topology
from cli.main import main
from sim.model import SimOptions, Simulation
from sim.report import dumps

TOP_LEVEL = {
    "schema_version",
    "scenario",
    "seed",
    "requests",
    "hit_ratio",
    "byte_hit_ratio",
    "origin",
    "origin_offload",
    "latency_ms",
    "pops",
    "regions",
    "cost",
}


@pytest.fixture
def small_scenario(tmp_path: Path) -> Path:
    """The small three-edge scenario with a one-hour max-age."""
    return write_scenario(tmp_path)


def _report(scenario: Path, out: Path, *extra: str) -> bytes:
    argv = ["sim", str(scenario), "--requests", "3000", "--quiet", "--out", str(out), *extra]
    assert main(argv) == 0
    return (out / "report.json").read_bytes()


def test_same_seed_gives_the_same_report_bytes(small_scenario: Path, tmp_path: Path) -> None:
    first = _report(small_scenario, tmp_path / "a", "--seed", "5")
    second = _report(small_scenario, tmp_path / "b", "--seed", "5")
    assert first == second


def test_different_seed_gives_a_different_report(small_scenario: Path, tmp_path: Path) -> None:
    assert _report(small_scenario, tmp_path / "a", "--seed", "5") != _report(
        small_scenario, tmp_path / "b", "--seed", "6"
    )


def test_report_has_the_documented_keys(small_scenario: Path, tmp_path: Path) -> None:
    report = json.loads(_report(small_scenario, tmp_path / "a"))
    assert set(report) >= TOP_LEVEL
    assert set(report["origin"]) >= {"requests", "bytes"}
    assert set(report["latency_ms"]) >= {"p50", "p90", "p95", "p99"}
    pop = report["pops"]["edge-par"]
    assert set(pop) >= {
        "requests",
        "hit_ratio",
        "byte_hit_ratio",
        "bytes",
        "peak_utilization",
        "cost",
    }
    assert set(report["regions"]) == {"Paris", "London", "New York"}
    assert set(report["regions"]["Paris"]["latency_ms"]) >= {"p50", "p90", "p95", "p99"}
    assert report["cost"]["total"] > 0
    assert report["requests"] == 3000


def test_csv_and_png_files_are_written(small_scenario: Path, tmp_path: Path) -> None:
    _report(small_scenario, tmp_path / "a")
    out = tmp_path / "a"
    for name in ("hit_ratio.png", "latency_cdf.png", "world_map.png", "origin_load.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    with (out / "pops.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["name"] for row in rows} == {"edge-par", "edge-lon", "edge-nyc", "shield-fra"}
    with (out / "regions.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3


def test_entry_templates_give_the_same_report_as_calling_absorb_every_time(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, "public, max-age=10, stale-while-revalidate=5")
    topology = load_topology(scenario)
    fast = Simulation(topology, SimOptions(requests=9000, seed=2)).run().report
    exact = Simulation(topology, SimOptions(requests=9000, seed=2, exact_http=True)).run().report
    assert fast["outcomes"]["revalidated"] > 0 and fast["outcomes"]["stale"] > 0
    assert dumps(fast) == dumps(exact)


def test_report_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """Two processes with different hash seeds, a purge and overflow routing: same bytes."""
    reports = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        argv = ["sim", "--requests", "2000", "--quiet", "--purge-at", "5:tag=catalog"]
        argv += ["--routing", "overflow", "--out", str(out)]
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert done.returncode == 0, done.stderr
        reports.append((out / "report.json").read_bytes())
    assert reports[0] == reports[1]
