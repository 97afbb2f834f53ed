"""One stream sent from several local processes or Dask workers: one report, counts of one run."""

from __future__ import annotations

import pytest
from load_apps import cache_app

from cli.main import main
from loadgen import LoadPlan, LoadReport, run_load_sync
from loadgen.launch import run_spread
from loadgen.processes import combine_progress, shard_plans
from loadgen.runner import Progress
from loadgen.schedule import Schedule


def _requests(plan: LoadPlan) -> list[tuple[float, str]]:
    schedule = Schedule(plan)
    return [
        (t, schedule.resolve(b, k)[1]) for b in schedule.batches() for k, t in enumerate(b.times)
    ]


def _assert_same_counts(merged: LoadReport, whole: LoadReport) -> None:
    assert merged.stats.scheduled == whole.stats.scheduled
    assert merged.stats.total.counters() == whole.stats.total.counters()
    for table in ("by_cache_status", "pops", "regions", "locations"):
        mine = {k: t.counters() for k, t in getattr(merged.stats, table).items()}
        theirs = {k: t.counters() for k, t in getattr(whole.stats, table).items()}
        assert mine == theirs, table
    assert merged.stats.error_kinds == whole.stats.error_kinds
    assert merged.stats.status_codes == whole.stats.status_codes


def test_process_shards_of_a_shard_send_exactly_that_shard() -> None:
    plan = LoadPlan(targets=("http://127.0.0.1:9",), rate=400, duration=2.0, shard=(1, 2))
    parts = shard_plans(plan, 3)
    assert [p.shard for p in parts] == [(1, 6), (3, 6), (5, 6)]
    split = [r for part in parts for r in _requests(part)]
    assert sorted(split) == sorted(_requests(plan))


def test_progress_of_processes_adds_counts_and_keeps_the_worst_p99() -> None:
    def snapshot(sent: int, p99: float) -> Progress:
        return Progress(1.0, 5.0, sent, sent, sent - 1, 1, 0, 0, 100.0, 99.0, 2.0, p99, 0.5, 0.1)

    combined = combine_progress([snapshot(10, 3.0), snapshot(20, 7.0)])
    assert (combined.sent, combined.responses, combined.errors) == (30, 28, 2)
    assert combined.asked_rate == 200.0
    assert combined.p99_ms == 7.0
    assert combined.p50_ms == pytest.approx(2.0)


def test_two_processes_send_one_stream_and_one_report_counts_it(serve) -> None:
    served = serve(cache_app())
    plan = LoadPlan(targets=(served.url,), rate=400, requests=240)
    whole = run_load_sync(plan)
    seen = []
    merged = run_spread(plan, processes=2, on_progress=seen.append)
    _assert_same_counts(merged, whole)
    assert merged.shards == ["0/2", "1/2"]
    assert merged.plan["processes"] == 2
    assert merged.plan["shard"] == "0/1"
    assert seen and seen[-1].sent == 240


def test_two_dask_workers_send_one_stream_and_the_merge_counts_it(serve) -> None:
    distributed = pytest.importorskip("distributed")
    from loadgen.dask_run import run_on_dask

    served = serve(cache_app())
    plan = LoadPlan(targets=(served.url,), rate=400, requests=240)
    whole = run_load_sync(plan)
    seen: list[Progress] = []
    with distributed.LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        merged = run_on_dask(plan, cluster.scheduler_address, lead=1.0, on_progress=seen.append)
    _assert_same_counts(merged, whole)
    assert merged.shards == ["0/2", "1/2"]
    cluster_doc = merged.plan["cluster"]
    assert len(cluster_doc["clock_offsets_ms"]) == 2
    assert sorted(cluster_doc["shards"]) == ["0/2", "1/2"]
    assert set(cluster_doc["shards"].values()) == set(cluster_doc["clock_offsets_ms"])
    assert seen and seen[-1].sent == 240


def test_cli_says_how_many_processes_it_chose(serve, capsys) -> None:
    served = serve(cache_app())
    status = main(
        [
            "load",
            "--target",
            served.url,
            "--rate",
            "300",
            "--requests",
            "60",
            "--quiet",
            "--processes",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "2 processes: as asked" in out
    assert "sent 60" in out
