"""The origin sleeps network.origin_service_ms per request when the topology emulates latency."""

from __future__ import annotations

import dataclasses
import time
import urllib.request

from load_apps import ServerThread

from cdn.topology import default_topology_path, load_topology
from origin.app import create_app as create_origin
from origin.settings import OriginSettings


def _topology(emulate: bool):
    topology = load_topology(default_topology_path())
    network = dataclasses.replace(topology.network, emulate_latency=emulate, origin_service_ms=50)
    return dataclasses.replace(topology, network=network)


def test_the_service_time_comes_from_the_topology_only_when_latency_is_emulated() -> None:
    assert OriginSettings.from_topology(_topology(True)).service_time == 0.05
    assert OriginSettings.from_topology(_topology(False)).service_time == 0.0


def test_an_object_takes_at_least_the_service_time_and_admin_routes_do_not() -> None:
    settings = OriginSettings.from_topology(_topology(True), host="127.0.0.1", port=0)
    origin = ServerThread(create_origin(settings))
    served = origin.start()
    try:
        started = time.perf_counter()
        with urllib.request.urlopen(served.url + "/obj/1", timeout=5) as response:
            response.read()
        assert time.perf_counter() - started >= 0.05
        with urllib.request.urlopen(served.url + "/_cdn/stats", timeout=5) as response:
            assert response.status == 200
    finally:
        origin.stop()
