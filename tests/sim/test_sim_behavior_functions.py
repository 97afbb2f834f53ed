"""Per-behavior edge functions and functions on admitted POSTs in `cdn sim` (as the live edge:
a behavior's association wins per trigger, the edge's others still run; a POST passed to the
origin meets viewer-request, origin-request, origin-response and viewer-response)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cdn.functions import FunctionSpec, Trigger
from cdn.topology import Topology, load_topology
from sim.model import SimOptions, Simulation

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "configs" / "gateway.toml"
QUICK = {"duration": 0.000001, "init_duration": 0.0}


def gateway_with(
    edge: dict[Trigger, str], on_echo: dict[Trigger, str], spec_names: tuple[str, ...]
) -> Topology:
    """configs/gateway.toml with ``edge`` functions on every edge and ``on_echo`` on "/echo*"."""
    topology = load_topology(GATEWAY)
    specs = tuple(FunctionSpec(name, f"{name}.py", **QUICK) for name in spec_names)
    settings = dataclasses.replace(topology.edge_settings, functions=tuple(edge.items()))
    gateway = topology.gateway
    assert gateway is not None
    behaviors = tuple(
        dataclasses.replace(b, functions=tuple(on_echo.items()))
        if b.path_pattern.text == "/echo*"
        else b
        for b in gateway.behaviors
    )
    return dataclasses.replace(
        topology,
        functions=specs,
        edge_settings=settings,
        gateway=dataclasses.replace(gateway, behaviors=behaviors),
    )


def run(topology: Topology) -> dict:
    return Simulation(topology, SimOptions(requests=4000, seed=7)).run().report


def invocations(report: dict, function: str) -> int:
    return report["functions"]["functions"][function]["invocations"]


def test_a_behaviors_own_viewer_function_replaces_the_edges_for_its_requests() -> None:
    report = run(
        gateway_with(
            {Trigger.VIEWER_REQUEST: "edge-fn"}, {Trigger.VIEWER_REQUEST: "echo-fn"},
            ("edge-fn", "echo-fn"),
        )
    )  # fmt: skip
    gateway = report["gateway"]
    admitted = report["requests"] - gateway["forbidden"] - gateway["throttled"]
    admitted -= gateway["redirected"] + gateway["preflight"]  # answered at the edge
    echo = report["behaviors"]["/echo*"]
    assert invocations(report, "echo-fn") == echo["served"] > 0
    assert invocations(report, "edge-fn") == admitted - echo["served"]


def test_a_behavior_overrides_only_its_triggers_the_edges_others_still_run() -> None:
    report = run(
        gateway_with(
            {Trigger.VIEWER_REQUEST: "edge-fn"}, {Trigger.ORIGIN_REQUEST: "echo-origin"},
            ("edge-fn", "echo-origin"),
        )
    )  # fmt: skip
    gateway = report["gateway"]
    admitted = report["requests"] - gateway["forbidden"] - gateway["throttled"]
    admitted -= gateway["redirected"] + gateway["preflight"]  # answered at the edge
    assert invocations(report, "edge-fn") == admitted  # every admitted request, echo's too
    assert 0 < invocations(report, "echo-origin") <= report["behaviors"]["/echo*"]["served"]


def test_an_admitted_post_runs_all_four_triggers() -> None:
    names = ("vreq", "oreq", "ores", "vres")
    triggers = dict(zip(Trigger, names, strict=True))
    on_echo = {
        Trigger.VIEWER_REQUEST: "vreq", Trigger.ORIGIN_REQUEST: "oreq",
        Trigger.ORIGIN_RESPONSE: "ores", Trigger.VIEWER_RESPONSE: "vres",
    }  # fmt: skip
    assert set(triggers) == set(on_echo)
    report = run(gateway_with({}, on_echo, names))
    echo = report["behaviors"]["/echo*"]
    assert invocations(report, "vreq") == invocations(report, "vres") == echo["served"]
    # POSTs pass to the origin uncached: each meets the origin triggers (as do the GET misses)
    assert report["outcomes"]["bypass"] > 0
    assert (
        invocations(report, "oreq") == invocations(report, "ores") >= report["outcomes"]["bypass"]
    )
