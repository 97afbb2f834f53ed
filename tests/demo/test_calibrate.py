"""demo.calibrate: the live path's overheads measured on the cluster before the load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from cdn.latency import LatencyModel, Overheads
from cdn.topology import load_topology
from demo.calibrate import calibrate, probe_targets, with_overheads

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
THREE_CONTINENTS = CONFIGS / "three-continents.toml"


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


def test_a_probe_counts_the_fetches_on_its_path(topology) -> None:
    fetches = {t.node.name: t.fetches for t in probe_targets(topology)}
    assert fetches == {"origin": 0, "shield-fra": 1, "edge-lon": 2, "edge-nyc": 1, "edge-sin": 1}


def test_edges_of_a_peer_group_get_take_up_probes_only() -> None:
    # A key's owner may be a peer: a hop the probe's charge would leave out.
    objects = {t.node.name: t.objects for t in probe_targets(load_topology(CONFIGS / "local.toml"))}
    assert objects == {
        "origin": True,
        "shield-fra": True,
        "edge-par": False,
        "edge-lon": False,
        "edge-ams": False,
    }


def test_probes_ask_for_uncacheable_objects_outside_the_catalog(topology, answering) -> None:
    url, paths = answering
    calibrate(topology, {n.name: url for n in topology.nodes}, rounds=2, gap=0.0)
    objects = [p for p in paths if p.startswith("/obj/")]
    ids = [int(p.split("/obj/")[1].split("?")[0]) for p in objects]
    assert min(ids) > topology.workload.objects
    assert len(ids) == 2 * len(topology.nodes)
    assert all(p.endswith("?cc=no-store") for p in objects)


def test_each_object_probe_follows_a_take_up_probe_of_the_same_node(topology, answering) -> None:
    url, paths = answering
    calibrate(topology, {n.name: url for n in topology.nodes}, rounds=2, gap=0.0)
    assert paths[0::2] == ["/_cdn/health"] * (len(paths) // 2)


def test_every_round_after_the_first_gives_one_probe_per_node(topology, answering) -> None:
    url, _ = answering
    found = calibrate(topology, {n.name: url for n in topology.nodes}, rounds=3, gap=0.0)
    assert found.probes == 2 * 2 * len(topology.nodes)  # a take-up and an object probe each
    assert found.overheads is not None and found.overheads.wakeup >= 0.0


def test_a_probe_that_is_not_answered_200_leaves_the_wakeup_unmeasured(topology, refusing):
    url, _ = refusing
    found = calibrate(topology, {n.name: url for n in topology.nodes}, rounds=2, gap=0.0)
    assert found.overheads is None
    assert "answered 403, expected 200" in found.note


def test_fewer_than_two_rounds_are_refused(topology) -> None:
    with pytest.raises(ValueError, match="rounds 1 < 2"):
        calibrate(topology, {}, rounds=1)


def test_the_measured_overheads_go_to_the_networks_milliseconds(topology) -> None:
    network = with_overheads(topology, Overheads(0.0015, 0.006, 0.002)).network
    assert (network.wakeup_ms, network.fetch_overhead_ms, network.origin_overhead_ms) == (
        pytest.approx(1.5),
        pytest.approx(6.0),
        pytest.approx(2.0),
    )
