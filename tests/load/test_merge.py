"""Several processes split one stream (--shard i/n); merging their load.json adds exactly."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from load_apps import cache_app

from cli.main import main
from loadgen import LoadPlan, LoadReport, merge_reports, run_load_sync
from loadgen.schedule import Schedule
from loadgen.stats import (
    COUNTERS,
    HIGHEST_US,
    LOWEST_US,
    decode,
    new_histogram,
    record_many,
    record_seconds,
)


def _urls(plan: LoadPlan) -> list[str]:
    schedule = Schedule(plan)
    return [schedule.resolve(b, k)[1] for b in schedule.batches() for k in range(len(b))]


def test_shards_split_the_stream_disjointly_and_completely() -> None:
    base = LoadPlan(targets=("http://127.0.0.1:9",), rate=500, duration=2.0)
    whole = Schedule(base)
    full = [(t, u) for b in whole.batches() for t, u in zip(b.times, b.users, strict=True)]
    parts = []
    for index in range(3):
        schedule = Schedule(LoadPlan(**{**_fields(base), "shard": (index, 3)}))
        parts += [(t, u) for b in schedule.batches() for t, u in zip(b.times, b.users, strict=True)]
    assert sorted(parts) == sorted(full)
    assert len(set(parts)) == len(parts)


def test_shards_of_a_request_bound_split_the_first_n_requests() -> None:
    base = LoadPlan(targets=("http://127.0.0.1:9",), rate=500, requests=101)
    full = _urls(base)
    split = _urls(LoadPlan(**{**_fields(base), "shard": (0, 2)})) + _urls(
        LoadPlan(**{**_fields(base), "shard": (1, 2)})
    )
    assert len(full) == 101
    assert sorted(split) == sorted(full)


def _fields(plan: LoadPlan) -> dict:
    return {name: getattr(plan, name) for name in plan.__slots__}


def test_merged_shards_count_what_one_run_counts(serve) -> None:
    served = serve(cache_app())
    plan = LoadPlan(targets=(served.url,), rate=300, duration=1.0)
    whole = run_load_sync(plan)
    shards = [run_load_sync(LoadPlan(**{**_fields(plan), "shard": (i, 2)})) for i in range(2)]
    merged = merge_reports(shards)
    assert merged.stats.scheduled == whole.stats.scheduled
    assert merged.stats.total.counters() == whole.stats.total.counters()
    for table in ("by_cache_status", "pops", "regions", "locations"):
        mine = {k: t.counters() for k, t in getattr(merged.stats, table).items()}
        theirs = {k: t.counters() for k, t in getattr(whole.stats, table).items()}
        assert mine == theirs, table
    assert merged.stats.error_kinds == whole.stats.error_kinds
    assert merged.stats.status_codes == whole.stats.status_codes
    assert merged.shards == ["0/2", "1/2"]
    assert merged.asked_rate == whole.asked_rate


def test_histogram_merge_is_exact() -> None:
    a, b, both = new_histogram(), new_histogram(), new_histogram()
    for i in range(5000):
        seconds = (i * 7919 % 100_000) / 1e5 + 1e-4
        record_seconds(a if i % 3 else b, seconds)
        record_seconds(both, seconds)
    merged = new_histogram()
    merged.add(decode(a.encode().decode()))
    merged.add(decode(b.encode().decode()))
    assert merged.get_total_count() == both.get_total_count()
    assert list(merged.counts) == list(both.counts)


def test_load_json_round_trips_exactly(serve) -> None:
    served = serve(cache_app())
    report = run_load_sync(LoadPlan(targets=(served.url,), rate=300, requests=200))
    again = LoadReport.from_json(json.loads(report.dumps()))
    assert again.stats.total.counters() == report.stats.total.counters()
    assert list(again.stats.total.latency.counts) == list(report.stats.total.latency.counts)
    assert list(again.stats.lag.counts) == list(report.stats.lag.counts)
    assert again.to_json()["by_cache_status"] == report.to_json()["by_cache_status"]


def test_cdn_load_merge_writes_the_sum(serve, tmp_path) -> None:
    served = serve(cache_app())
    dirs = []
    for index in range(2):
        out = tmp_path / f"shard{index}"
        status = main(
            [
                "load",
                "--target",
                served.url,
                "--rate",
                "200",
                "--duration",
                "1s",
                "--shard",
                f"{index}/2",
                "--out",
                str(out),
                "--quiet",
                "--no-plots",
            ]
        )
        assert status == 0
        dirs.append(out)
    merged_dir = tmp_path / "merged"
    status = main(
        ["load", "merge", str(dirs[0] / "load.json"), str(dirs[1]), "--out", str(merged_dir)]
    )
    assert status == 0
    parts = [json.loads((d / "load.json").read_text()) for d in dirs]
    merged = json.loads((merged_dir / "load.json").read_text())
    for key in ("requests", "responses", "hits", "bytes", "scheduled", "dropped"):
        assert merged[key] == sum(p[key] for p in parts), key
    assert merged["origin"]["requests"] == sum(p["origin"]["requests"] for p in parts)
    merged_latency = decode(merged["histograms"]["latency"])
    expected = new_histogram()
    for p in parts:
        expected.add(decode(p["histograms"]["latency"]))
    assert list(merged_latency.counts) == list(expected.counts)
    for name in COUNTERS:
        assert name in merged["pops"][next(iter(merged["pops"]))]
    assert (merged_dir / "latency_cdf.png").exists()
    assert (merged_dir / "timeseries.csv").exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=LOWEST_US, max_value=HIGHEST_US), min_size=1, max_size=300))
def test_recording_many_values_at_once_equals_recording_each(values) -> None:
    one_by_one, at_once = new_histogram(), new_histogram()
    for value in values:
        one_by_one.record_value(value)
    record_many(at_once, values)
    assert list(at_once.counts) == list(one_by_one.counts)
    assert at_once.get_total_count() == one_by_one.get_total_count()
    assert (at_once.get_min_value(), at_once.get_max_value()) == (
        one_by_one.get_min_value(),
        one_by_one.get_max_value(),
    )
