"""Fault scenarios on topologies with behaviors, a path mix and edge functions (sim/faults.py).

A fault run serves each user request through the model's own chain (sim.behaviors' admission,
sim.functions' triggers) around its fault-aware nodes, so with nothing faulted in the run it
reports what the fault-free run reports, and a fault adds its effects to the rest.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdn.faults import Fault
from cdn.functions import FunctionSpec, Trigger
from cdn.topology import Topology, load_topology
from sim.model import SimOptions, Simulation

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
GATEWAY = load_topology(CONFIGS / "gateway.toml")  # keys, plans, signed URLs, methods, a mix
FUNCTIONS = load_topology(CONFIGS / "functions.toml")  # every trigger, rewrites, generated 503s
REQUESTS = 1500
LATE = Fault(at=10**6, kind="kill", node="edge-par")  # scheduled after the run: nothing faulted
ORIGIN_DOWN = Fault(at=5, kind="origin_down", node="origin", duration=5)
SHIELD = FUNCTIONS.shields[0].name


def with_throttling_viewer_function(topology: Topology) -> Topology:
    """``topology`` with a slow viewer-request function of concurrency 1 on every edge: it
    throttles (503) part of the requests."""
    spec = FunctionSpec("slow", "slow.py", duration=0.05, init_duration=0.2, concurrency=1)
    settings_ = dataclasses.replace(
        topology.edge_settings, functions=((Trigger.VIEWER_REQUEST, spec.name),)
    )
    return dataclasses.replace(topology, functions=(spec,), edge_settings=settings_)


def run(topology: Topology, seed: int, *faults: Fault) -> dict[str, Any]:
    return (
        Simulation(topology, SimOptions(requests=REQUESTS, seed=seed, faults=faults)).run().report
    )


def but_faults(report: dict[str, Any]) -> dict[str, Any]:
    """The report without its ``faults`` section: everything the fault-free run reports too
    (totals, latencies, outcomes, PoPs, regions, cost, ``gateway``, ``behaviors``, ``origins``,
    ``functions``; the configs' latency terms are all network ones, which both runs model)."""
    return {key: value for key, value in report.items() if key != "faults"}


SEEDS = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SEEDS
@given(seed=st.integers(0, 2**16))
def test_with_nothing_faulted_a_gateway_topology_reports_what_the_normal_run_does(
    seed: int,
) -> None:
    assert but_faults(run(GATEWAY, seed, LATE)) == but_faults(run(GATEWAY, seed))


@SEEDS
@given(seed=st.integers(0, 2**16))
def test_with_nothing_faulted_a_functions_topology_reports_what_the_normal_run_does(
    seed: int,
) -> None:
    assert but_faults(run(FUNCTIONS, seed, LATE)) == but_faults(run(FUNCTIONS, seed))


def test_with_nothing_faulted_throttling_functions_behind_a_gateway_throttle_the_same() -> None:
    topology = with_throttling_viewer_function(GATEWAY)
    normal = run(topology, 7)
    assert normal["functions"]["throttled_requests"] > 0
    assert but_faults(run(topology, 7, LATE)) == but_faults(normal)


def test_an_origin_outage_fails_misses_in_its_window_behind_a_gateway() -> None:
    phases = run(GATEWAY, 7, ORIGIN_DOWN)["faults"]["phases"]
    # (a miss sent just before the window reaches the origin in it)
    assert phases["during"]["errors"] > 10 * phases["before"]["errors"]
    assert phases["after"]["errors"] == 0


def test_an_origin_outage_leaves_the_gateways_refusals_as_they_were() -> None:
    faulted, normal = run(GATEWAY, 7, ORIGIN_DOWN), run(GATEWAY, 7)
    assert normal["gateway"]["forbidden"] > 0 and normal["gateway"]["throttled"] > 0
    assert faulted["gateway"] == normal["gateway"]


def test_an_origin_outage_sends_the_origin_groups_behavior_to_the_secondary() -> None:
    report = run(GATEWAY, 7, ORIGIN_DOWN)
    assert report["faults"]["origin_group"] == "static-origins"
    assert report["faults"]["origins"]["origin-b (secondary)"] > 0


def test_an_origin_outage_fails_a_functions_topologys_misses_in_its_window() -> None:
    phases = run(FUNCTIONS, 7, ORIGIN_DOWN)["faults"]["phases"]
    # (a miss sent just before the window reaches the origin in it)
    assert phases["during"]["errors"] > 10 * phases["before"]["errors"]
    assert phases["after"]["errors"] == 0


def test_an_origin_outage_still_runs_every_viewer_request_function() -> None:
    faulted, normal = run(FUNCTIONS, 7, ORIGIN_DOWN), run(FUNCTIONS, 7)
    for name in ("rewrite-redirect", "ab-cookie", "normalize-query"):  # on viewer-request
        invocations = faulted["functions"]["functions"][name]["invocations"]
        assert invocations == normal["functions"]["functions"][name]["invocations"] > 0
    assert faulted["outcomes"]["function_throttled"] == faulted["functions"]["throttled_requests"]


def test_origin_response_runs_on_every_upstream_answer_and_not_when_none_came() -> None:
    # security-headers runs on every edge's origin-response. With the origin down, the shield
    # still answers the edges (its 5xx is an upstream's answer: the function runs on it); with
    # the shield killed too, an edge's fetch reaches no one (its own 502 is no origin response,
    # as live), so in that window the function does not run.
    headers = "security-headers"
    answered = run(FUNCTIONS, 7, ORIGIN_DOWN)["functions"]["functions"][headers]
    shield_down = Fault(at=5, kind="kill", node=SHIELD, duration=5)
    unreached = run(FUNCTIONS, 7, ORIGIN_DOWN, shield_down)["functions"]["functions"][headers]
    assert unreached["invocations"] < answered["invocations"]


def test_a_fault_run_behind_a_gateway_is_deterministic() -> None:
    assert run(GATEWAY, 3, ORIGIN_DOWN) == run(GATEWAY, 3, ORIGIN_DOWN)


def test_a_fault_run_with_functions_is_deterministic() -> None:
    assert run(FUNCTIONS, 3, ORIGIN_DOWN) == run(FUNCTIONS, 3, ORIGIN_DOWN)


def test_requests_no_edge_took_are_errors_still_counted_under_their_behaviors() -> None:
    report = run(GATEWAY, 7, Fault(at=5, kind="kill", node="edge-par"))  # its only edge
    assert report["faults"]["phases"]["during"]["errors"] > 0
    behaviors = sum(behavior["requests"] for behavior in report["behaviors"].values())
    assert behaviors == report["gateway"]["requests"] == report["requests"] == REQUESTS
