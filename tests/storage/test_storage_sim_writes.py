"""The simulator's storage-write workload: writes purge objects, and a plan prices them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from cdn.topology import load_topology
from cdn.workload.writes import storage_writes
from sim.model import Simulation
from sim.options import SimOptions

ROOT = Path(__file__).resolve().parents[2]


def _topology(writes_per_second: float):
    topology = load_topology(ROOT / "configs/local.toml")
    workload = dataclasses.replace(topology.workload, writes_per_second=writes_per_second)
    return dataclasses.replace(topology, workload=workload)


def test_no_write_rate_means_no_writes():
    workload = _topology(0).workload
    assert storage_writes(workload, 60.0, np.random.default_rng(1)) == []


def test_writes_are_seeded_sorted_and_inside_the_run():
    workload = _topology(5).workload
    first = storage_writes(workload, 60.0, np.random.default_rng(7))
    assert first == storage_writes(workload, 60.0, np.random.default_rng(7))
    times = [t for t, _ in first]
    assert times == sorted(times)
    assert times[0] >= 0 and times[-1] < 60.0
    assert 200 < len(first) < 400  # Poisson around 300


def test_writes_purge_objects_so_the_hit_ratio_drops_and_the_origin_sees_more():
    quiet = Simulation(_topology(0), SimOptions(requests=20_000)).run().report
    busy = Simulation(_topology(5), SimOptions(requests=20_000)).run().report
    assert busy["origin"]["writes"] > 0
    assert quiet["origin"]["writes"] == 0
    assert busy["hit_ratio"] < quiet["hit_ratio"]
    assert busy["origin"]["requests"] > quiet["origin"]["requests"]


def test_a_plan_prices_the_writes_of_a_storage_origin():
    from planner.planfile import PlanCost
    from planner.simulate import costs, report_metrics

    topology = load_topology(ROOT / "configs/storage.toml")
    report = {
        "requests": 1000,
        "duration_s": 10.0,
        "hit_ratio": 0.9,
        "byte_hit_ratio": 0.9,
        "origin_offload": 0.9,
        "origin": {"requests": 0, "bytes": 1, "writes": 1000},
        "cost": {"total": 0.0},
    }
    metrics = report_metrics(report, topology)
    prices = PlanCost(period=10.0, pop=0.0, shield=0.0, cache_per_gib=0.0)
    priced = costs(metrics, prices)
    assert metrics["storage_writes"] == 1000
    stored = metrics["stored_bytes"] / 1e9 * 0.023 * 10.0 / (30 * 86400)
    assert abs(priced["cost_storage"] - (1000 / 1000 * 0.005 + stored)) < 1e-9
