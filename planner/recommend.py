"""SLO checks, the recommendation (best configuration by the objective), and the Pareto frontier.

Rules: pure functions of the point results. A *configuration* is a point without its growth
factor; with several ``rate_scale`` values it must meet every SLO at every growth factor (a plan
sizes for growth), and it is ranked by its baseline (smallest growth factor) point. With one
growth factor a configuration is just a point. Objective "cost": cheapest total cost (ties: lower
p95). Objective "latency": lowest p95 (ties: cheaper).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from planner.planfile import Slo


@dataclass
class PointResult:
    """One evaluated point: parameters, metrics (with costs) and its SLO verdicts."""

    id: str
    label: str
    params: dict[str, Any]
    configuration: tuple[Any, ...]
    metrics: dict[str, Any]
    slo: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def meets_slos(self) -> bool:
        """Whether every SLO passes at this point."""
        return all(verdict["pass"] for verdict in self.slo.values())


def check_slos(result: PointResult, slos: tuple[Slo, ...]) -> None:
    """Fill ``result.slo`` with each SLO's value, limit, pass/fail and relative slack."""
    result.slo = {}
    for slo in slos:
        value = result.metrics.get(slo.metric)
        result.slo[slo.key] = {
            "value": value,
            "limit": slo.limit,
            "kind": slo.kind,
            "pass": slo.satisfied_by(value),
            "slack": slo.slack(value),
        }


@dataclass(frozen=True, slots=True)
class Configuration:
    """Points sharing everything but the growth factor, baseline (smallest growth) first."""

    points: tuple[PointResult, ...]

    @property
    def baseline(self) -> PointResult:
        """The point at the smallest growth factor: what the objective ranks."""
        return self.points[0]

    @property
    def meets_slos(self) -> bool:
        """Whether every point of the configuration meets every SLO."""
        return all(point.meets_slos for point in self.points)

    def worst_violation(self) -> float:
        """The largest relative SLO miss over its points (0 when all pass)."""
        return max(
            (-v["slack"] for p in self.points for v in p.slo.values() if not v["pass"]),
            default=0.0,
        )


def configurations(results: list[PointResult]) -> list[Configuration]:
    """Results grouped into configurations, in the order of their first point."""
    groups: dict[tuple[Any, ...], list[PointResult]] = {}
    for result in results:
        groups.setdefault(result.configuration, []).append(result)
    return [
        Configuration(tuple(sorted(points, key=lambda p: p.params["rate_scale"])))
        for points in groups.values()
    ]


def _p95(point: PointResult) -> float:
    value = point.metrics.get("p95_ms")
    return math.inf if value is None else value


def objective_key(point: PointResult, objective: str) -> tuple[float, float, str]:
    """Sort key of a point by ``objective`` (smaller is better; the id breaks ties)."""
    cost = point.metrics["cost_total"]
    if objective == "latency":
        return (_p95(point), cost, point.id)
    return (cost, _p95(point), point.id)


