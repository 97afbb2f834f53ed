"""`cdn plan` sweeps edge-function concurrency, keep-warm and memory against the SLOs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn.errors import ConfigError
from planner.plan import run_plan
from planner.planfile import load_plan

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "configs" / "functions.toml"  # Lambda@Edge on viewer and origin triggers

PLAN = """
base = "{base}"
[sweep]
{sweep}
[slo]
function_error_ratio = 0.001
[run]
requests = 2000
seed = 5
"""


def plan_file(tmp_path: Path, sweep: str, base: Path = FUNCTIONS) -> Path:
    path = tmp_path / "fn-plan.toml"
    path.write_text(PLAN.format(base=base.as_posix(), sweep=sweep), encoding="utf-8")
    return path


def test_too_little_concurrency_fails_the_error_slo_and_enough_is_recommended(tmp_path):
    outcome = run_plan(load_plan(plan_file(tmp_path, "function_concurrency = [1, 100]")), tmp_path)
    by_concurrency = {r.params["function_concurrency"]: r for r in outcome.results}
    assert by_concurrency[1].metrics["function_error_ratio"] > 0.001
    assert not by_concurrency[1].meets_slos
    assert by_concurrency[100].metrics["function_error_ratio"] <= 0.001
    assert outcome.recommendation.points[0] == by_concurrency[100].id


def test_a_short_keep_warm_costs_cold_starts(tmp_path):
    outcome = run_plan(
        load_plan(plan_file(tmp_path, 'function_keep_warm = ["5ms", "10m"]')), tmp_path
    )
    cold = {
        r.params["function_keep_warm"]: r.metrics["function_cold_starts"] for r in outcome.results
    }
    assert cold[0.005] > 10 * cold[600.0]


def test_memory_above_128_mb_is_refused_for_a_viewer_trigger_function(tmp_path):
    with pytest.raises(ConfigError, match=r"sweep\.function_memory.*viewer-request"):
        run_plan(load_plan(plan_file(tmp_path, "function_memory = [128, 512]")), tmp_path)


def test_a_function_dimension_needs_lambda_edge_functions_in_the_base(tmp_path):
    local = ROOT / "configs" / "local.toml"
    with pytest.raises(ConfigError, match=r"sweep\.function_concurrency.*no Lambda@Edge"):
        run_plan(load_plan(plan_file(tmp_path, "function_concurrency = [1]", local)), tmp_path)
