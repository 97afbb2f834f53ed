"""SimulatedFunction: the simulator's view of one function at one PoP (time, tallies, cost)."""

from __future__ import annotations

import pytest

from cdn.functions import (
    FunctionKind,
    FunctionPrices,
    FunctionSpec,
    InstanceTiming,
    SimulatedFunction,
    Started,
    Throttle,
    functions_section,
)

LAMBDA = FunctionSpec("rewrite", "x.py", concurrency=2, keep_warm=60.0, memory=128)
CFF = FunctionSpec("normalize", "y.py", kind=FunctionKind.CLOUDFRONT_FUNCTION)
TIMING = InstanceTiming(duration=0.0021, init_duration=0.150)


def test_first_run_is_cold_and_takes_init_plus_duration() -> None:
    started = SimulatedFunction(LAMBDA, TIMING).start(0.0)
    assert isinstance(started, Started) and started.cold
    assert started.seconds == pytest.approx(0.1521)


def test_finished_instance_serves_the_next_run_warm() -> None:
    function = SimulatedFunction(LAMBDA, TIMING)
    first = function.start(0.0)
    assert isinstance(first, Started)
    function.finish(first, first.seconds)
    second = function.start(1.0)
    assert isinstance(second, Started) and not second.cold


def test_runs_beyond_concurrency_are_throttled_and_counted() -> None:
    function = SimulatedFunction(LAMBDA, TIMING)
    results = [function.start(0.0) for _ in range(3)]
    assert isinstance(results[2], Throttle) and function.throttles == 1


def test_keep_warm_expiry_makes_the_next_run_cold() -> None:
    function = SimulatedFunction(LAMBDA, TIMING)
    first = function.start(0.0)
    assert isinstance(first, Started)
    function.finish(first, 1.0)
    function.start(61.0)
    assert function.cold_starts == 2


def test_cloudfront_function_is_never_cold_nor_throttled() -> None:
    function = SimulatedFunction(CFF, InstanceTiming(duration=0.00005))
    results = [function.start(0.0) for _ in range(100)]
    assert all(isinstance(r, Started) and not r.cold for r in results)


def test_report_bills_whole_milliseconds_of_unthrottled_runs() -> None:
    function = SimulatedFunction(LAMBDA, TIMING)
    for _ in range(3):
        function.start(0.0)
    report = function.report(FunctionPrices())
    # 2 billed runs of 2.1 ms -> 3 ms each; 128 MB
    assert (report["invocations"], report["throttles"], report["billed_ms"]) == (3, 1, 6)
    assert report["cost"] == pytest.approx(2 / 1e6 * 0.60 + 0.006 * 0.125 * 0.00005001)


def test_cloudfront_function_report_costs_per_invocation() -> None:
    function = SimulatedFunction(CFF, InstanceTiming(duration=0.00005))
    for _ in range(10):
        function.start(0.0)
    assert function.report(FunctionPrices())["cost"] == pytest.approx(10 / 1e6 * 0.10)


def test_functions_section_totals_each_function_over_its_pops() -> None:
    par, lon = SimulatedFunction(LAMBDA, TIMING), SimulatedFunction(LAMBDA, TIMING)
    for function, runs in ((par, 2), (lon, 1)):
        for _ in range(runs):
            function.start(0.0)
    section = functions_section({"edge-par": [par], "edge-lon": [lon]}, FunctionPrices())
    assert section["functions"]["rewrite"]["invocations"] == 3
    assert section["functions"]["rewrite"]["cold_starts"] == 3
    assert sorted(section["pops"]) == ["edge-lon", "edge-par"]
    assert section["cost"] == pytest.approx(section["functions"]["rewrite"]["cost"])
