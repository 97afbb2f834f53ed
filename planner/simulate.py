"""The planner's adapter to the simulator: run one topology variant, reduce its report to metrics.

Rules: drives sim's Python API (``Simulation(topology, SimOptions).run()``), never the `cdn sim`
command. ``simulate`` is the thin function the planner needs and sim/ does not offer. The metrics
are what plan SLOs and the objective read, in plain JSON values, and they depend only on the
simulation (prices of the plan are applied later by ``costs``, so changing a price never
invalidates a cached point).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cdn.topology import Topology
from cdn.workload import Catalog
from planner.planfile import PlanCost, RunSettings
from sim.model import SimOptions, Simulation

GIB = 1024**3
PEAK_WINDOW_S = 1.0  # origin peak rate is measured over windows of at least this many seconds


def sim_options(run: RunSettings) -> SimOptions:
    """The simulator options of a plan's run settings (every point runs with the same ones)."""
    return SimOptions(
        seed=run.seed,
        requests=run.requests,
        duration=run.duration,
        routing=run.routing,
        warmup_share=run.warmup,
    )


def simulate(topology: Topology, options: SimOptions) -> dict[str, Any]:
    """Run ``topology`` with ``options`` and return its report dict (report.json's content)."""
    return Simulation(topology, options).run().report


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


TIMESERIES = ("requests", "hits", "bytes", "bytes_hit", "origin_requests", "origin_bytes")


def bucket_spans(duration: float, width: float, count: int) -> list[float]:
    """Seconds each time bucket covers: ``width``, except the last, which holds the rest of the run."""
    if count == 0:
        return []
    return [width] * (count - 1) + [max(duration - (count - 1) * width, width)]


def origin_peak_rps(counts: list[float], width: float, duration: float, start: int = 0) -> float:
    """Origin requests/s in the busiest window of >= PEAK_WINDOW_S from bucket ``start`` on."""
    spans = bucket_spans(duration, width, len(counts))
    per_window = max(1, math.ceil(PEAK_WINDOW_S / width - 1e-9))
    peak, total, seconds = 0.0, 0.0, 0.0
    for first in range(start, len(counts), per_window):
        window = counts[first : first + per_window]
        span = sum(spans[first : first + per_window])
        total += sum(window)
        seconds += span
        if span >= PEAK_WINDOW_S * 0.999:
            peak = max(peak, sum(window) / span)
    return peak or (total / seconds if seconds else 0.0)


def report_metrics(report: dict[str, Any], topology: Topology) -> dict[str, Any]:
    """The numbers a plan reads from one report (no plan prices).

    With a warm-up (the plan's ``[run] warmup``, the simulator's ``warmup_share``) hit ratios,
    offload, origin rates and latency are the report's ``steady`` figures: requests arriving
    after the warm-up only. ``measured_from_s`` is where that starts (0 without a warm-up).
    """
    duration = float(report.get("duration_s") or 0.0)
    steady = report.get("steady")
    figures = steady if steady else report
    start = float(steady["warmup_s"] or 0.0) if steady else 0.0
    latency = figures.get("latency_ms") or {}
    pops = report.get("pops") or {}
    utilizations = [
        u for u in (_number(pop.get("peak_utilization")) for pop in pops.values()) if u is not None
    ]
    cache_bytes = sum(node.cache_size for node in topology.caches)
    measured = duration - start
    timeseries = report.get("timeseries") or {}
    # The gateway's refusals (sim.behaviors): the steady figures with a warm-up; 0 without one.
    gateway = report.get("gateway") or {}
    refusals = gateway.get("steady") or gateway if steady else gateway
    return {
        "requests": int(report["requests"]),
        "duration_s": duration,
        "measured_from_s": start,
        "hit_ratio": float(figures["hit_ratio"]),
        "byte_hit_ratio": float(figures["byte_hit_ratio"]),
        "origin_offload": float(figures["origin_offload"]),
        "origin_requests": int(report["origin"]["requests"]),
        "origin_bytes": int(report["origin"]["bytes"]),
        "origin_rps": figures["origin"]["requests"] / measured if measured > 0 else 0.0,
        "origin_peak_rps": _origin_peak(timeseries, duration, start),
        "p50_ms": _number(latency.get("p50")),
        "p90_ms": _number(latency.get("p90")),
        "p95_ms": _number(latency.get("p95")),
        "p99_ms": _number(latency.get("p99")),
        "mean_ms": _number(latency.get("mean")),
        "pop_utilization": max(utilizations) if utilizations else None,
        "throttled_share": float(refusals.get("throttled_share", 0.0)),
        "forbidden_share": float(refusals.get("forbidden_share", 0.0)),
        "edges": len(topology.edges),
        "shields": len(topology.shields),
        "cache_bytes": cache_bytes,
        "run_cost": float(report["cost"]["total"]),
        **_function_metrics(report),
        **_storage_metrics(report, topology, duration),
    }


def _function_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """Edge functions: the share of requests a throttled function answered 503, cold starts,
    their cost over the run (0 and 0.0 without functions)."""
    section = report.get("functions") or {}
    totals = (section.get("functions") or {}).values()
    requests = int(report["requests"])
    throttled = int(section.get("throttled_requests", 0))
    return {
        "function_error_ratio": throttled / requests if requests else 0.0,
        "function_cold_starts": sum(int(t["cold_starts"]) for t in totals),
        "function_cost": float(section.get("cost", 0.0)),
    }


def _storage_metrics(report: dict[str, Any], topology: Topology, duration: float) -> dict[str, Any]:
    """A storage origin's prices: its GETs and writes over the run, its catalog's bytes per second."""
    if topology.origin.kind != "storage":
        return {}
    workload = topology.workload
    stored = int(Catalog(workload).sizes(np.arange(workload.objects)).sum())
    prices = topology.cost
    gets = int(report["origin"]["requests"])
    puts = int(report["origin"].get("writes", 0))
    return {
        "stored_bytes": stored,
        "storage_writes": puts,
        "storage_run_cost": prices.storage_cost(gets, puts, 0, duration)["storage_requests"],
        "storage_cost_per_s": prices.storage_cost(0, 0, stored, 1.0)["storage_capacity"],
    }


def _origin_peak(timeseries: dict[str, Any], duration: float, start: float) -> float:
    """Origin requests/s in the busiest window, over the buckets that begin after ``start``."""
    width = float(timeseries.get("bucket_s") or 0.0)
    counts = list(timeseries.get("origin_requests") or [])
    if not width or not counts or duration <= 0:
        return 0.0
    first = min(math.ceil(start / width - 1e-9), len(counts) - 1)
    return origin_peak_rps(counts, width, duration, first)


def costs(metrics: dict[str, Any], prices: PlanCost) -> dict[str, float]:
    """Traffic, infrastructure and total cost per ``prices.period`` of a point's metrics."""
    duration = metrics["duration_s"]
    traffic = metrics["run_cost"] / duration * prices.period if duration > 0 else 0.0
    infra = (
        metrics["edges"] * prices.pop
        + metrics["shields"] * prices.shield
        + metrics["cache_bytes"] / GIB * prices.cache_per_gib
    )
    storage = 0.0
    if "storage_run_cost" in metrics:  # a storage origin: its requests and stored bytes
        requests = metrics["storage_run_cost"] / duration * prices.period if duration > 0 else 0.0
        storage = requests + metrics["storage_cost_per_s"] * prices.period
    return {
        "cost_traffic": traffic,
        "cost_infra": infra,
        "cost_storage": storage,
        "cost_total": traffic + infra + storage,
    }
