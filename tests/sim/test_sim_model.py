"""Behaviour of the geographic model: tiers, peers, collapsing, purges, routing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_scenarios import write_scenario

from cdn.topology import default_topology_path, load_topology
from sim.model import SimOptions, Simulation
from sim.purges import Purge, parse_purge


@pytest.fixture
def small_scenario(tmp_path: Path) -> Path:
    """The small three-edge scenario with a one-hour max-age."""
    return write_scenario(tmp_path)


def _run(scenario: Path, **options) -> dict:
    return Simulation(load_topology(scenario), SimOptions(**options)).run().report


def test_every_request_is_accounted_once(small_scenario: Path) -> None:
    report = _run(small_scenario, requests=3000, seed=1)
    assert sum(report["outcomes"].values()) == 3000
    assert sum(region["requests"] for region in report["regions"].values()) == 3000
    edges = [pop for pop in report["pops"].values() if pop["role"] == "edge"]
    entered = sum(p["requests"] for p in edges) - sum(p["forwarded_to_peer"] for p in edges)
    assert entered == 3000


def test_shared_group_sends_non_owned_keys_to_the_owner_peer(small_scenario: Path) -> None:
    report = _run(small_scenario, requests=3000, seed=1)
    assert report["pops"]["edge-par"]["forwarded_to_peer"] > 0
    assert report["pops"]["edge-nyc"]["forwarded_to_peer"] == 0


def test_origin_sees_only_misses_of_the_last_tier(small_scenario: Path) -> None:
    report = _run(small_scenario, requests=5000, seed=1)
    shield = report["pops"]["shield-fra"]
    nyc = report["pops"]["edge-nyc"]
    assert report["origin"]["requests"] == shield["upstream_requests"] + nyc["upstream_requests"]
    assert 0 < report["origin_offload"] < 1


def test_short_max_age_causes_revalidations(tmp_path: Path) -> None:
    report = _run(write_scenario(tmp_path, "public, max-age=5"), requests=8000, seed=1)
    assert report["outcomes"]["revalidated"] > 0


def test_stale_while_revalidate_serves_stale(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, "public, max-age=5, stale-while-revalidate=30")
    report = _run(scenario, requests=8000, seed=1)
    assert report["outcomes"]["stale"] > 0


def test_a_rule_with_vary_caches_the_one_variant_the_users_ask_for(small_scenario: Path) -> None:
    # The simulated requests send no Accept-Encoding, so every request selects the same variant:
    # the caching (through decide's Vary matching instead of the template shortcut) is the same.
    plain = _run(small_scenario, requests=3000, seed=1)
    varied = _run(
        write_scenario(small_scenario.parent, rule_extra='vary = "Accept-Encoding"\n'),
        requests=3000,
        seed=1,
    )
    assert varied["outcomes"] == plain["outcomes"]
    assert varied["hit_ratio"] == plain["hit_ratio"] > 0.3


def test_a_purge_of_the_catalog_tag_costs_hits(small_scenario: Path) -> None:
    plain = _run(small_scenario, duration=40.0, seed=1)
    purged = _run(
        small_scenario, duration=40.0, seed=1, purges=(Purge(at=20.0, kind="tag", value="catalog"),)
    )
    assert purged["origin"]["requests"] > plain["origin"]["requests"]
    assert purged["hit_ratio"] < plain["hit_ratio"]


def test_concurrent_misses_are_collapsed() -> None:
    report = _run(default_topology_path(), requests=4000, seed=1)
    assert report["outcomes"]["collapsed"] > 0


@pytest.mark.parametrize("routing", ["latency", "overflow"])
def test_other_routings_run(small_scenario: Path, routing: str) -> None:
    report = _run(small_scenario, requests=2000, seed=1, routing=routing)
    assert report["requests"] == 2000 and report["routing"] == routing


def test_purge_spec_parsing() -> None:
    assert parse_purge("300:tag=catalog") == Purge(300.0, "tag", "catalog")
    assert parse_purge("5m:prefix=/obj/:soft") == Purge(300.0, "prefix", "/obj/", soft=True)
    with pytest.raises(ValueError, match="expected"):
        parse_purge("soon:tag=x")
