"""plan.json and plan.csv: every point's parameters, metrics, SLO verdicts, and the recommendation.

Rules: canonical JSON (sorted keys, floats rounded by sim.report's rules); no wall-clock times or
absolute paths, so the same plan gives the same files except for the computed/reused counts.
The schema is documented in docs/plan.md.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from planner.plan import PlanOutcome
from planner.recommend import configurations, pareto_frontier
from sim.report import dumps, rounded

SCHEMA_VERSION = 1
PARAM_COLUMNS = ("cache_size", "policy", "pops", "shield", "ttl", "rate_scale")
# Swept edge-function dimensions (planner.points.FUNCTION_PARAMS): columns only when swept.
FUNCTION_PARAM_COLUMNS = ("function_memory", "function_keep_warm", "function_concurrency")
FUNCTION_METRIC_COLUMNS = ("function_error_ratio", "function_cold_starts", "function_cost")
METRIC_COLUMNS = (
    "requests",
    "duration_s",
    "hit_ratio",
    "byte_hit_ratio",
    "origin_offload",
    "origin_requests",
    "origin_rps",
    "origin_peak_rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "pop_utilization",
    "throttled_share",
    "forbidden_share",
    "edges",
    "shields",
    "cache_bytes",
    "cost_traffic",
    "cost_infra",
    "cost_total",
)


def baseline_points(outcome: PlanOutcome) -> list[Any]:
    """The points at the smallest growth factor (what the objective ranks and the scatter shows)."""
    smallest = min(r.params["rate_scale"] for r in outcome.results)
    return [r for r in outcome.results if r.params["rate_scale"] == smallest]


def plan_document(outcome: PlanOutcome) -> dict[str, Any]:
    """The plan.json content."""
    plan = outcome.plan
    config_ok = {
        point.id: config.meets_slos
        for config in configurations(list(outcome.results))
        for point in config.points
    }
    recommended = set(outcome.recommendation.points) if outcome.recommendation.found else set()
    points = [
        {
            "id": r.id,
            "label": r.label,
            "params": r.params,
            "metrics": r.metrics,
            "slo": r.slo,
            "meets_slos": r.meets_slos,
            "configuration_meets_slos": config_ok[r.id],
            "recommended": r.id in recommended,
        }
        for r in outcome.results
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "plan": {
            "name": plan.name,
            "base": os.path.relpath(plan.base, Path(plan.source).resolve().parent),
            "topology": outcome.topology.name,
            "objective": plan.objective,
            "slos": {s.key: {"limit": s.limit, "kind": s.kind} for s in plan.slos},
            "cost": {
                "period_s": plan.cost.period,
                "pop": plan.cost.pop,
                "shield": plan.cost.shield,
                "cache_per_gib": plan.cost.cache_per_gib,
            },
            "run": {
                "requests": plan.run.requests,
                "duration": plan.run.duration,
                "seed": plan.run.seed,
                "routing": plan.run.routing,
                "warmup": plan.run.warmup,
            },
        },
        "points": points,
        "recommendation": outcome.recommendation.as_dict(),
        "pareto": [p.id for p in pareto_frontier(baseline_points(outcome))],
        "pop_ranking": [[name, share] for name, share in outcome.pop_ranking],
        "run": {
            "points": len(outcome.results),
            "computed": outcome.counts.computed,
            "reused": outcome.counts.reused,
        },
    }


def write_plan(outcome: PlanOutcome, out: Path) -> list[Path]:
    """Write plan.json and plan.csv into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / "plan.json", out / "plan.csv"
    json_path.write_text(dumps(plan_document(outcome)), encoding="utf-8")
    slo_keys = [s.key for s in outcome.plan.slos]
    recommended = set(outcome.recommendation.points) if outcome.recommendation.found else set()
    params, metrics = PARAM_COLUMNS, METRIC_COLUMNS
    if any(c in r.params for r in outcome.results for c in FUNCTION_PARAM_COLUMNS) or any(
        r.metrics.get("function_cost") for r in outcome.results
    ):
        params = (*PARAM_COLUMNS, *FUNCTION_PARAM_COLUMNS)
        metrics = (*METRIC_COLUMNS, *FUNCTION_METRIC_COLUMNS)
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["id", "label", *params, *metrics]
            + [f"slo_{k}" for k in slo_keys]
            + ["meets_slos", "recommended"]
        )
        for r in outcome.results:
            writer.writerow(
                [r.id, r.label]
                + [_cell(r.params.get(c)) for c in params]
                + [_cell(r.metrics.get(c)) for c in metrics]
                + [("pass" if r.slo[k]["pass"] else "fail") for k in slo_keys]
                + [r.meets_slos, r.id in recommended]
            )
    return [json_path, csv_path]


def _cell(value: Any) -> Any:
    value = rounded(value)
    return "" if value is None else value
