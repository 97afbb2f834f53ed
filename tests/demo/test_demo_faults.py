"""`cdn demo --faults FILE`: the live cluster under a fault scenario beside the simulator.

One short live run (10 s of configs/local.toml's 200 req/s on free ports, edge-ams killed at 4 s)
is shared by the live tests; the phase arithmetic is checked on hand-made seconds.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
from demo_support import run_demo

from cli.main import main
from demo.faults import fault_comparison_table, measured_phases
from loadgen.stats import Second

KILL = '[[fault]]\nat = "4s"\nkind = "kill"\nnode = "edge-ams"\n'


@pytest.fixture(scope="module")
def fault_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], dict]:
    folder = tmp_path_factory.mktemp("demo-faults")
    scenario = folder / "kill.toml"
    scenario.write_text(KILL, encoding="utf-8")
    done = run_demo(folder / "out", "--duration", "10s", "--faults", str(scenario))
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads((folder / "out" / "faults.json").read_text())


@pytest.mark.slow
def test_a_killed_peer_costs_no_errors_measured_or_predicted(fault_run) -> None:
    _, doc = fault_run
    for side in ("measured", "predicted"):
        assert sum(doc[side][phase]["errors"] for phase in ("before", "during", "after")) == 0
    assert doc["fault_actions"][0]["what"] == "kill edge-ams at 4s"
    assert doc["fault_actions"][0]["ok"]


@pytest.mark.slow
def test_the_table_shows_measured_and_predicted_per_phase(fault_run) -> None:
    done, doc = fault_run
    for word in ("before", "during", "after", "measured", "predicted"):
        assert word in done.stdout
    assert "origin" in done.stdout and "stale served" in done.stdout
    measured = (
        doc["measured"]["before"]["origin_requests"] + doc["measured"]["during"]["origin_requests"]
    )
    predicted = (
        doc["predicted"]["before"]["origin_requests"]
        + doc["predicted"]["during"]["origin_requests"]
    )
    assert measured > 0 and predicted > 0


def _second(completed: int, errors: int = 0, hits: int = 0, stale: int = 0) -> Any:
    second = Second(completed=completed, errors=errors, hits=hits)
    second.stale = stale
    return second


def test_phases_split_the_seconds_and_the_origin_samples_at_the_window() -> None:
    seconds = [_second(10, hits=5), _second(10, errors=2, hits=4, stale=1), _second(10, hits=9)]
    samples = [(0.0, 0), (1.0, 7), (2.0, 9), (3.0, 10)]
    phases = measured_phases(seconds, samples, (1.0, 2.0), duration=3.0)
    assert [phases[p]["requests"] for p in ("before", "during", "after")] == [10, 12, 10]
    assert phases["during"]["errors"] == 2 and phases["during"]["stale_served"] == 1
    assert [phases[p]["origin_requests"] for p in ("before", "during", "after")] == [7, 2, 1]
    assert phases["after"]["hit_ratio"] == 0.9


def test_late_answers_of_a_run_long_window_count_in_it() -> None:
    seconds = [_second(10), _second(10), _second(3)]  # the third second is after the run's 2 s
    phases = measured_phases(seconds, [(0.0, 0), (3.0, 4)], (1.0, 2.0), duration=2.0)
    assert phases["during"]["requests"] == 13
    assert phases["after"]["requests"] == 0
    assert not math.isnan(phases["during"]["hit_ratio"])


def test_the_comparison_table_has_a_row_per_figure() -> None:
    phase = {"errors": 1, "stale_served": 0, "origin_requests": 5, "hit_ratio": 0.5, "p99_ms": 3.0}
    doc = {
        "schedule": ["kill edge-ams at 4s"],
        "window": {"start_s": 4.0, "end_s": None},
        "measured": dict.fromkeys(("before", "during", "after"), phase),
        "predicted": dict.fromkeys(("before", "during", "after"), phase),
    }
    table = fault_comparison_table(doc)
    assert table.row_count == 5
    assert len(table.columns) == 7


def test_a_missing_fault_file_is_named(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["demo", "--faults", str(missing), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--faults" in err and "nope.toml" in err
