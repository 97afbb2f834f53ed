"""Edge functions in `cdn sim`: triggers, cold starts, keep-warm, throttling, latency, cost, report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from cdn.functions import FunctionKind, FunctionPrices, FunctionSpec, Trigger
from cdn.topology import Topology, load_topology
from sim.model import SimOptions, Simulation
from sim.report import write_report

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "configs" / "local.toml"  # three edges in one peer group, one shield


def with_functions(
    on: dict[Trigger, FunctionSpec], prices: FunctionPrices | None = None
) -> Topology:
    """configs/local.toml with ``on``'s functions on every edge ([edge_defaults])."""
    topology = load_topology(LOCAL)
    specs = tuple({spec.name: spec for spec in on.values()}.values())
    settings = dataclasses.replace(
        topology.edge_settings, functions=tuple((t, s.name) for t, s in on.items())
    )
    cost = topology.cost if prices is None else dataclasses.replace(topology.cost, functions=prices)
    return dataclasses.replace(topology, functions=specs, edge_settings=settings, cost=cost)


def lambda_edge(name: str = "fn", **fields) -> FunctionSpec:
    fields.setdefault("duration", 0.000001)
    fields.setdefault("init_duration", 0.0)
    return FunctionSpec(name, f"{name}.py", **fields)


def run(topology: Topology, requests: int = 2000) -> dict:
    return Simulation(topology, SimOptions(requests=requests, seed=7)).run().report


def totals(report: dict, name: str = "fn") -> dict:
    return report["functions"]["functions"][name]


def test_viewer_request_runs_once_per_user_request() -> None:
    report = run(with_functions({Trigger.VIEWER_REQUEST: lambda_edge()}))
    assert totals(report)["invocations"] == report["requests"] == 2000


def test_origin_triggers_run_once_per_fetch_the_edges_make() -> None:
    report = run(
        with_functions(
            {
                Trigger.ORIGIN_REQUEST: lambda_edge("req"),
                Trigger.ORIGIN_RESPONSE: lambda_edge("resp"),
            }
        )
    )
    fetches = sum(p["upstream_requests"] for p in report["pops"].values() if p["role"] == "edge")
    assert 0 < fetches < report["requests"]
    assert totals(report, "req")["invocations"] == totals(report, "resp")["invocations"] == fetches


def test_one_cold_start_per_edge_while_instances_stay_warm() -> None:
    report = run(with_functions({Trigger.VIEWER_REQUEST: lambda_edge(keep_warm=600.0)}))
    assert totals(report)["cold_starts"] == 3  # each edge starts one instance, then reuses it
    pops = report["functions"]["pops"]
    assert {pop: [e["cold_starts"] for e in entries] for pop, entries in pops.items()} == {
        "edge-ams": [1],
        "edge-lon": [1],
        "edge-par": [1],
    }


def test_instances_idle_past_keep_warm_start_cold_again() -> None:
    # local.toml sends 200 req/s to 3 edges: a 1 ms keep-warm expires between most requests.
    report = run(with_functions({Trigger.VIEWER_REQUEST: lambda_edge(keep_warm=0.001)}))
    assert totals(report)["cold_starts"] > 0.9 * totals(report)["invocations"]


def test_runs_beyond_concurrency_are_throttled_and_answered_503() -> None:
    slow = lambda_edge(concurrency=1, duration=0.050)  # 50 ms each, ~67 req/s per edge
    report = run(with_functions({Trigger.VIEWER_REQUEST: slow}))
    throttles = totals(report)["throttles"]
    assert throttles > 0
    assert report["outcomes"]["function_throttled"] == throttles
    assert report["functions"]["throttled_requests"] == throttles
    per_pop = sum(p["outcomes"].get("function_throttled", 0) for p in report["pops"].values())
    assert per_pop == throttles
    # a throttled viewer-request never reaches the cache: the edges looked up the rest only
    edges = [p for p in report["pops"].values() if p["role"] == "edge"]
    looked_up = sum(p["requests"] - p["forwarded_to_peer"] for p in edges)
    assert looked_up == report["requests"] - throttles


def test_enough_concurrency_throttles_nothing() -> None:
    report = run(
        with_functions({Trigger.VIEWER_REQUEST: lambda_edge(concurrency=50, duration=0.05)})
    )
    assert totals(report)["throttles"] == 0 and "function_throttled" in report["outcomes"]


def test_a_function_adds_its_duration_to_every_request() -> None:
    plain = run(load_topology(LOCAL))
    timed = run(
        with_functions({Trigger.VIEWER_REQUEST: lambda_edge(duration=0.040, concurrency=100)})
    )
    assert timed["latency_ms"]["p50"] - plain["latency_ms"]["p50"] == pytest.approx(40, abs=1)
    assert timed["latency_ms"]["mean"] - plain["latency_ms"]["mean"] == pytest.approx(40, abs=1)


