"""cdn.latency's wake-ups: the time a live node takes to take up an event, charged per event."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn.errors import ConfigError
from cdn.geo import Point
from cdn.latency import LatencyModel, Probe, path_wakeups, wakeup_estimate
from cdn.topology import Network, load_topology

PARIS, ASHBURN = Point(48.86, 2.35), Point(39.04, -77.49)
TOPOLOGY = """
[origin]
name = "origin"
port = 8100
city = "Ashburn"

[[edge]]
name = "edge-par"
port = 8121
city = "Paris"
cache_size = "16MiB"

[network]
{network}
"""


def test_a_hit_wakes_the_edge_and_the_user() -> None:
    assert path_wakeups(0, origin=False) == 2


def test_each_fetch_adds_the_timer_the_upstream_and_the_answer_and_the_origin_its_timer() -> None:
    assert path_wakeups(1, origin=True) == 2 + 3 + 1
    assert path_wakeups(2, origin=True) == 2 + 3 + 3 + 1


def test_a_negative_fetch_count_is_refused() -> None:
    with pytest.raises(ValueError, match="fetches -1"):
        path_wakeups(-1, origin=False)


def test_the_estimate_is_the_median_excess_per_wakeup() -> None:
    probes = [
        Probe(measured=0.026, charged=0.020, wakeups=3),  # 2 ms per wake-up
        Probe(measured=0.050, charged=0.020, wakeups=6),  # 5 ms
        Probe(measured=0.029, charged=0.020, wakeups=9),  # 1 ms
    ]
    assert wakeup_estimate(probes) == pytest.approx(0.002)


def test_a_machine_faster_than_the_model_estimates_no_wakeup() -> None:
    assert wakeup_estimate([Probe(measured=0.019, charged=0.020, wakeups=3)]) == 0.0


def test_no_probe_with_a_wakeup_is_an_error() -> None:
    with pytest.raises(ValueError, match="no probe"):
        wakeup_estimate([])


def test_a_fetch_leg_is_propagation_plus_half_the_fetchs_wakeups() -> None:
    model = LatencyModel(wakeup=0.002)
    assert model.fetch_leg(PARIS, ASHBURN) == pytest.approx(model.one_way(PARIS, ASHBURN) + 0.003)


def test_the_origin_takes_its_service_time_plus_its_timers_wakeup() -> None:
    assert LatencyModel(origin_service=0.020, wakeup=0.002).origin_time == pytest.approx(0.022)


def test_without_wakeups_the_model_charges_propagation_only() -> None:
    model = LatencyModel()
    assert model.fetch_leg(PARIS, ASHBURN) == model.one_way(PARIS, ASHBURN)
    assert model.origin_time == model.origin_service
    assert model.user_wakeups == 0.0


def test_the_user_leg_the_load_generator_emulates_carries_no_wakeup() -> None:
    # The live path pays wake-ups itself: the load generator must not sleep them too.
    model = LatencyModel(wakeup=0.002)
    assert model.to_edge(0.01, False) == 0.01
    assert model.from_edge(0.01, 0, False) == 0.01


def test_the_network_table_sets_the_wakeup_in_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(TOPOLOGY.format(network="wakeup_ms = 1.5"))
    network = load_topology(path).network
    assert network.wakeup_ms == 1.5
    assert LatencyModel.from_network(network).wakeup == pytest.approx(0.0015)


def test_the_wakeup_defaults_to_none() -> None:
    assert Network().wakeup_ms == 0.0


def test_a_negative_wakeup_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(TOPOLOGY.format(network="wakeup_ms = -1"))
    with pytest.raises(ConfigError, match="wakeup_ms"):
        load_topology(path)
