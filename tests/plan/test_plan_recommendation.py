"""The recommendation meets every SLO and nothing better by the objective does; plan outputs."""

from __future__ import annotations

import json

from cli.main import main
from planner.plan import run_plan
from planner.planfile import load_plan
from planner.recommend import configurations


def test_recommended_point_meets_all_slos_and_no_cheaper_point_does(write_plan, tmp_path):
    outcome = run_plan(load_plan(write_plan()), tmp_path / "cache")
    rec = outcome.recommendation
    assert rec.found and rec.point is not None
    assert rec.point.meets_slos
    assert all(v["pass"] for v in rec.point.slo.values())
    cost = rec.point.metrics["cost_total"]
    cheaper = [r for r in outcome.results if r.meets_slos and r.metrics["cost_total"] < cost]
    assert cheaper == []


def test_with_growth_every_growth_factor_must_pass_and_no_cheaper_configuration_does(
    write_plan, tmp_path
):
    plan = load_plan(write_plan(rate_scale="[1, 3]"))
    outcome = run_plan(plan, tmp_path / "cache")
    rec = outcome.recommendation
    assert rec.found
    members = [r for r in outcome.results if r.id in rec.points]
    assert {r.params["rate_scale"] for r in members} == {1.0, 3.0}
    assert all(r.meets_slos for r in members)
    cost = rec.point.metrics["cost_total"]
    for config in configurations(list(outcome.results)):
        if config.meets_slos:
            assert config.baseline.metrics["cost_total"] >= cost


def test_latency_objective_picks_the_lowest_p95_among_satisfying_points(write_plan, tmp_path):
    outcome = run_plan(load_plan(write_plan(objective="latency")), tmp_path / "cache")
    best = outcome.recommendation.point
    assert best is not None and best.meets_slos
    p95s = [r.metrics["p95_ms"] for r in outcome.results if r.meets_slos]
    assert best.metrics["p95_ms"] == min(p95s)


def test_runner_up_is_the_next_satisfying_point_by_cost(write_plan, tmp_path):
    outcome = run_plan(load_plan(write_plan()), tmp_path / "cache")
    rec = outcome.recommendation
    passing = sorted(
        (r for r in outcome.results if r.meets_slos),
        key=lambda r: (r.metrics["cost_total"], r.metrics["p95_ms"], r.id),
    )
    assert rec.point is passing[0]
    assert rec.runner_up is passing[1]
    assert any("runner-up" in reason for reason in rec.reasons)


def test_no_satisfying_point_names_the_closest_and_exits_non_zero(write_plan, tmp_path, capsys):
    path = write_plan(slo="p95_ms = 1\nhit_ratio = 0.2")
    out = tmp_path / "out"
    status = main(["plan", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-plots"])
    assert status == 1
    document = json.loads((out / "plan.json").read_text())
    assert document["recommendation"]["found"] is False
    assert document["recommendation"]["failing_points_per_slo"]["p95_ms"] == len(document["points"])
    assert "No configuration meets every SLO" in capsys.readouterr().out


def test_plan_json_csv_and_plots_describe_every_point(write_plan, tmp_path):
    out = tmp_path / "out"
    status = main(["plan", str(write_plan()), "--out", str(out), "--workers", "1", "--quiet"])
    assert status == 0
    document = json.loads((out / "plan.json").read_text())
    assert len(document["points"]) == 8
    point = document["points"][0]
    assert set(point["params"]) == {"cache_size", "policy", "pops", "shield", "ttl", "rate_scale"}
    assert {"p95_ms", "origin_offload", "cost_total", "hit_ratio"} <= set(point["metrics"])
    assert set(point["slo"]) == {"p95_ms", "origin_offload"}
    rec = document["recommendation"]
    assert rec["found"] and rec["runner_up"] is not None and rec["reasons"]
    assert sum(p["recommended"] for p in document["points"]) == 1
    assert document["pareto"]
    rows = (out / "plan.csv").read_text().splitlines()
    assert len(rows) == 9 and rows[0].startswith("id,label,cache_size")
    for name in ("miss_ratio_curve.png", "cost_latency.png", "origin_growth.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
