"""The simulator agrees with the live edge and with its docs: ring key, hits, collapsing,
utilization, warm-up, the world map's extent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_scenarios import write_scenario

from cdn.http import cache_key
from cdn.ring import HashRing, peer_key
from cdn.topology import default_topology_path, load_topology
from cli.main import main
from sim.model import SimOptions, Simulation
from sim.plots import map_extent

HIT_OUTCOMES = ("hit", "stale", "revalidated", "collapsed")  # docs/metrics.md


def test_peer_key_is_the_edges_primary_cache_key() -> None:
    assert peer_key("127.0.0.1:8100", "/obj/42") == cache_key("http", "127.0.0.1:8100", "/obj/42")


def test_simulated_owners_are_the_owners_of_the_live_cache_key() -> None:
    topology = load_topology(default_topology_path())
    simulation = Simulation(topology, SimOptions(requests=10))
    origin = topology.origin
    for name, node in simulation.nodes.items():
        if node.owner_of is None:
            continue
        ring = HashRing([p.name for p in topology.peers_of(topology.node(name))])
        for obj in range(300):
            live = cache_key("http", f"{origin.host}:{origin.port}", f"/obj/{obj}")
            assert node.owner_of(obj).node.name == ring.owner(live)


def test_hit_ratio_counts_hit_stale_revalidated_and_collapsed(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, "public, max-age=5, stale-while-revalidate=2")
    report = Simulation(load_topology(scenario), SimOptions(requests=8000, seed=1)).run().report
    outcomes = report["outcomes"]
    assert outcomes["revalidated"] > 0
    assert report["hits"] == sum(outcomes[name] for name in HIT_OUTCOMES)
    assert report["hit_ratio"] == pytest.approx(report["hits"] / report["requests"])
    for pop in report["pops"].values():
        assert pop["hits"] == sum(pop["outcomes"][name] for name in HIT_OUTCOMES)


def test_collapsing_decisions_come_from_the_core_collapser() -> None:
    simulation = Simulation(load_topology(default_topology_path()), SimOptions(requests=4000))
    report = simulation.run().report
    followers = sum(node.collapser.stats.followers for node in simulation.nodes.values())
    collapsed = sum(pop["outcomes"]["collapsed"] for pop in report["pops"].values())
    assert collapsed > 0
    assert followers == sum(node.collapsed for node in simulation.nodes.values()) >= collapsed


def test_uncacheable_responses_are_hit_for_pass_not_collapsed(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, "private")
    simulation = Simulation(load_topology(scenario), SimOptions(requests=3000, seed=1))
    report = simulation.run().report
    assert report["outcomes"]["collapsed"] == 0
    assert report["hits"] == 0
    bypassed = sum(n.collapser.stats.bypass_hit_for_pass for n in simulation.nodes.values())
    assert bypassed > 0


def test_utilization_is_offered_load_over_capacity_with_a_daily_cycle() -> None:
    """A run's length follows the cycled rate, and every bucket keeps its own interval."""
    topology = load_topology(Path(__file__).resolve().parents[2] / "configs" / "world.toml")
    simulation = Simulation(topology, SimOptions(requests=30_000))
    report = simulation.run().report
    series = report["timeseries"]
    assert sum(series["requests"]) == 30_000
    rate_at_start = simulation.stream.rate_at(0.0)  # the daily cycle's rate, not workload.rate
    assert report["duration_s"] == pytest.approx(30_000 / rate_at_start, rel=0.03)
    assert 0 < series["last_bucket_s"] <= series["bucket_s"]
    expected_len = report["duration_s"] / series["bucket_s"]
    assert len(series["requests"]) <= expected_len + 3
    edges = [pop for pop in report["pops"].values() if pop["role"] == "edge"]
    busiest = max(edges, key=lambda p: p["requests"])
    capacity = 5000.0  # every edge of world.toml
    mean = busiest["requests"] / report["duration_s"] / capacity
    assert busiest["utilization"] == pytest.approx(mean, rel=0.05)
    assert mean <= busiest["peak_utilization"] < 2.0 * mean


def test_warmup_reports_steady_state_figures(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path)
    topology = load_topology(scenario)
    plain = Simulation(topology, SimOptions(requests=6000, seed=1)).run().report
    assert plain["steady"] is None
    warm = Simulation(topology, SimOptions(requests=6000, seed=1, warmup_share=0.5)).run().report
    steady = warm["steady"]
    assert steady["requests"] == 3000
    assert steady["hit_ratio"] > warm["hit_ratio"]  # the cold start is left out
    assert steady["origin"]["requests"] < warm["origin"]["requests"]
    assert set(steady["latency_ms"]) >= {"p50", "p90", "p95", "p99"}
    by_time = Simulation(topology, SimOptions(requests=6000, seed=1, warmup=10.0)).run().report
    assert by_time["steady"]["warmup_s"] == 10.0
    assert 0 < by_time["steady"]["requests"] < 6000
    # the whole-run figures do not change with a warm-up
    assert warm["hit_ratio"] == plain["hit_ratio"] and warm["pops"] == plain["pops"]


def test_warmup_flag_rejects_a_bad_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--warmup", "soon", "--quiet"]) == 2
    assert "--warmup" in capsys.readouterr().err


def test_world_map_zooms_to_the_nodes_and_users() -> None:
    europe = [(48.9, 2.3), (51.5, -0.1), (52.4, 4.9), (50.1, 8.7)]
    west, east, south, north = map_extent(europe)
    assert -20 < west < -0.1 and 8.7 < east < 30 and 30 < south < 48.9 and 52.4 < north < 70
    world = [*europe, (1.3, 103.8), (-33.9, 151.2), (37.8, -122.4)]
    assert map_extent(world)[:2] == (-180, 180)
