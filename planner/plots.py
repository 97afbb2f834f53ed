"""PNG plots of a plan: hit ratio vs cache size per policy, cost vs p95 with the Pareto frontier,
origin load vs growth factor; and the miss-ratio curve of `cdn plan --mrc`.

Rules: matplotlib with the Agg backend (no display); each function writes one file and closes
its figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from cdn.units import format_size
from planner.output import baseline_points
from planner.plan import PlanOutcome
from planner.recommend import PointResult, pareto_frontier

_SIZE_AXIS = FuncFormatter(lambda x, _: format_size(x))


def _size_axis(ax: plt.Axes, sizes: Sequence[float]) -> None:
    """A log x axis labelled only at the sizes plotted, in binary units (no 3x10^7 minor labels)."""
    ax.set_xscale("log")
    ticks = sorted(set(sizes))
    if len(ticks) > 8:  # a dense curve: let matplotlib thin the labels, but keep our format
        ax.xaxis.set_major_formatter(_SIZE_AXIS)
    else:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(_SIZE_AXIS)
    ax.xaxis.set_minor_formatter(NullFormatter())


def _anchor(outcome: PlanOutcome) -> PointResult:
    """The point whose other parameters the 1-D plots hold fixed: the recommendation, else the first."""
    return outcome.recommendation.point or outcome.results[0]


def plot_hit_ratio_vs_size(outcome: PlanOutcome, path: Path) -> Path:
    """Edge hit ratio vs cache size, a line per policy, other parameters as in the anchor point."""
    anchor = _anchor(outcome).params
    fixed = ("pops", "shield", "ttl", "rate_scale")
    lines: dict[str, list[tuple[float, float]]] = {}
    for r in outcome.results:
        if any(r.params[k] != anchor[k] for k in fixed):
            continue
        size = r.params["cache_size"] or outcome.topology.edges[0].cache_size
        lines.setdefault(r.params["policy"] or "base", []).append((size, r.metrics["hit_ratio"]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for policy, values in sorted(lines.items()):
        values.sort()
        ax.plot([v[0] for v in values], [v[1] for v in values], marker="o", label=policy)
    _size_axis(ax, [v[0] for values in lines.values() for v in values])
    ax.set_xlabel("cache size per edge")
    ax.set_ylabel("edge hit ratio")
    ax.set_title(
        f"Hit ratio vs cache size ({anchor['pops']}, shield={anchor['shield']}, "
        f"x{anchor['rate_scale']:g})"
    )
    ax.grid(True, alpha=0.3)
    ax.legend(title="policy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_cost_latency(outcome: PlanOutcome, path: Path) -> Path:
    """Total cost vs p95 latency of the baseline points, the Pareto frontier highlighted."""
    points = [p for p in baseline_points(outcome) if p.metrics.get("p95_ms") is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    passing = [p for p in points if p.meets_slos]
    failing = [p for p in points if not p.meets_slos]
    ax.scatter(
        [p.metrics["p95_ms"] for p in failing],
        [p.metrics["cost_total"] for p in failing],
        c="0.7",
        s=18,
        label="fails an SLO",
    )
    ax.scatter(
        [p.metrics["p95_ms"] for p in passing],
        [p.metrics["cost_total"] for p in passing],
        c="tab:green",
        s=22,
        label="meets SLOs",
    )
    frontier = pareto_frontier(points)
    ax.plot(
        [p.metrics["p95_ms"] for p in frontier],
        [p.metrics["cost_total"] for p in frontier],
        color="tab:blue",
        marker="D",
        markersize=5,
        linewidth=1.5,
        label="Pareto frontier",
    )
    recommendation = outcome.recommendation
    if recommendation.found and recommendation.point is not None:
        best = recommendation.point
        ax.scatter(
            [best.metrics["p95_ms"]],
            [best.metrics["cost_total"]],
            marker="*",
            s=260,
            c="tab:red",
            zorder=5,
            label="recommended",
        )
    for slo in outcome.plan.slos:
        if slo.key == "p95_ms":
            ax.axvline(slo.limit, color="tab:red", linestyle="--", linewidth=1, label="p95 SLO")
    ax.set_xlabel("p95 latency (ms)")
    ax.set_ylabel(f"total cost per {outcome.plan.cost.period / 86400:g} days ($)")
    ax.set_title("Cost vs p95 latency")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_origin_growth(outcome: PlanOutcome, path: Path) -> Path:
    """Origin requests/s (mean and busiest second) vs growth factor; the anchor's configuration bold."""
    anchor = _anchor(outcome)
    by_config: dict[Any, list[PointResult]] = {}
    for r in outcome.results:
        by_config.setdefault(r.configuration, []).append(r)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for configuration, members in by_config.items():
        members.sort(key=lambda r: r.params["rate_scale"])
        scales = [r.params["rate_scale"] for r in members]
        if configuration == anchor.configuration:
            continue
        ax.plot(scales, [r.metrics["origin_peak_rps"] for r in members], color="0.8", linewidth=0.8)
    members = sorted(by_config[anchor.configuration], key=lambda r: r.params["rate_scale"])
    scales = [r.params["rate_scale"] for r in members]
    name = "recommended" if outcome.recommendation.found else "closest"
    ax.plot(
        scales,
        [r.metrics["origin_peak_rps"] for r in members],
        marker="o",
        color="tab:red",
        label=f"{name}: peak req/s",
    )
    ax.plot(
        scales,
        [r.metrics["origin_rps"] for r in members],
        marker="o",
        color="tab:orange",
        linestyle="--",
        label=f"{name}: mean req/s",
    )
    for slo in outcome.plan.slos:
        if slo.key == "origin_peak_rps":
            ax.axhline(slo.limit, color="tab:red", linestyle=":", label="origin_peak_rps SLO")
    ax.plot([], [], color="0.8", label="other configurations (peak)")
    ax.set_xlabel("growth factor (rate_scale)")
    ax.set_ylabel("origin requests/s")
    ax.set_title("Origin load vs growth")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plan_plots(outcome: PlanOutcome, out: Path) -> list[Path]:
    """All plan plots into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        plot_hit_ratio_vs_size(outcome, out / "miss_ratio_curve.png"),
        plot_cost_latency(outcome, out / "cost_latency.png"),
        plot_origin_growth(outcome, out / "origin_growth.png"),
    ]


def plot_mrc(
    curves: dict[str, tuple[Sequence[int], Sequence[float]]], title: str, path: Path
) -> Path:
    """Hit ratio vs cache size, one line per curve name (policy, or "lru (one pass)")."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (sizes, ratios) in curves.items():
        ax.plot(list(sizes), list(ratios), marker=".", label=name)
    _size_axis(ax, [size for sizes, _ in curves.values() for size in sizes])
    ax.set_xlabel("cache size")
    ax.set_ylabel("hit ratio")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
