"""The planner's adapter to the simulator: run one topology variant, reduce its report to metrics.

Rules: drives sim's Python API (``Simulation(topology, SimOptions).run()``), never the `cdn sim`
command. ``simulate`` is the thin function the planner needs and sim/ does not offer; the metrics
are what plan SLOs and the objective read, in plain JSON values, and they depend only on the
simulation (prices of the plan are applied later by ``costs``, so changing a price never
invalidates a cached point).
"""

from __future__ import annotations

import math
from typing import Any

from cdn.topology import Topology
from planner.planfile import PlanCost, RunSettings
from sim.model import SimOptions, Simulation

GIB = 1024**3
PEAK_WINDOW_S = 1.0  # origin peak rate is measured over windows of at least this many seconds


def sim_options(run: RunSettings) -> SimOptions:
    """The simulator options of a plan's run settings (every point runs with the same ones)."""
    return SimOptions(
        seed=run.seed, requests=run.requests, duration=run.duration, routing=run.routing
    )


def simulate(topology: Topology, options: SimOptions) -> dict[str, Any]:
    """Run ``topology`` with ``options`` and return its report dict (report.json's content)."""
    return Simulation(topology, options).run().report


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def origin_peak_rps(report: dict[str, Any]) -> float:
    """Origin requests/s in the busiest window of >= PEAK_WINDOW_S (the whole run if shorter)."""
    duration = float(report.get("duration_s") or 0.0)
    total = float(report["origin"]["requests"])
    series = report.get("timeseries") or {}
    counts = series.get("origin_requests")
    width = series.get("bucket_s")
    if not counts or not width or duration <= PEAK_WINDOW_S:
        return total / duration if duration > 0 else total
    per_window = max(1, math.ceil(PEAK_WINDOW_S / width))
    peak = 0.0
    for start in range(0, len(counts), per_window):
        window = counts[start : start + per_window]
        seconds = len(window) * width
        if seconds >= PEAK_WINDOW_S * 0.999:
            peak = max(peak, sum(window) / seconds)
    return peak or total / duration


def report_metrics(report: dict[str, Any], topology: Topology) -> dict[str, Any]:
    """The numbers a plan reads from one run's report (plan prices not applied yet)."""
    latency = report.get("latency_ms") or {}
    duration = float(report.get("duration_s") or 0.0)
    pops = report.get("pops") or {}
    utilizations = [
        u for u in (_number(pop.get("peak_utilization")) for pop in pops.values()) if u is not None
    ]
    cache_bytes = sum(node.cache_size for node in topology.caches)
    return {
        "requests": int(report["requests"]),
        "duration_s": duration,
        "hit_ratio": float(report["hit_ratio"]),
        "byte_hit_ratio": float(report["byte_hit_ratio"]),
        "origin_offload": float(report["origin_offload"]),
        "origin_requests": int(report["origin"]["requests"]),
        "origin_bytes": int(report["origin"]["bytes"]),
        "origin_rps": report["origin"]["requests"] / duration if duration > 0 else 0.0,
        "origin_peak_rps": origin_peak_rps(report),
        "p50_ms": _number(latency.get("p50")),
        "p90_ms": _number(latency.get("p90")),
        "p95_ms": _number(latency.get("p95")),
        "p99_ms": _number(latency.get("p99")),
        "mean_ms": _number(latency.get("mean")),
        "pop_utilization": max(utilizations) if utilizations else None,
        "edges": len(topology.edges),
        "shields": len(topology.shields),
        "cache_bytes": cache_bytes,
        "run_cost": float(report["cost"]["total"]),
    }


def costs(metrics: dict[str, Any], prices: PlanCost) -> dict[str, float]:
    """Traffic, infrastructure and total cost per ``prices.period`` of a point's metrics."""
    duration = metrics["duration_s"]
    traffic = metrics["run_cost"] / duration * prices.period if duration > 0 else 0.0
    infra = (
        metrics["edges"] * prices.pop
        + metrics["shields"] * prices.shield
        + metrics["cache_bytes"] / GIB * prices.cache_per_gib
    )
    return {"cost_traffic": traffic, "cost_infra": infra, "cost_total": traffic + infra}
