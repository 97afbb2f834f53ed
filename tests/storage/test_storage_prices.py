"""The storage origin's S3 prices in the cost model and in a plan's costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn.topology import Cost, load_topology
from planner.planfile import PlanCost
from planner.simulate import costs, report_metrics

ROOT = Path(__file__).resolve().parents[2]


def test_default_prices_are_s3_standard_list_prices():
    cost = Cost()
    assert (cost.storage_get_per_1k, cost.storage_put_per_1k, cost.storage_gb_month) == (
        0.0004,
        0.005,
        0.023,
    )


def test_storage_cost_counts_requests_and_gb_months():
    month = 30 * 86400
    figures = Cost().storage_cost(
        gets=1_000_000, puts=10_000, stored_bytes=100 * 10**9, seconds=month
    )
    assert figures["storage_requests"] == pytest.approx(0.4 + 0.05)
    assert figures["storage_capacity"] == pytest.approx(2.3)


def test_topology_cost_table_overrides_storage_prices(tmp_path):
    text = (ROOT / "configs/storage.toml").read_text().replace("../out/storage-data", "data")
    path = tmp_path / "t.toml"
    path.write_text(text + "\n[cost]\nstorage_get_per_1k = 0.001\nstorage_gb_month = 0.01\n")
    cost = load_topology(path).cost
    assert (cost.storage_get_per_1k, cost.storage_gb_month) == (0.001, 0.01)


def _report(origin_requests: int) -> dict:
    return {
        "requests": 1000,
        "duration_s": 10.0,
        "hit_ratio": 0.9,
        "byte_hit_ratio": 0.9,
        "origin_offload": 0.9,
        "origin": {"requests": origin_requests, "bytes": 1},
        "cost": {"total": 0.0},
    }


def test_a_plan_of_a_storage_origin_prices_its_gets_and_its_bytes():
    topology = load_topology(ROOT / "configs/storage.toml")
    metrics = report_metrics(_report(origin_requests=100), topology)
    prices = PlanCost(period=30 * 86400.0, pop=0.0, shield=0.0, cache_per_gib=0.0)
    priced = costs(metrics, prices)
    gets_per_period = 100 / 10.0 * prices.period
    expected = gets_per_period / 1000 * 0.0004 + metrics["stored_bytes"] / 1e9 * 0.023
    assert priced["cost_storage"] == pytest.approx(expected)
    assert priced["cost_total"] == pytest.approx(priced["cost_storage"])


def test_a_synthetic_origin_has_no_storage_cost():
    topology = load_topology(ROOT / "configs/local.toml")
    metrics = report_metrics(_report(origin_requests=100), topology)
    assert costs(metrics, PlanCost())["cost_storage"] == 0.0
