"""demo.calibrate: the live path's overheads measured on the cluster before the load."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from cdn.latency import LatencyModel, Overheads
from cdn.ring import HashRing, peer_key
from cdn.topology import Topology, load_topology
from demo.calibrate import PROBE_SIZE, PROBE_TTL, calibrate, probe_targets, with_overheads

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
        for name, value in self.cache_headers():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def cache_headers(self) -> list[tuple[str, str]]:
        return []

    def log_message(self, *args: object) -> None:
        pass


def serve(status: int, handler: type[Answers] = Answers) -> Iterator[tuple[str, list[str]]]:
    handler = type("Handler", (handler,), {"status": status, "paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.paths
    finally:
        server.shutdown()
        server.server_close()


class FakeCluster:
    """One server per node of ``topology``, answering Cache-Status as the live nodes would: a
    node that stored the path answers a hit, an edge asked for a key a peer owns and stored
    answers the peer's hit (peer-owned), an edge or shield whose upstream stored it answers
    that hit; anything else is a miss through to the origin, stored on the way."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.stored: dict[str, set[str]] = {node.name: set() for node in topology.nodes}
        origin = topology.origin
        self.site = f"{origin.host}:{origin.port}"

    def answer(self, name: str, path: str) -> list[tuple[str, str]]:
        topology, stored = self.topology, self.stored
        node = topology.node(name)
        if node.role == "origin":
            return []
        if path in stored[name]:
            return [("Cache-Status", f"cdnlab-{name}; hit")]
        peers = [peer.name for peer in topology.peers_of(node)]
        if len(peers) > 1:
            owner = HashRing(peers).owner(peer_key(self.site, path))
            if owner != name:
                inner = self.answer(owner, path)[0][1]
                return [("Cache-Status", f"{inner}, cdnlab-{name}; fwd=miss; detail=peer-owned")]
        stored[name].add(path)
        upstream = topology.upstream_of(node)
        if upstream is None or upstream.role == "origin":
            return [("Cache-Status", f"cdnlab-{name}; fwd=miss; stored")]
        inner = self.answer(upstream.name, path)[0][1]
        return [("Cache-Status", f"{inner}, cdnlab-{name}; fwd=miss; stored")]

    def handler(self, name: str) -> type[Answers]:
        cluster = self

        class NodeAnswers(Answers):
            def cache_headers(self) -> list[tuple[str, str]]:
                return cluster.answer(name, self.path)

        return NodeAnswers


@contextlib.contextmanager
def fake_cluster(topology: Topology) -> Iterator[tuple[dict[str, str], dict[str, list[str]]]]:
    """Start a FakeCluster: (node name -> URL, node name -> paths it was asked for)."""
    cluster = FakeCluster(topology)
    with contextlib.ExitStack() as stack:
        urls, paths = {}, {}
        for node in topology.nodes:
            served = serve(200, cluster.handler(node.name))
            urls[node.name], paths[node.name] = next(served)
            stack.callback(lambda served=served: next(served, None))
        yield urls, paths


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


def test_probes_ask_for_small_cacheable_objects_outside_the_catalog(topology) -> None:
    with fake_cluster(topology) as (urls, paths):
        calibrate(topology, urls, rounds=2, gap=0.0, spin=0.0)
    asked = [path for name in paths for path in paths[name]]
    ids = [int(p.split("/obj/")[1].split("?")[0]) for p in asked]
    assert min(ids) > topology.workload.objects
    caches = [p for name in paths if name != "origin" for p in paths[name]]
    assert all(p.endswith(f"?cc=public,max-age={PROBE_TTL}&size={PROBE_SIZE}") for p in caches)


def test_each_kind_of_probe_is_counted_on_three_continents(topology) -> None:
    # Per kept round: edge-lon a shield miss, a shield hit, a hit and a miss through the shield;
    # nyc and sin a miss and a hit.
    with fake_cluster(topology) as (urls, _):
        found = calibrate(topology, urls, rounds=3, gap=0.0, spin=0.0)
    assert found.overheads is not None
    assert "6 edge hits, 2 peer or shield hits, 8 misses, 2 origin probes" in found.note
    assert "dropped" not in found.note


def test_edges_of_a_peer_group_get_peer_hit_probes() -> None:
    # local.toml: three sharded edges behind a shield; per edge and kept round a peer hit and a
    # shield hit (the cached probes) and two misses (one through the owner peer).
    local = load_topology(CONFIGS / "local.toml")
    with fake_cluster(local) as (urls, _):
        found = calibrate(local, urls, rounds=2, gap=0.0, spin=0.0)
    assert "3 edge hits, 6 peer or shield hits, 6 misses, 1 origin probes" in found.note


def test_a_probe_whose_path_is_not_the_intended_one_is_dropped(topology, answering) -> None:
    # A server that answers no Cache-Status: no probe's path can be checked.
    url, _ = answering
    found = calibrate(topology, {n.name: url for n in topology.nodes}, rounds=2, gap=0.0)
    assert found.overheads is None
    assert "no take-up probe" in found.note


def test_the_calibration_waits_the_gap_before_each_probe(topology) -> None:
    pauses: list[float] = []
    with fake_cluster(topology) as (urls, paths):
        calibrate(topology, urls, rounds=2, gap=0.01, spin=0.0, pause=pauses.append)
    assert pauses == [0.01] * sum(len(p) for p in paths.values())


def test_a_probe_that_is_not_answered_200_leaves_the_wakeup_unmeasured(topology, refusing):
    url, _ = refusing
    found = calibrate(topology, {n.name: url for n in topology.nodes}, rounds=2, gap=0.0)
    assert found.overheads is None
    assert "answered 403, expected 200" in found.note


def test_fewer_than_two_rounds_are_refused(topology) -> None:
    with pytest.raises(ValueError, match="rounds 1 < 2"):
        calibrate(topology, {}, rounds=1)


def test_the_measured_overheads_go_to_the_networks_milliseconds(topology) -> None:
    network = with_overheads(topology, Overheads(0.0015, 0.006, 0.002, 0.003, 0.004)).network
    found = (
        network.wakeup_ms,
        network.fetch_overhead_ms,
        network.origin_overhead_ms,
        network.cached_fetch_overhead_ms,
        network.relay_fetch_overhead_ms,
    )
    assert found == pytest.approx((1.5, 6.0, 2.0, 3.0, 4.0))
