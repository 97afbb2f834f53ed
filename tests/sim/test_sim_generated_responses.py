"""Generated responses in `cdn sim`: the simulator runs a request trigger's handler once per URI
(sim.function_probe) and follows its answer as the live edge does: an origin-request response
is cached under the request's key for its max-age (later hits skip the function, nothing goes
upstream, origin-response does not run); a viewer-request response ends the request at once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cdn.functions import FunctionSpec, OriginTarget, Trigger
from cdn.topology import Topology, load_topology
from sim.function_probe import PASS, Answer, FunctionProbe
from sim.model import SimOptions, Simulation
from sim.outcomes import HIT, MISS

FUNCTIONS = Path(__file__).resolve().parents[2] / "configs" / "functions.toml"
ORIGIN = OriginTarget("origin", "127.0.0.1", 8100)


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load_topology(FUNCTIONS)


def by_pop(report: dict, pop: str) -> dict[str, int]:
    return {e["function"]: e["invocations"] for e in report["functions"]["pops"][pop]}


def test_the_probe_reads_a_generated_response_as_the_core_response(topology: Topology) -> None:
    probe = FunctionProbe(topology.function("maintenance"), Trigger.ORIGIN_REQUEST, ORIGIN)
    answer = probe.answer("/obj/1")
    assert answer.generated and answer.uri is None and answer.status == 503
    assert answer.response is not None
    assert answer.response.headers.get("cache-control") == "max-age=10"
    assert probe.answer("/health") == PASS


def test_the_probe_tells_a_redirect_from_a_rewrite(topology: Topology) -> None:
    probe = FunctionProbe(topology.function("rewrite-redirect"), Trigger.VIEWER_REQUEST, ORIGIN)
    assert probe.answer("/old/1").generated and probe.answer("/old/1").status == 301
    assert probe.answer("/docs/") == Answer(False, "/docs/index.html")  # a rewrite
    assert probe.answer("/obj/1") == PASS


def test_a_viewer_request_rewrite_becomes_the_cache_key(topology: Topology) -> None:
    # ab-cookie (edge-lon) puts the load generator's client (127.0.0.1: group b) under /b/
    simulation = Simulation(topology, SimOptions(duration=5.0))
    simulation.run()
    keys = {k for node in simulation.nodes.values() for k in node.cache.store.slots}
    assert any(k.startswith("/b/obj/") for k in keys)
    assert any(k.startswith("/obj/") for k in keys)  # par's and ams's users keep theirs


def test_an_origin_request_response_is_cached_and_skips_origin_response(
    topology: Topology,
) -> None:
    report = Simulation(topology, SimOptions(duration=10.0)).run().report
    lon = by_pop(report, "edge-lon")
    assert lon["maintenance"] == report["functions"]["generated_responses"]["edge-lon"] > 0
    assert lon["security-headers"] == 0  # origin-response never runs after a generated one
    # cached under the key: far fewer invocations than requests reaching edge-lon's cache
    assert lon["maintenance"] < report["pops"]["edge-lon"]["requests"] / 2
    assert by_pop(report, "edge-par")["security-headers"] > 0  # other edges still fetch


def test_a_cached_generated_response_expires_after_its_max_age(topology: Topology) -> None:
    short = Simulation(topology, SimOptions(duration=8.0)).run().report
    longer = Simulation(topology, SimOptions(duration=30.0)).run().report
    # within 10 s each key runs the function once; past it, popular keys run it again
    assert by_pop(longer, "edge-lon")["maintenance"] > 2 * by_pop(short, "edge-lon")["maintenance"]


def test_a_viewer_request_response_ends_the_request_at_the_edge(topology: Topology) -> None:
    moved = dataclasses.replace(
        topology, workload=dataclasses.replace(topology.workload, path="/old/{id}")
    )
    report = Simulation(moved, SimOptions(duration=5.0)).run().report
    par = by_pop(report, "edge-par")
    assert par["rewrite-redirect"] == report["functions"]["generated_responses"]["edge-par"] > 0
    assert report["pops"]["edge-par"]["requests"] < report["requests"]  # never reached par's cache


def test_a_generated_5xx_does_not_replace_an_entry_served_stale_if_error(
    topology: Topology,
) -> None:
    # configs/functions.toml serves stale-if-error for 60 s: past the 503's 10 s, the stale
    # entry stands in for each new 503 (not stored), so every request runs maintenance again
    without = dataclasses.replace(
        topology,
        edge_settings=dataclasses.replace(topology.edge_settings, stale_if_error=0.0),
    )
    assert topology.edge_settings.stale_if_error > 0
    kept = by_pop(Simulation(without, SimOptions(duration=30.0)).run().report, "edge-lon")
    stale = by_pop(Simulation(topology, SimOptions(duration=30.0)).run().report, "edge-lon")
    assert stale["maintenance"] > kept["maintenance"]


# -- the generated response through the core's cache step, one edge driven by hand ------------
# edge-lon's maintenance (origin-request) answers 503 with max-age=10; `from_peer=True` keeps
# every key at edge-lon (no owner peer), and each edge.serve is one request at time t.


def lon(topology: Topology) -> tuple[Simulation, object]:
    simulation = Simulation(topology, SimOptions(duration=1.0))
    return simulation, simulation.nodes["edge-lon"]


def maintenance_runs(simulation: Simulation) -> int:
    assert simulation.functions is not None
    return simulation.functions.by_pop["edge-lon"]["maintenance"].invocations


def request(edge, t: float, key: str = "/obj/1") -> int:
    """One request for ``key`` at ``t``; the outcome code."""
    return edge.serve(key, 1, 1000, t, True, False)[1]


def no_stale_if_error(topology: Topology) -> Topology:
    settings = dataclasses.replace(topology.edge_settings, stale_if_error=0.0)
    return dataclasses.replace(topology, edge_settings=settings)


def test_a_generated_response_is_cached_for_its_max_age(topology: Topology) -> None:
    simulation, edge = lon(no_stale_if_error(topology))
    assert request(edge, 0.0) == MISS
    assert request(edge, 9.5) == HIT  # fresh for max-age=10: the function does not run
    assert maintenance_runs(simulation) == 1
    assert request(edge, 10.5) != HIT  # past max-age: the function runs again
    assert maintenance_runs(simulation) == 2
    assert request(edge, 11.0) == HIT  # and the new 503 is kept (no stale copy stands in)


def test_a_generated_5xx_with_a_stale_copy_serves_the_stale_copy(topology: Topology) -> None:
    simulation, edge = lon(topology)  # stale_if_error = 60 s in [edge_defaults]
    request(edge, 0.0)
    request(edge, 10.5)  # the 503 is stale: a new 503, the stale copy stands in, not replaced
    assert request(edge, 11.0) != HIT  # still stale: the function runs for every request
    assert maintenance_runs(simulation) == 3


def test_a_generated_5xx_past_the_stale_if_error_window_is_kept(topology: Topology) -> None:
    simulation, edge = lon(topology)
    request(edge, 0.0)
    assert request(edge, 75.0) != HIT  # 65 s stale > 60 s: nothing stands in, the 503 is kept
    assert request(edge, 75.5) == HIT
    assert maintenance_runs(simulation) == 2


def test_a_rewritten_uri_the_origin_lacks_is_kept_for_its_404s_lifetime(
    topology: Topology,
) -> None:
    # ab-cookie rewrites edge-lon's users to /b/obj/N: the origin serves nothing there (a 404
    # live), so the key's owner keeps it for the 10 s negative TTL, not a day, then fetches it
    # again and its security-headers (origin-response) runs again
    simulation = Simulation(topology, SimOptions(duration=1.0))
    functions, edge = simulation.functions, simulation.nodes["edge-lon"]
    assert functions is not None and edge.owner_of is not None
    n = next(n for n in range(1, 100) if edge.owner_of.of_path(f"/b/obj/{n}") is not edge)
    owner = edge.owner_of.of_path(f"/b/obj/{n}")
    headers = functions.by_pop[owner.node.name]["security-headers"]

    def user_request(t: float) -> int:
        return functions.serve(edge, f"/obj/{n}", n, 1000, t, False, False)[1]

    assert user_request(0.0) == MISS
    assert user_request(9.0) == HIT
    assert headers.invocations == 1
    assert user_request(11.0) != HIT  # past the 404's lifetime: fetched again
    assert headers.invocations == 2
    assert functions.missing  # /b/obj/N: a URI the origin serves nothing at


def test_viewer_response_does_not_run_for_answers_whose_origin_status_is_4xx_or_5xx(
    topology: Topology,
) -> None:
    # a function on viewer-response at every edge: edge-lon's users all get a 4xx/5xx
    # (ab-cookie's /b/obj/N: maintenance's 503 where edge-lon owns it, the origin's 404
    # elsewhere), so it never runs there; at edge-par it runs for the 200s only
    stamp = FunctionSpec("stamp", "stamp.py", duration=0.000001, init_duration=0.0)
    settings = dataclasses.replace(
        topology.edge_settings,
        functions=(*topology.edge_settings.functions, (Trigger.VIEWER_RESPONSE, "stamp")),
    )
    on_viewer_response = dataclasses.replace(
        topology, functions=(*topology.functions, stamp), edge_settings=settings
    )
    report = Simulation(on_viewer_response, SimOptions(duration=5.0)).run().report
    assert by_pop(report, "edge-lon")["stamp"] == 0
    par = by_pop(report, "edge-par")
    assert 0 < par["stamp"] < par["rewrite-redirect"]  # not for the 503s of edge-lon's keys
