"""Point results are cached by point id: a rerun computes nothing, a new sweep value only its points."""

from __future__ import annotations

from planner.plan import run_plan
from planner.planfile import load_plan


def test_rerun_reuses_every_cached_point(write_plan, tmp_path):
    plan = load_plan(write_plan())
    first = run_plan(plan, tmp_path / "cache")
    second = run_plan(plan, tmp_path / "cache")
    assert (first.counts.computed, first.counts.reused) == (8, 0)
    assert (second.counts.computed, second.counts.reused) == (0, 8)
    assert [r.metrics for r in first.results] == [r.metrics for r in second.results]


def test_adding_a_sweep_value_computes_only_the_new_points(write_plan, tmp_path):
    run_plan(load_plan(write_plan()), tmp_path / "cache")
    wider = load_plan(write_plan("wider.toml", cache_size='["256KiB", "2MiB", "8MiB"]'))
    outcome = run_plan(wider, tmp_path / "cache")
    assert (outcome.counts.computed, outcome.counts.reused) == (4, 8)


def test_changing_an_slo_or_a_price_reuses_points_but_changing_requests_does_not(
    write_plan, tmp_path
):
    run_plan(load_plan(write_plan()), tmp_path / "cache")
    stricter = load_plan(write_plan("strict.toml", slo="p95_ms = 100"))
    assert run_plan(stricter, tmp_path / "cache").counts.computed == 0
    longer_text = write_plan().read_text().replace("requests = 2000", "requests = 2500")
    longer = load_plan(write_plan("longer.toml", text=longer_text))
    assert run_plan(longer, tmp_path / "cache").counts.computed == 8


def test_local_process_pool_gives_the_same_results_as_one_process(write_plan, tmp_path):
    plan = load_plan(write_plan())
    serial = run_plan(plan, tmp_path / "serial", workers=1)
    pooled = run_plan(plan, tmp_path / "pooled", workers=2)
    assert [r.metrics for r in serial.results] == [r.metrics for r in pooled.results]


def test_a_warm_up_share_is_the_simulators_steady_state(write_plan, tmp_path):
    cold = run_plan(load_plan(write_plan()), tmp_path / "cache")
    text = write_plan().read_text().replace("seed = 5", "seed = 5\nwarmup = 0.5")
    warm = run_plan(load_plan(write_plan("warm.toml", text=text)), tmp_path / "cache")
    assert warm.counts.computed == len(cold.results)  # the warm-up is part of each point's run
    for before, after in zip(cold.results, warm.results, strict=True):
        assert before.metrics["measured_from_s"] == 0
        assert after.metrics["measured_from_s"] > 0
        assert after.metrics["hit_ratio"] >= before.metrics["hit_ratio"]
