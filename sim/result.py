"""A finished run's result: report.json's content (docs/report.md) and what the plots need.

Rules: reads a finished ``Simulation`` (its nodes, origin, series) and its ``RequestTally``;
computes nothing the run did not count, only ratios, utilizations, costs and summaries. The
report holds no wall-clock time, path or host name, so the same run gives the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from sim.outcomes import OUTCOMES
from sim.report import SCHEMA_VERSION, ratio
from sim.stats import LatencyHistogram, TimeSeries, latency_summary, span_lengths
from sim.tally import RequestTally


class Simulation(Protocol):
    """What a result reads of a finished ``sim.model.Simulation`` (no import: no circle)."""

    nodes: Any
    options: Any
    origin: Any
    region_names: Any
    region_of_user: Any
    seed: Any
    series: Any
    topology: Any
    users: Any
    warmup_cut: Any


@dataclass
class SimResult:
    """What a run produced: the report plus what the plots need."""

    report: dict[str, Any]
    series: TimeSeries
    region_histograms: dict[str, LatencyHistogram]
    user_points: list[tuple[float, float, int]] = field(default_factory=list)
    pop_points: list[tuple[str, float, float, int, str]] = field(default_factory=list)
    # (name, lat, lon, requests) of the origin, for the world map
    origin_point: tuple[str, float, float, int] | None = None


def build_result(sim: Simulation, tally: RequestTally) -> SimResult:
    """The report and plot inputs of a finished run of ``sim``."""
    histograms, user_counts, user_bytes = tally.histograms, tally.user_counts, tally.user_bytes
    topology, cost = sim.topology, sim.topology.cost
    overall = LatencyHistogram()
    for histogram in histograms:
        overall.merge(histogram)
    pops: dict[str, Any] = {}
    cost_pops: dict[str, float] = {}
    egress_total = requests_total = origin_total = 0.0
    outcomes = [0] * len(OUTCOMES)
    end = max(
        [tally.end, sim.origin.queue.last_arrival]
        + [n.queue.last_arrival for n in sim.nodes.values()]
    )
    for name, sim_node in sorted(sim.nodes.items()):
        node = sim_node.node
        mean_utilization, peak_utilization = sim_node.queue.utilization(end)
        is_edge = node.role == "edge"
        # Users pay CDN egress at edges; shields' bytes stay inside the CDN.
        egress = sim_node.bytes / 1e9 * cost.egress_price(node.region) if is_edge else 0.0
        per_requests = sim_node.requests / 10_000 * cost.per_10k_requests if is_edge else 0.0
        origin_egress = sim_node.origin_bytes / 1e9 * cost.origin_egress_per_gb
        total = egress + per_requests + origin_egress
        egress_total += egress
        requests_total += per_requests
        origin_total += origin_egress
        cost_pops[name] = total
        if is_edge:
            for i, count in enumerate(sim_node.outcomes):
                outcomes[i] += count
        store = sim_node.cache.store
        pops[name] = {
            "role": node.role,
            "city": node.location.label,
            "region": node.region,
            "policy": store.policy_name,
            "capacity": store.capacity,
            "requests": sim_node.requests,
            "hits": sim_node.hits,
            "hit_ratio": ratio(sim_node.hits, sim_node.requests - sim_node.forwarded),
            "byte_hit_ratio": ratio(sim_node.bytes_hit, sim_node.bytes - sim_node.forwarded_bytes),
            "bytes": sim_node.bytes,
            "forwarded_to_peer": sim_node.forwarded,
            "collapsed": sim_node.collapsed,
            "outcomes": dict(zip(OUTCOMES, sim_node.outcomes, strict=True)),
            "upstream_requests": sim_node.upstream_requests,
            "upstream_bytes": sim_node.upstream_bytes,
            "utilization": mean_utilization,
            "peak_utilization": peak_utilization,
            "cost": {
                "egress": egress,
                "requests": per_requests,
                "origin_egress": origin_egress,
                "total": total,
            },
        }
    regions = {}
    counts_by_region = np.bincount(
        sim.region_of_user, weights=user_counts, minlength=len(sim.region_names)
    )
    bytes_by_region = np.zeros(len(sim.region_names), dtype=np.int64)
    np.add.at(bytes_by_region, sim.region_of_user, user_bytes)
    for i, name in enumerate(sim.region_names):
        regions[name] = {
            "requests": int(counts_by_region[i]),
            "bytes": int(bytes_by_region[i]),
            "latency_ms": latency_summary(histograms[i]),
        }
    served = tally.bytes
    series = sim.series
    used = max(series.used(), 1)
    origin_mean, origin_peak = sim.origin.queue.utilization(end)
    report = {
        "schema_version": SCHEMA_VERSION,
        "mode": "geo",
        "scenario": topology.name,
        "seed": sim.seed,
        "routing": sim.options.routing,
        "duration_s": tally.end,
        "requests": tally.requests,
        "bytes": served,
        "hits": tally.hits,
        "hit_ratio": ratio(tally.hits, tally.requests),
        "byte_hit_ratio": ratio(tally.bytes_hit, served),
        "outcomes": dict(zip(OUTCOMES, outcomes, strict=True)),
        "origin": {
            "requests": sim.origin.requests,
            "bytes": sim.origin.bytes,
            "writes": sim.storage_writes,
            "utilization": origin_mean,
            "peak_utilization": origin_peak,
        },
        "origin_offload": 1.0 - ratio(sim.origin.bytes, served) if served else 0.0,
        "latency_ms": latency_summary(overall),
        "pops": pops,
        "regions": regions,
        "cost": {
            "pops": cost_pops,
            "egress": egress_total,
            "requests": requests_total,
            "origin_egress": origin_total,
            "total": egress_total + requests_total + origin_total,
        },
        "purges": [
            {"at": p.at, "kind": p.kind, "value": p.value, "soft": p.soft}
            for p in sim.options.purges
        ],
        "steady": steady_figures(sim, tally),
        "timeseries": {
            "x": "seconds",
            "bucket_s": series.bucket_width,
            "last_bucket_s": float(span_lengths(series.bucket_width, used, end)[-1]),
            **{name: values[:used] for name, values in series.series.items()},
        },
    }
    gate = getattr(sim, "gate", None)
    if gate is not None:  # behaviors: per-behavior figures and the gateway's refusals
        report.update(gate.report(report["steady"] is not None))
        if served:  # every origin's bytes (behaviors may fetch from several: sim.origins)
            sent = sum(origin["bytes"] for origin in report["origins"].values())
            report["origin_offload"] = 1.0 - ratio(sent, served)
    user_points = [
        (u.location.point.lat, u.location.point.lon, int(user_counts[u.index]))
        for u in sim.users.locations
    ]
    pop_points = [
        (
            n.node.name,
            n.node.location.point.lat,
            n.node.location.point.lon,
            n.requests,
            n.node.role,
        )
        for n in sim.nodes.values()
    ]
    origin = topology.origin
    return SimResult(
        report=report,
        series=series,
        region_histograms=dict(zip(sim.region_names, histograms, strict=True)),
        user_points=user_points,
        pop_points=pop_points,
        origin_point=(
            origin.name,
            origin.location.point.lat,
            origin.location.point.lon,
            sim.origin.requests,
        ),
    )


def steady_figures(sim: Simulation, tally: RequestTally) -> dict[str, Any] | None:
    """The steady-state figures (requests after the warm-up), or None without a warm-up."""
    warmup_t, _ = sim.warmup_cut()
    if not math.isfinite(warmup_t):
        warmup_t = sim.origin.steady_from
    if not (sim.options.warmup or sim.options.warmup_share):
        return None
    served = tally.steady_bytes
    origin = sim.origin
    return {
        "warmup_s": warmup_t if math.isfinite(warmup_t) else None,
        "requests": tally.steady_requests,
        "bytes": served,
        "hits": tally.steady_hits,
        "hit_ratio": ratio(tally.steady_hits, tally.steady_requests),
        "byte_hit_ratio": ratio(tally.steady_bytes_hit, served),
        "origin": {"requests": origin.steady_requests, "bytes": origin.steady_bytes},
        "origin_offload": 1.0 - ratio(origin.steady_bytes, served) if served else 0.0,
        "latency_ms": latency_summary(tally.steady_histogram),
    }
