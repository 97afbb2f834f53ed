"""Running a whole plan: expand the sweep, compute (or reuse) every point, check SLOs, recommend.

Rules: the one entry point the CLI and tests call (``run_plan``); it writes nothing itself
except point records in the cache directory (``planner.output`` writes plan.json/CSV/PNGs).
Progress is reported through ``on_result`` so the caller decides how to show it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cdn.topology import Topology, load_topology
from planner.planfile import Plan
from planner.points import PlanPoint, check_sweep, expand, point_id, users_served, variant
from planner.recommend import PointResult, Recommendation, check_slos, recommend
from planner.runner import Job, OnResult, PointCache, RunCounts, run_points
from planner.simulate import costs, sim_options


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """Everything a plan run produced: points with metrics and verdicts, the recommendation."""

    plan: Plan
    topology: Topology
    results: tuple[PointResult, ...]
    recommendation: Recommendation
    counts: RunCounts
    pop_ranking: tuple[tuple[str, float], ...]


def plan_jobs(
    plan: Plan, topology: Topology
) -> tuple[list[PlanPoint], list[Job], list[tuple[str, float]]]:
    """The points of ``plan`` over ``topology`` and the job of each (same order), and the PoP ranking."""
    check_sweep(plan, topology)
    needs_ranking = any(s.top is not None for s in plan.sweep.pops)
    ranking = users_served(topology) if needs_ranking else []
    options = sim_options(plan.run)
    points = expand(plan)
    jobs = []
    for point in points:
        model = variant(topology, point, ranking)
        jobs.append(Job(point_id(point, model, plan.run), point.params(), model, options))
    return points, jobs, ranking


def run_plan(
    plan: Plan,
    cache_dir: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    on_result: OnResult | None = None,
    on_start: Callable[[int], None] | None = None,
) -> PlanOutcome:
    """Compute (or reuse) every point of ``plan`` and recommend a configuration."""
    topology = load_topology(plan.base)
    points, jobs, ranking = plan_jobs(plan, topology)
    if on_start is not None:
        on_start(len(jobs))
    records, counts = run_points(
        jobs, PointCache(cache_dir), workers=workers, scheduler=scheduler, on_result=on_result
    )
    results = []
    for point, record in zip(points, records, strict=True):
        metrics = dict(record["metrics"])
        metrics.update(costs(metrics, plan.cost))
        result = PointResult(
            id=record["id"],
            label=point.label(),
            params=point.params(),
            configuration=point.configuration(),
            metrics=metrics,
        )
        check_slos(result, plan.slos)
        results.append(result)
    recommendation = recommend(results, plan.slos, plan.objective)
    return PlanOutcome(
        plan=plan,
        topology=topology,
        results=tuple(results),
        recommendation=recommendation,
        counts=counts,
        pop_ranking=tuple(ranking),
    )
