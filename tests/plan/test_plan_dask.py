"""The Dask path (--scheduler) runs the same points with the same results as the local pool."""

from __future__ import annotations

import pytest

from planner.plan import run_plan
from planner.planfile import load_plan

distributed = pytest.importorskip("distributed")


def test_local_cluster_gives_the_same_results_as_the_local_pool(write_plan, tmp_path):
    plan = load_plan(write_plan())
    local = run_plan(plan, tmp_path / "local", workers=2)
    with distributed.LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        remote = run_plan(plan, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert remote.counts.computed == len(local.results)
    assert [r.id for r in remote.results] == [r.id for r in local.results]
    assert [r.metrics for r in remote.results] == [r.metrics for r in local.results]
    assert remote.recommendation.point.id == local.recommendation.point.id
