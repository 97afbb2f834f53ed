"""Terminal output of `cdn plan`: the top points table, the recommendation, the MRC table.

Rules: builds rich renderables only; the caller prints them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cdn.units import format_size
from planner.mrc import CurveResult
from planner.plan import PlanOutcome
from planner.recommend import PointResult, configurations, objective_key


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def ranked(outcome: PlanOutcome) -> list[PointResult]:
    """Points best first: configurations meeting every SLO by the objective, then the rest."""
    config_ok = {
        p.id: c.meets_slos for c in configurations(list(outcome.results)) for p in c.points
    }
    objective = outcome.plan.objective
    return sorted(outcome.results, key=lambda r: (not config_ok[r.id], objective_key(r, objective)))


def points_table(outcome: PlanOutcome, top: int = 10) -> Table:
    """The ``top`` best points with their metrics and SLO verdicts."""
    period_days = outcome.plan.cost.period / 86400
    table = Table(
        title=f"Top {min(top, len(outcome.results))} of {len(outcome.results)} points "
        f"(objective: {outcome.plan.objective})"
    )
    table.add_column("#", justify="right")
    table.add_column("size")
    table.add_column("policy")
    table.add_column("pops")
    table.add_column("shield")
    table.add_column("ttl")
    table.add_column("growth", justify="right")
    table.add_column("hit", justify="right")
    table.add_column("offload", justify="right")
    table.add_column("p95 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("origin peak/s", justify="right")
    table.add_column("util", justify="right")
    # A base topology with behaviors (sim.behaviors): the share of requests throttled (429).
    refusals = any(r.metrics.get("throttled_share") for r in outcome.results)
    if refusals:
        table.add_column("429", justify="right")
    table.add_column(f"cost/{period_days:g}d", justify="right")
    table.add_column("SLOs")
    recommended = set(outcome.recommendation.points) if outcome.recommendation.found else set()
    for index, r in enumerate(ranked(outcome)[:top], start=1):
        m = r.metrics
        failed = [key for key, verdict in r.slo.items() if not verdict["pass"]]
        verdicts = (
            Text("fail: " + ", ".join(failed), style="red") if failed else Text("ok", style="green")
        )
        style = "bold" if r.id in recommended else None
        p = r.params
        table.add_row(
            ("*" if r.id in recommended else "") + str(index),
            format_size(p["cache_size"]) if p["cache_size"] else "base",
            p["policy"] or "base",
            p["pops"],
            "base" if p["shield"] is None else ("on" if p["shield"] else "off"),
            "base" if p["ttl"] is None else f"{p['ttl']:g}s",
            f"x{p['rate_scale']:g}",
            _fmt(m["hit_ratio"], ".3f"),
            _fmt(m["origin_offload"], ".3f"),
            _fmt(m["p95_ms"], ".1f"),
            _fmt(m["p99_ms"], ".1f"),
            _fmt(m["origin_peak_rps"], ".1f"),
            _fmt(m["pop_utilization"], ".2f"),
            *([f"{m.get('throttled_share', 0.0):.1%}"] if refusals else []),
            f"${m['cost_total']:,.0f}",
            verdicts if r.slo else Text("-"),
            style=style,
        )
    return table


def recommendation_panel(outcome: PlanOutcome) -> Panel:
    """The recommendation (or the closest miss) and the reasons, as a panel."""
    rec = outcome.recommendation
    text = Text()
    if rec.found and rec.point is not None:
        m = rec.point.metrics
        text.append("Recommended: ", style="bold green")
        text.append(f"{rec.point.label}  [{rec.point.id}]\n", style="bold")
        text.append(
            f"cost ${m['cost_total']:,.0f} per {outcome.plan.cost.period / 86400:g} days "
            f"(traffic ${m['cost_traffic']:,.0f} + infrastructure ${m['cost_infra']:,.0f}), "
            f"p95 {_fmt(m['p95_ms'], '.1f')} ms, hit ratio {m['hit_ratio']:.3f}, "
            f"origin offload {m['origin_offload']:.1%}\n"
        )
    else:
        text.append("No configuration meets every SLO.\n", style="bold red")
    for reason in rec.reasons:
        text.append(f"- {reason}\n")
    counts = outcome.counts
    text.append(
        f"{len(outcome.results)} points: {counts.computed} computed, {counts.reused} reused from cache",
        style="dim",
    )
    return Panel(text, title=f"plan {outcome.plan.name}", expand=False)


def mrc_table(curves: Sequence[CurveResult]) -> Table:
    """Hit ratio per size (rows) and policy (columns), with replay checks when present."""
    table = Table(title="Hit ratio by cache size")
    table.add_column("cache size", justify="right")
    for c in curves:
        table.add_column(f"{c.policy} ({c.method})", justify="right")
        table.add_column("bytes", justify="right")
        if c.checked is not None:
            table.add_column("replay", justify="right")
    sizes = curves[0].sizes
    for i, size in enumerate(sizes):
        row = [format_size(size)]
        for c in curves:
            row += [f"{c.hit_ratio[i]:.4f}", f"{c.byte_hit_ratio[i]:.4f}"]
            if c.checked is not None:
                row.append(f"{c.checked[i]:.4f}")
        table.add_row(*row)
    return table
