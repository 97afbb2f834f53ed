"""demo.calibrate: the wake-up time measured on the live cluster before the load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from cdn.latency import LatencyModel
from cdn.topology import load_topology
from demo.calibrate import calibrate, probe_targets, with_wakeup

THREE_CONTINENTS = Path(__file__).resolve().parents[2] / "configs" / "three-continents.toml"


@pytest.fixture(scope="module")
def topology():
    return load_topology(THREE_CONTINENTS)


class Answers(BaseHTTPRequestHandler):
    """A keep-alive HTTP/1.1 server answering every GET with ``status`` and a small body."""

    protocol_version = "HTTP/1.1"
    status = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def serve(status: int) -> Iterator[tuple[str, list[str]]]:
    handler = type("Handler", (Answers,), {"status": status, "paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.paths
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def answering() -> Iterator[tuple[str, list[str]]]:
    yield from serve(200)


@pytest.fixture
def refusing() -> Iterator[tuple[str, list[str]]]:
    yield from serve(403)


def test_a_probe_of_a_cache_is_charged_every_round_trip_up_to_the_origin(topology) -> None:
    model = LatencyModel.from_network(topology.network)
    by_name = {t.node.name: t for t in probe_targets(topology)}
    lon, fra, ash = (topology.node(n).location.point for n in ("edge-lon", "shield-fra", "origin"))
    assert by_name["origin"].charged == pytest.approx(model.origin_service)
    assert by_name["edge-lon"].charged == pytest.approx(
        model.rtt(lon, fra) + model.rtt(fra, ash) + model.origin_service
    )


def test_a_probe_counts_the_wakeups_of_its_path(topology) -> None:
    wakeups = {t.node.name: t.wakeups for t in probe_targets(topology)}
    assert wakeups == {"origin": 3, "shield-fra": 6, "edge-lon": 9, "edge-nyc": 6, "edge-sin": 6}


def test_probes_ask_for_uncacheable_objects_outside_the_catalog(topology, answering) -> None:
    url, paths = answering
    calibrate(topology, {n.name: url for n in topology.nodes}, rounds=2, gap=0.0)
    ids = [int(p.split("/obj/")[1].split("?")[0]) for p in paths]
    assert min(ids) > topology.workload.objects
    assert all(p.endswith("?cc=no-store") for p in paths)


def test_every_round_after_the_first_gives_one_probe_per_node(topology, answering) -> None:
    url, _ = answering
    found = calibrate(topology, {n.name: url for n in topology.nodes}, rounds=3, gap=0.0)
    assert found.probes == 2 * len(topology.nodes)
    assert found.wakeup is not None and found.wakeup >= 0.0


def test_a_probe_that_is_not_answered_200_leaves_the_wakeup_unmeasured(topology, refusing):
    url, _ = refusing
    found = calibrate(topology, {n.name: url for n in topology.nodes}, rounds=2, gap=0.0)
    assert found.wakeup is None
    assert "answered 403, expected 200" in found.note


def test_fewer_than_two_rounds_are_refused(topology) -> None:
    with pytest.raises(ValueError, match="rounds 1 < 2"):
        calibrate(topology, {}, rounds=1)


def test_the_measured_wakeup_goes_to_the_networks_milliseconds(topology) -> None:
    assert with_wakeup(topology, 0.0015).network.wakeup_ms == pytest.approx(1.5)
