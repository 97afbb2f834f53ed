"""cdn.latency's overheads of the live path: wake-ups, fetches and the origin beyond the model's
round trips and service time, estimated from calibration probes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn.errors import ConfigError
from cdn.geo import Point
from cdn.latency import LatencyModel, Probe, estimate_overheads, interquartile_mean
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
MS = 0.001


def test_a_take_up_is_two_wakeups() -> None:
    found = estimate_overheads([4 * MS], [Probe(24 * MS, 20 * MS, 0)], [Probe(60 * MS, 40 * MS, 1)])
    assert found.wakeup == pytest.approx(2 * MS)


def test_the_origins_overhead_is_what_its_probe_took_beyond_service_and_wakeups() -> None:
    found = estimate_overheads([4 * MS], [Probe(27 * MS, 20 * MS, 0)], [Probe(60 * MS, 40 * MS, 1)])
    assert found.origin == pytest.approx(3 * MS)


def test_a_one_fetch_miss_gives_the_fetch_from_the_origin() -> None:
    # 60 ms measured, 40 charged: 4 of wake-ups, 2 of origin, 14 for the fetch.
    found = estimate_overheads([4 * MS], [Probe(26 * MS, 20 * MS, 0)], [Probe(60 * MS, 40 * MS, 1)])
    assert found.fetch == pytest.approx(14 * MS)


def test_the_interquartile_mean_drops_a_quarter_at_each_end() -> None:
    assert interquartile_mean([100, 1, 2, 3, 4, 5, 6, 7]) == pytest.approx(4.5)


def test_the_interquartile_mean_of_fewer_than_four_is_the_median() -> None:
    assert interquartile_mean([1, 4, 100]) == 4


def test_each_component_is_the_interquartile_mean_of_its_samples() -> None:
    takeups = [1 * MS, 4 * MS, 100 * MS]
    found = estimate_overheads(takeups, [Probe(24 * MS, 20 * MS, 0)], [Probe(24 * MS, 20 * MS, 1)])
    assert found.wakeup == pytest.approx(2 * MS)


def test_a_machine_faster_than_the_model_has_no_overhead() -> None:
    found = estimate_overheads([0.0], [Probe(19 * MS, 20 * MS, 0)], [Probe(39 * MS, 40 * MS, 1)])
    assert (found.wakeup, found.fetch, found.origin) == (0.0, 0.0, 0.0)


def test_a_missing_kind_of_probe_is_an_error() -> None:
    with pytest.raises(ValueError, match="no one-fetch miss probe"):
        estimate_overheads([MS], [Probe(MS, 0.0, 0)], [])


def test_a_cached_probe_gives_the_cached_fetch_overhead_apart() -> None:
    # A peer hit: 14 ms measured, a 5 ms round trip charged, 4 of wake-ups: 5 for its fetch.
    found = estimate_overheads(
        [4 * MS],
        [Probe(26 * MS, 20 * MS, 0)],
        [Probe(60 * MS, 40 * MS, 1)],
        [Probe(14 * MS, 5 * MS, 1)],
    )
    assert (found.fetch, found.cached_fetch) == pytest.approx((14 * MS, 5 * MS))


def test_without_a_cached_probe_a_cached_fetch_costs_a_fetch() -> None:
    found = estimate_overheads([4 * MS], [Probe(26 * MS, 20 * MS, 0)], [Probe(60 * MS, 40 * MS, 1)])
    assert found.cached_fetch == found.fetch


def test_each_kind_of_fetch_is_charged_its_own_overhead_both_ways() -> None:
    model = LatencyModel(
        fetch_overhead=0.010, cached_fetch_overhead=0.004, relay_fetch_overhead=0.006
    )
    leg, rtt = model.fetch_leg(PARIS, ASHBURN), model.rtt(PARIS, ASHBURN)
    found = {a: 2 * leg + model.back_extra(a) - rtt for a in ("cached", "relayed", "origin")}
    assert found == pytest.approx({"cached": 0.004, "relayed": 0.006, "origin": 0.010})


def test_a_deeper_miss_gives_the_relay_fetch_beyond_the_fetch_from_the_origin() -> None:
    # One fetch deep: 10 ms beyond 4 of wake-ups and 2 of origin; two deep: 16, so 6 for the relay.
    found = estimate_overheads(
        [4 * MS],
        [Probe(26 * MS, 20 * MS, 0)],
        [Probe(56 * MS, 40 * MS, 1), Probe(92 * MS, 70 * MS, 2)],
    )
    assert (found.fetch, found.relay_fetch) == pytest.approx((10 * MS, 6 * MS))


def test_without_a_deeper_miss_a_relay_fetch_costs_a_fetch() -> None:
    found = estimate_overheads([4 * MS], [Probe(26 * MS, 20 * MS, 0)], [Probe(56 * MS, 40 * MS, 1)])
    assert found.relay_fetch == found.fetch


def test_a_fetch_leg_is_propagation_plus_half_the_fetch_overhead() -> None:
    model = LatencyModel(fetch_overhead=0.004)
    assert model.fetch_leg(PARIS, ASHBURN) == pytest.approx(model.one_way(PARIS, ASHBURN) + 0.002)


def test_the_origin_takes_its_service_time_plus_its_overhead() -> None:
    assert LatencyModel(origin_service=0.020, origin_overhead=0.002).origin_time == pytest.approx(
        0.022
    )


def test_the_user_leg_is_charged_two_wakeups() -> None:
    assert LatencyModel(wakeup=0.002).user_wakeups == pytest.approx(0.004)


def test_without_overheads_the_model_charges_propagation_only() -> None:
    model = LatencyModel()
    assert model.fetch_leg(PARIS, ASHBURN) == model.one_way(PARIS, ASHBURN)
    assert model.origin_time == model.origin_service
    assert model.user_wakeups == 0.0


def test_the_user_leg_the_load_generator_emulates_carries_no_overhead() -> None:
    # The live path pays its overheads itself: the load generator must not sleep them too.
    model = LatencyModel(wakeup=0.002, fetch_overhead=0.01)
    assert model.to_edge(0.01, False) == 0.01
    assert model.from_edge(0.01, 0, False) == 0.01


def test_the_network_table_sets_the_overheads_in_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    text = "wakeup_ms = 1.5\nfetch_overhead_ms = 6\norigin_overhead_ms = 2"
    text += "\ncached_fetch_overhead_ms = 3\nrelay_fetch_overhead_ms = 4"
    path.write_text(TOPOLOGY.format(network=text))
    model = LatencyModel.from_network(load_topology(path).network)
    found = (model.wakeup, model.fetch_overhead, model.origin_overhead)
    assert found == pytest.approx((0.0015, 0.006, 0.002))
    assert (model.cached_fetch, model.relay_fetch) == pytest.approx((0.003, 0.004))


def test_the_overheads_default_to_none() -> None:
    network = Network()
    assert (network.wakeup_ms, network.fetch_overhead_ms, network.origin_overhead_ms) == (0, 0, 0)


def test_a_negative_overhead_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(TOPOLOGY.format(network="fetch_overhead_ms = -1"))
    with pytest.raises(ConfigError, match="fetch_overhead_ms"):
        load_topology(path)
