"""Latency terms: propagation near zero at the PoP, ~100 ms at the antipode, M/M/1 queueing."""

from __future__ import annotations

import math
import random

import pytest
from sim_scenarios import write_scenario

from cdn.geo import Point
from cdn.topology import load_topology
from sim.latency import LatencyModel
from sim.model import SimOptions, Simulation
from sim.queueing import ServerQueue


def test_user_at_the_pops_location_sees_no_propagation() -> None:
    paris = Point(48.8566, 2.3522)
    assert LatencyModel(route_inflation=1.5).one_way(paris, paris) == 0.0


def test_antipode_is_about_100ms_one_way_before_inflation() -> None:
    one_way = LatencyModel(route_inflation=1.0).one_way(Point(0.0, 0.0), Point(0.0, 180.0))
    assert one_way == pytest.approx(0.100, rel=0.01)


def test_route_inflation_multiplies_propagation() -> None:
    a, b = Point(0.0, 0.0), Point(0.0, 180.0)
    plain = LatencyModel(route_inflation=1.0).one_way(a, b)
    assert LatencyModel(route_inflation=1.6).one_way(a, b) == pytest.approx(1.6 * plain)


def test_transfer_time_is_size_over_bandwidth() -> None:
    model = LatencyModel(client_bandwidth_bps=8e6)
    assert model.client_transfer(1_000_000) == pytest.approx(1.0)


@pytest.mark.parametrize("utilization", [0.3, 0.6, 0.8])
def test_mm1_mean_wait_matches_theory(utilization: float) -> None:
    service_rate = 100.0
    arrival_rate = utilization * service_rate
    rng = random.Random(17)
    queue = ServerQueue(service_rate, 1, rng, bucket_width=10.0, buckets=100)
    t, total_wait, samples = 0.0, 0.0, 300_000
    for _ in range(samples):
        t += rng.expovariate(arrival_rate)
        wait, _ = queue.serve(t)
        total_wait += wait
    expected = utilization / (service_rate - arrival_rate)  # M/M/1: Wq = rho / (mu - lambda)
    assert total_wait / samples == pytest.approx(expected, rel=0.10)


def test_queueing_grows_as_utilization_approaches_one() -> None:
    waits = []
    for utilization in (0.2, 0.5, 0.8, 0.95):
        rng = random.Random(3)
        queue = ServerQueue(100.0, 1, rng)
        t, total = 0.0, 0.0
        for _ in range(50_000):
            t += rng.expovariate(utilization * 100.0)
            total += queue.serve(t)[0]
        waits.append(total)
    assert waits == sorted(waits)


def test_offered_counts_folded_per_batch_match_counting_each_arrival() -> None:
    """ServerQueue.flush buckets arrivals with numpy as int(arrival / width) would, one by one."""
    rng = random.Random(7)
    queue = ServerQueue(50.0, 2, random.Random(8), bucket_width=0.7, buckets=3)
    arrivals = sorted(rng.uniform(0.0, 20.0) for _ in range(500))
    expected: list[int] = [0] * 3
    for i, arrival in enumerate(arrivals):
        queue.serve(arrival)
        index = int(arrival / 0.7)
        if index >= len(expected):
            expected.extend([0] * (index + 1 - len(expected)))
        expected[index] += 1
        if i % 97 == 0:
            queue.flush()
    assert queue.offered == expected
    assert queue.served == len(arrivals)
    assert queue.last_arrival == max(arrivals)


def test_hits_for_users_at_their_pop_take_about_no_network_time(tmp_path) -> None:
    topology = load_topology(write_scenario(tmp_path))
    result = Simulation(topology, SimOptions(requests=4000, seed=1)).run()
    paris = result.report["regions"]["Paris"]["latency_ms"]
    # Most Paris requests are hits at edge-par or its London peer: well under an RTT to the US.
    assert paris["p50"] < 10.0
    new_york = result.report["regions"]["New York"]["latency_ms"]
    assert math.isfinite(new_york["p99"]) and new_york["p99"] > paris["p50"]