def test_a_cold_start_adds_the_init_duration() -> None:
    plain = run(load_topology(LOCAL))
    cold = run(with_functions({Trigger.VIEWER_REQUEST: lambda_edge(init_duration=0.5)}))
    # the first requests at each edge waited for a 500 ms init (more start while one inits)
    assert totals(cold)["cold_starts"] >= 3
    assert plain["latency_ms"]["p99"] < 500 <= cold["latency_ms"]["p99"]


def test_cost_is_per_request_plus_gb_seconds_billed_in_whole_milliseconds() -> None:
    prices = FunctionPrices(
        lambda_edge_per_million_requests=1.0,
        lambda_edge_per_gb_second=0.0001,
        cloudfront_functions_per_million=0.5,
    )
    spec = lambda_edge(memory=256, duration=0.0021, concurrency=100)  # 2.1 ms -> billed 3 ms
    report = run(with_functions({Trigger.VIEWER_REQUEST: spec}, prices))
    # 2,000 invocations: 2000 / 1e6 * $1 + 2000 * 3 ms * 0.25 GB * $0.0001 per GB-s
    assert totals(report)["billed_ms"] == 6000
    assert totals(report)["cost"] == pytest.approx(0.002 + 6.0 * 0.25 * 0.0001)
    assert report["functions"]["cost"] == pytest.approx(0.00215)


def test_cloudfront_functions_cost_per_invocation_and_are_never_cold() -> None:
    normalize = FunctionSpec("cf", "cf.py", kind=FunctionKind.CLOUDFRONT_FUNCTION, concurrency=1)
    report = run(
        with_functions(
            {Trigger.VIEWER_REQUEST: normalize},
            FunctionPrices(cloudfront_functions_per_million=0.5),
        )
    )
    entry = totals(report, "cf")
    assert (entry["cold_starts"], entry["throttles"], entry["billed_ms"]) == (0, 0, 0)
    assert entry["cost"] == pytest.approx(2000 / 1e6 * 0.5)


def test_report_json_has_the_functions_section_and_total_cost_includes_it(tmp_path: Path) -> None:
    report = run(with_functions({Trigger.VIEWER_REQUEST: lambda_edge()}))
    write_report(report, tmp_path)
    written = json.loads((tmp_path / "report.json").read_text())
    section = written["functions"]
    assert set(section) == {
        "functions",
        "pops",
        "cost",
        "throttled_requests",
        "generated_responses",
    }
    assert set(section["pops"]) == {"edge-par", "edge-lon", "edge-ams"}
    cost = written["cost"]
    parts = cost["egress"] + cost["requests"] + cost["origin_egress"] + cost["functions"]
    # report.json rounds each figure to micro-dollars: the parts' sum may be off by a few.
    assert cost["total"] == pytest.approx(parts, abs=3e-6)
    assert cost["functions"] == pytest.approx(section["cost"], rel=1e-6) and section["cost"] > 0


def test_a_topology_without_functions_has_no_hook_and_no_section() -> None:
    simulation = Simulation(load_topology(LOCAL), SimOptions(requests=200, seed=7))
    report = simulation.run().report
    assert simulation.functions is None
    assert "functions" not in report and "function_throttled" not in report["outcomes"]
    assert "functions" not in report["cost"]


def test_timing_keys_and_cost_overrides_are_read_from_the_topology(tmp_path: Path) -> None:
    text = (ROOT / "configs" / "functions.toml").read_text()
    text = text.replace(
        'name = "maintenance"\n',
        'name = "maintenance"\nduration = "2.5ms"\ninit_duration = "80ms"\n',
    )
    text = text.replace(
        "lambda_edge_per_gb_second = 0.00005001", "lambda_edge_per_gb_second = 0.001"
    )
    path = tmp_path / "functions.toml"
    path.write_text(text)
    (tmp_path / "functions").symlink_to(ROOT / "configs" / "functions")
    topology = load_topology(path)
    spec = topology.function("maintenance")
    assert (spec.duration, spec.init_duration) == (0.0025, 0.080)
    assert topology.function("ab-cookie").duration is None  # the kind's default then
    assert topology.cost.functions.lambda_edge_per_gb_second == 0.001


def test_bench_out_writes_timing_keys_the_topology_reads(tmp_path: Path, capsys) -> None:
    from cli.main import main

    keys = tmp_path / "timing.toml"
    code = ROOT / "configs" / "functions" / "security_headers.py"
    argv = ["fn", "invoke", f"{code}:handler", "--trigger", "origin-response"]
    assert main([*argv, "--bench", "3", "--bench-out", str(keys)]) == 0
    assert keys.read_text() in capsys.readouterr().out
    topology = tmp_path / "t.toml"
    topology.write_text(
        (ROOT / "configs" / "local.toml").read_text()
        + f'\n[[function]]\nname = "f"\ncode = "{code.as_posix()}"\n{keys.read_text()}'
    )
    spec = load_topology(topology).function("f")
    assert spec.duration is not None and spec.duration > 0
    assert spec.init_duration is not None and spec.init_duration > 0
