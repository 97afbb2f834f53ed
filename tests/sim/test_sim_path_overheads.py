"""The simulator charges the live path's overheads ([network] *_ms, cdn.latency) where they fall."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from cdn.topology import Topology, load_topology
from sim.model import SimOptions, Simulation
from sim.outcomes import HIT, MISS

WAKEUP, FETCH, ORIGIN = 0.002, 0.010, 0.003
# One edge straight to the origin; capacity far above the rate so no request queues.
TOPOLOGY = """
[origin]
name = "origin"
port = 8100
city = "Ashburn"
capacity_rps = 1e9

[[edge]]
name = "edge-par"
port = 8121
city = "Paris"
cache_size = "64MiB"
capacity_rps = 1e9

[workload]
objects = 200
zipf_alpha = 0.9
rate = 50
seed = 3
size = { dist = "fixed", value = "1KiB" }

[workload.users]
source = "regions"
region = [{ name = "Paris", city = "Paris", weight = 1 }]

[network]
new_connection_share = 0.0
"""


def latencies_by_outcome(topology: Topology) -> dict[int, np.ndarray]:
    simulation = Simulation(topology, SimOptions(requests=600, seed=3))
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    simulation.on_latencies = lambda batch, latencies, codes: seen.append((latencies, codes))
    simulation.run()
    latencies = np.concatenate([lat for lat, _ in seen])
    codes = np.concatenate([code for _, code in seen])
    return {code: latencies[codes == code] for code in (HIT, MISS)}


@pytest.fixture(scope="module")
def without_and_with(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    path = Path(tmp_path_factory.mktemp("wakeups")) / "t.toml"
    path.write_text(TOPOLOGY)
    topology = load_topology(path)
    network = dataclasses.replace(
        topology.network,
        wakeup_ms=WAKEUP * 1000,
        fetch_overhead_ms=FETCH * 1000,
        origin_overhead_ms=ORIGIN * 1000,
    )
    woken = dataclasses.replace(topology, network=network)
    return latencies_by_outcome(topology), latencies_by_outcome(woken)


def test_a_hit_is_charged_the_edges_and_the_users_wakeups(without_and_with) -> None:
    without, with_ = without_and_with
    assert len(without[HIT]) == len(with_[HIT]) > 0
    assert np.median(with_[HIT]) - np.median(without[HIT]) == pytest.approx(2 * WAKEUP)


def test_a_miss_is_charged_the_wakeups_a_fetch_and_the_origin(without_and_with) -> None:
    without, with_ = without_and_with
    assert len(without[MISS]) == len(with_[MISS]) > 0
    extra = np.median(with_[MISS]) - np.median(without[MISS])
    assert extra == pytest.approx(2 * WAKEUP + FETCH + ORIGIN)


CACHED, RELAY = 0.004, 0.006
# An edge too small for the catalog behind a shield that holds it all: the edge's misses are
# shield hits (a fetch answered from cache) or shield misses (two fetches passed on).
SHIELDED = """
[origin]
name = "origin"
port = 8100
city = "Ashburn"
capacity_rps = 1e9

[[shield]]
name = "shield-fra"
port = 8110
city = "Frankfurt am Main"
cache_size = "64MiB"
capacity_rps = 1e9

[[edge]]
name = "edge-par"
port = 8121
city = "Paris"
cache_size = "16KiB"
upstream = "shield-fra"
capacity_rps = 1e9

[workload]
objects = 100
zipf_alpha = 0.9
rate = 50
seed = 3
size = { dist = "fixed", value = "1KiB" }

[workload.users]
source = "regions"
region = [{ name = "Paris", city = "Paris", weight = 1 }]

[network]
new_connection_share = 0.0
"""


def per_request(topology: Topology) -> tuple[np.ndarray, np.ndarray]:
    simulation = Simulation(topology, SimOptions(requests=600, seed=3))
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    simulation.on_latencies = lambda batch, latencies, codes: seen.append((latencies, codes))
    simulation.run()
    return np.concatenate([lat for lat, _ in seen]), np.concatenate([c for _, c in seen])


def test_each_fetch_is_charged_by_how_it_was_answered(tmp_path: Path) -> None:
    # A shield hit: the cached fetch; a shield miss: the relay to the shield, then its fetch
    # from the origin.
    path = tmp_path / "t.toml"
    path.write_text(SHIELDED)
    topology = load_topology(path)
    network = dataclasses.replace(
        topology.network,
        wakeup_ms=WAKEUP * 1000,
        fetch_overhead_ms=FETCH * 1000,
        origin_overhead_ms=ORIGIN * 1000,
        cached_fetch_overhead_ms=CACHED * 1000,
        relay_fetch_overhead_ms=RELAY * 1000,
    )
    without, codes = per_request(topology)
    with_, same_codes = per_request(dataclasses.replace(topology, network=network))
    assert (codes == same_codes).all()
    extra = np.round((with_ - without) * 1e6).astype(int)  # µs
    assert set(extra[codes == HIT]) == {round(2 * WAKEUP * 1e6)}
    shield_hit = round((2 * WAKEUP + CACHED) * 1e6)
    through = round((2 * WAKEUP + RELAY + FETCH + ORIGIN) * 1e6)
    assert set(extra[codes == MISS]) == {shield_hit, through}
