"""cdn.latency: the user <-> edge leg both the simulator and the load generator charge."""

from __future__ import annotations

from cdn.latency import LatencyModel
from cdn.topology import Network
from sim.latency import LatencyModel as SimLatencyModel


def test_the_simulator_uses_the_cores_model() -> None:
    assert SimLatencyModel is LatencyModel


def test_a_new_connection_pays_tcp_and_tls_round_trips_before_the_request() -> None:
    model = LatencyModel(tls=True)
    assert model.to_edge(0.01, False) == 0.01
    assert model.to_edge(0.01, True) == 0.01 + 2 * 2 * 0.01
    assert LatencyModel(tls=False).to_edge(0.01, True) == 0.01 + 2 * 0.01


def test_the_way_back_carries_the_transfer_at_the_narrowest_link() -> None:
    model = LatencyModel.from_network(
        Network(client_bandwidth_mbps=100.0, backbone_bandwidth_mbps=10.0)
    )
    assert model.from_edge(0.01, 125_000, False) == 0.01 + 0.01  # 1 Mbit at 100 Mbit/s
    assert model.from_edge(0.01, 125_000, True) == 0.01 + 0.1  # streamed at 10 Mbit/s
