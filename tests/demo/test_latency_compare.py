"""The demo's latency comparison (demo.latency): same percentiles both sides, intervals, spread."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from rich.console import Console

from demo.latency import (
    NOT_EMULATED,
    SimLatencies,
    aggregate,
    bootstrap_intervals,
    latency_doc,
    latency_table,
    within_goal,
)
from loadgen.stats import LoadStats, Tally, new_histogram


def _histogram(values_ms):
    histogram = new_histogram()
    for value in values_ms:
        histogram.record_value(int(value * 1000))
    return histogram


def _load(pops: dict[str, list[float]]) -> SimpleNamespace:
    stats = LoadStats()
    for name, values in pops.items():
        tally = Tally(latency=_histogram(values))
        stats.pops[name] = tally
        stats.total.latency.add(tally.latency)
    return SimpleNamespace(stats=stats)


def _predicted(pops: dict[str, list[float]]) -> SimLatencies:
    users = list(pops)
    recorder = SimLatencies(users)
    for index, values in enumerate(pops.values()):
        batch = SimpleNamespace(users=np.full(len(values), index))
        recorder(batch, np.array(values) / 1000.0, None)
    return recorder


def test_the_interval_holds_the_point_estimate_and_narrows_with_more_samples() -> None:
    rng = np.random.default_rng(1)
    small = _histogram(rng.exponential(20.0, 200))
    large = _histogram(rng.exponential(20.0, 20_000))
    for histogram in (small, large):
        for p, (low, high) in bootstrap_intervals(histogram).items():
            assert low <= histogram.get_value_at_percentile(p) / 1000.0 <= high
    small_width = np.subtract(*reversed(bootstrap_intervals(small)[50.0]))
    large_width = np.subtract(*reversed(bootstrap_intervals(large)[50.0]))
    assert large_width < small_width


def test_predicted_latencies_go_to_the_users_edge_and_to_all() -> None:
    recorder = _predicted({"edge-a": [10.0, 10.0], "edge-b": [100.0]})
    assert recorder.total.get_total_count() == 3
    assert recorder.edges["edge-a"].get_max_value() < 10_100
    assert recorder.edges["edge-b"].get_min_value() > 99_000


def test_the_document_compares_each_edge_and_the_whole() -> None:
    measured = {"edge-a": [10.0] * 50 + [100.0] * 50, "edge-b": [20.0] * 100}
    predicted = {"edge-a": [11.0] * 50 + [100.0] * 50, "edge-b": [30.0] * 100}
    doc = latency_doc(_load(measured), _predicted(predicted), True)
    assert set(doc["scopes"]) == {"all", "edge-a", "edge-b"}
    assert doc["scopes"]["edge-b"]["relative_difference"]["p50"] == pytest.approx(0.5, abs=0.002)
    assert abs(doc["scopes"]["edge-a"]["relative_difference"]["p50"] - 0.1) < 0.002
    assert doc["not_emulated"] == list(NOT_EMULATED)
    assert not within_goal(doc)
    text = Console(width=200, record=True)
    text.print(latency_table(doc))
    assert "edge-b" in text.export_text()


def test_repeated_runs_give_the_median_and_the_range() -> None:
    docs = []
    for offset in (0.0, 1.0, 5.0):
        measured = {"edge-a": [10.0 + offset] * 100}
        predicted = {"edge-a": [10.0] * 100}
        docs.append(latency_doc(_load(measured), _predicted(predicted), True))
    spread = aggregate(docs)
    figures = spread["scopes"]["edge-a"]["measured"]
    assert spread["runs"] == 3
    assert figures["p50"] == pytest.approx(11.0, rel=0.001)  # HDR keeps 3 significant digits
    assert figures["p50_ci"] == pytest.approx([10.0, 15.0], rel=0.001)


def test_each_path_is_compared_apart() -> None:
    load = _load({"edge-a": [5.0] * 40 + [9.0] * 20 + [20.0] * 10 + [130.0] * 30})
    for path, values in (
        ("edge hit", [5.0] * 40),
        ("peer hit", [9.0] * 20),
        ("shield hit", [20.0] * 10),
        ("miss", [130.0] * 30),
    ):
        load.stats.by_path[path] = Tally(latency=_histogram(values))
    # edge-a shares keys with edge-b: even ids are edge-a's own; the origin is 100 ms away.
    recorder = SimLatencies(
        ["edge-a"], {"edge-a": lambda obj: "edge-b" if obj % 2 else "edge-a"}, {"edge-a": 0.1}
    )
    objs = np.array([0] * 40 + [1] * 20 + [2] * 40)
    codes = np.array([0] * 60 + [3] * 40)  # sim.outcomes: HIT, MISS
    latencies = np.array([6.0] * 40 + [9.0] * 20 + [20.0] * 10 + [130.0] * 30) / 1000
    recorder(SimpleNamespace(users=np.zeros(100, dtype=int), obj_ids=objs), latencies, codes)
    doc = latency_doc(load, recorder, True)
    differences = {
        name: doc["scopes"][name]["relative_difference"]["p50"] for name in load.stats.by_path
    }
    assert differences == pytest.approx(
        {"edge hit": 0.2, "peer hit": 0.0, "shield hit": 0.0, "miss": 0.0}, abs=0.002
    )


def test_a_miss_below_the_origins_floor_is_a_shield_hit() -> None:
    recorder = SimLatencies(["edge-a"], None, {"edge-a": 0.1})
    latencies = np.array([0.02, 0.099, 0.1, 0.2])
    paths = recorder.path_codes(np.zeros(4, dtype=int), np.arange(4), latencies, np.full(4, 3))
    assert paths.tolist() == [2, 2, 3, 3]
