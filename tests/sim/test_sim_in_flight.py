"""Requests for a key whose fetch is in flight wait for it, however the fetched entry fares.

A template fill is its own in-flight record in the store (sim.node); these drive one node
directly (a real Simulation's nodes, no mocks) through the cases where that record is not in the
store: evicted or purged before the response arrives, or never admitted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_scenarios import write_scenario

from cdn.topology import load_topology
from sim.model import SimOptions, Simulation
from sim.node import CacheNodeSim
from sim.outcomes import COLLAPSED, HIT, MISS, REVALIDATED

KiB = 1024


@pytest.fixture
def edge(tmp_path: Path) -> CacheNodeSim:
    """edge-nyc of the small scenario: a 1 MiB LRU fetching straight from the origin."""
    simulation = Simulation(load_topology(write_scenario(tmp_path)), SimOptions(requests=1))
    node = simulation.nodes["edge-nyc"]
    assert node.cache.template is not None and node.cache.store.policy_name == "lru"
    return node


def _get(edge: CacheNodeSim, obj: int, size: int, t: float) -> tuple[float, int]:
    done, code, _, _ = edge.serve(f"/obj/{obj}", obj, size, t, False, False)
    return done, code


def test_a_request_during_the_fetch_is_collapsed(edge: CacheNodeSim) -> None:
    done, code = _get(edge, 1, 10 * KiB, 100.0)
    assert code == MISS and done > 100.01
    assert _get(edge, 1, 10 * KiB, 100.001) == (done, COLLAPSED)
    assert _get(edge, 1, 10 * KiB, done + 1.0)[1] == HIT


def test_the_fetch_is_followed_after_its_entry_is_evicted(edge: CacheNodeSim) -> None:
    done, _ = _get(edge, 1, 10 * KiB, 100.0)
    for obj in range(2, 8):  # 6 x 200 KiB through a 1 MiB LRU: /obj/1 is evicted
        _get(edge, obj, 200 * KiB, 100.0005)
    assert edge.cache.store.get("/obj/1") is None
    assert _get(edge, 1, 10 * KiB, 100.001) == (done, COLLAPSED)
    assert _get(edge, 1, 10 * KiB, done + 1.0)[1] == MISS  # arrived, but no longer stored


@pytest.mark.parametrize("purge", ["key", "prefix", "tag"])
def test_the_fetch_is_followed_after_a_hard_purge(edge: CacheNodeSim, purge: str) -> None:
    done, _ = _get(edge, 1, 10 * KiB, 100.0)
    store = edge.cache.store
    if purge == "key":
        store.purge_key("/obj/1")
    elif purge == "prefix":
        store.purge_prefix("/obj/")
    else:
        store.purge_tag("obj-1")
    assert store.get("/obj/1") is None
    assert _get(edge, 1, 10 * KiB, 100.001) == (done, COLLAPSED)


def test_the_fetch_of_an_object_too_large_to_store_is_followed(edge: CacheNodeSim) -> None:
    done, code = _get(edge, 1, 2048 * KiB, 100.0)
    assert code == MISS and edge.cache.store.get("/obj/1") is None
    assert _get(edge, 1, 2048 * KiB, 100.001) == (done, COLLAPSED)
    assert _get(edge, 1, 2048 * KiB, done + 1.0)[1] == MISS


def test_what_the_store_let_go_is_forgotten_once_its_fetch_arrived(edge: CacheNodeSim) -> None:
    done, _ = _get(edge, 1, 10 * KiB, 100.0)
    for obj in range(2, 8):
        _get(edge, obj, 200 * KiB, 100.0005)
    assert "/obj/1" in edge.gone
    edge.sweep(done + 0.5)  # the end of a batch: memory for in-flight leads only
    assert "/obj/1" not in edge.gone and "/obj/1" not in edge.leaders


@pytest.mark.parametrize("exact", [False, True], ids=["templates", "absorb-every-time"])
def test_a_revalidated_entry_keeps_its_own_surrogate_keys(tmp_path: Path, exact: bool) -> None:
    scenario = write_scenario(tmp_path, "public, max-age=5")
    simulation = Simulation(load_topology(scenario), SimOptions(requests=1, exact_http=exact))
    edge = simulation.nodes["edge-nyc"]
    done, _ = _get(edge, 7, 10 * KiB, 100.0)
    assert _get(edge, 7, 10 * KiB, done + 30.0)[1] == REVALIDATED
    store = edge.cache.store
    assert store.get("/obj/7").surrogate_keys == {"catalog", "obj-7"}
    assert store.purge_tag("obj-7") == 1 and store.get("/obj/7") is None
