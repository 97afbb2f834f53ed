"""Behaviors and edge functions together in `cdn sim`: the gateway admits first, then the
edge's functions run around the cache step of the admitted GETs (as the live edge does)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cdn.functions import FunctionSpec, Trigger
from cdn.topology import Topology, load_topology
from sim.model import SimOptions, Simulation

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "configs" / "gateway.toml"


def gateway_with_viewer_function() -> Topology:
    """configs/gateway.toml with a Lambda@Edge function on viewer-request at every edge."""
    topology = load_topology(GATEWAY)
    spec = FunctionSpec("fn", "fn.py", duration=0.000001, init_duration=0.0)
    settings = dataclasses.replace(
        topology.edge_settings, functions=((Trigger.VIEWER_REQUEST, spec.name),)
    )
    return dataclasses.replace(topology, functions=(spec,), edge_settings=settings)


def test_a_viewer_function_runs_for_each_admitted_request_and_behaviors_still_report() -> None:
    report = Simulation(gateway_with_viewer_function(), SimOptions(requests=3000, seed=7)).run()
    document = report.report
    refused = document["gateway"]["forbidden"] + document["gateway"]["throttled"]
    refused += document["gateway"]["redirected"]
    refused += document["gateway"]["preflight"]  # CORS preflights, answered by admission too
    assert refused > 0  # the example's API is throttled, its private POSTs forbidden
    invoked = document["functions"]["functions"]["fn"]["invocations"]
    # Every admitted request meets it: the GETs before the cache step, the POSTs passed to the
    # origin uncached (bypass) before the edge's queue.
    assert document["outcomes"]["bypass"] > 0
    assert invoked == document["requests"] - refused
    assert set(document["behaviors"]) >= {"/echo*", "/static/*"}