def _objective_text(point: PointResult, objective: str) -> str:
    if objective == "latency":
        return f"p95 {_p95(point):.1f} ms"
    return f"${point.metrics['cost_total']:,.0f}"


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The answer: the winning configuration and why, the runner-up, or the closest miss."""

    found: bool
    point: PointResult | None
    points: tuple[str, ...]
    runner_up: PointResult | None
    reasons: tuple[str, ...]
    binding: tuple[str, ...]
    failing: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """JSON form for plan.json."""
        return {
            "found": self.found,
            "point": self.point.id if self.point else None,
            "label": self.point.label if self.point else None,
            "params": self.point.params if self.point else None,
            "points": list(self.points),
            "runner_up": None
            if self.runner_up is None
            else {"point": self.runner_up.id, "label": self.runner_up.label},
            "reasons": list(self.reasons),
            "binding_slos": list(self.binding),
            "failing_points_per_slo": dict(sorted(self.failing.items())),
        }


def _binding(point: PointResult, configuration: Configuration) -> tuple[str, ...]:
    """SLOs with the least slack over the configuration (within 10% of the limit, or the tightest)."""
    slack: dict[str, float] = {}
    for member in configuration.points:
        for key, verdict in member.slo.items():
            slack[key] = min(slack.get(key, math.inf), verdict["slack"])
    if not slack:
        return ()
    tight = sorted((s, k) for k, s in slack.items() if s < 0.10)
    if not tight:
        tight = [min((s, k) for k, s in slack.items())]
    return tuple(k for _, k in tight)


def recommend(results: list[PointResult], slos: tuple[Slo, ...], objective: str) -> Recommendation:
    """The best configuration meeting every SLO by ``objective``, with reasons and the runner-up."""
    failing = Counter(
        key for result in results for key, verdict in result.slo.items() if not verdict["pass"]
    )
    groups = configurations(results)
    growth = sorted({r.params["rate_scale"] for r in results})
    growth_text = ", ".join(f"x{g:g}" for g in growth)
    passing = sorted(
        (c for c in groups if c.meets_slos), key=lambda c: objective_key(c.baseline, objective)
    )
    if not passing:
        closest = min(
            groups, key=lambda c: (c.worst_violation(), objective_key(c.baseline, objective))
        )
        misses = []
        for member in closest.points:
            for key, verdict in member.slo.items():
                if not verdict["pass"]:
                    misses.append(
                        f"{key} = {_value(verdict['value'])} vs limit {verdict['limit']:g} "
                        f"at x{member.params['rate_scale']:g} ({-verdict['slack']:.1%} off)"
                    )
        least = min(failing.items(), key=lambda item: (item[1], item[0]))[0] if failing else None
        reasons = [
            f"no configuration meets every SLO ({len(groups)} configurations, growth {growth_text})",
            f"closest: {closest.baseline.label}: " + "; ".join(misses),
        ]
        if least is not None:
            reasons.append(
                "points failing each SLO: "
                + ", ".join(f"{k} {n}" for k, n in sorted(failing.items(), key=lambda i: -i[1]))
                + f" (least often failed: {least})"
            )
        return Recommendation(
            found=False,
            point=closest.baseline,
            points=tuple(p.id for p in closest.points),
            runner_up=None,
            reasons=tuple(reasons),
            binding=(),
            failing=dict(failing),
        )
    best = passing[0]
    point = best.baseline
    runner = passing[1].baseline if len(passing) > 1 else None
    binding = _binding(point, best)
    rank = objective_key(point, objective)
    better = [c for c in groups if objective_key(c.baseline, objective) < rank]
    better_fail = Counter(
        key
        for c in better
        for key in {k for p in c.points for k, v in p.slo.items() if not v["pass"]}
    )
    word = "cheapest" if objective == "cost" else "lowest p95"
    reasons = [
        f"{word} of {len(passing)} configurations (of {len(groups)}) meeting every SLO"
        + (f" at every growth factor ({growth_text})" if len(growth) > 1 else ""),
    ]
    if better:
        reasons.append(
            f"all {len(better)} configurations ranked better by {objective} fail an SLO: "
            + ", ".join(f"{k} ({n})" for k, n in sorted(better_fail.items(), key=lambda i: -i[1]))
        )
    for key in binding:
        worst = min(best.points, key=lambda p: p.slo[key]["slack"])
        verdict = worst.slo[key]
        reasons.append(
            f"binding SLO {key}: {_value(verdict['value'])} vs limit {verdict['limit']:g} "
            f"at x{worst.params['rate_scale']:g} ({verdict['slack']:.1%} slack)"
        )
    if runner is not None:
        delta = runner.metrics["cost_total"] - point.metrics["cost_total"]
        share = delta / point.metrics["cost_total"] if point.metrics["cost_total"] else 0.0
        reasons.append(
            f"runner-up {runner.label}: {_objective_text(runner, objective)} "
            f"(cost {'+' if delta >= 0 else '-'}${abs(delta):,.0f}, {share:+.1%}; "
            f"p95 {_p95(runner):.1f} ms vs {_p95(point):.1f} ms)"
        )
    else:
        reasons.append("no runner-up: it is the only configuration meeting every SLO")
    return Recommendation(
        found=True,
        point=point,
        points=tuple(p.id for p in best.points),
        runner_up=runner,
        reasons=tuple(reasons),
        binding=binding,
        failing=dict(failing),
    )


def _value(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def pareto_frontier(points: list[PointResult]) -> list[PointResult]:
    """Points no other point beats on both cost and p95, by increasing cost."""
    frontier: list[PointResult] = []
    best_p95 = math.inf
    for point in sorted(points, key=lambda p: (p.metrics["cost_total"], _p95(p))):
        if _p95(point) < best_p95:
            frontier.append(point)
            best_p95 = _p95(point)
    return frontier
