"""`cdn load` through a real edge in front of the real origin: outcomes read from the edge's headers."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlsplit

from load_apps import ServerThread

from cdn.topology import default_topology_path, load_topology
from edge.app import create_app as create_edge
from edge.settings import EdgeSettings
from loadgen import LoadPlan, run_load_sync
from origin.app import create_app as create_origin
from origin.settings import OriginSettings


def _origin_object_fetches(origin_url: str) -> int:
    with urllib.request.urlopen(origin_url + "/_cdn/stats", timeout=5) as response:
        stats = json.load(response)
    return sum(int(n) for target, n in stats["targets"].items() if target.startswith("/obj/"))


def test_client_side_tallies_match_the_edge_and_the_origin() -> None:
    topology = load_topology(default_topology_path())
    origin = ServerThread(
        create_origin(OriginSettings.from_topology(topology, host="127.0.0.1", port=0))
    )
    origin_served = origin.start()
    edge = None
    try:
        settings = EdgeSettings(
            host="127.0.0.1",
            port=0,
            upstream_url=origin_served.url,
            site_host=urlsplit(origin_served.url).netloc,
            shutdown_timeout=2.0,
        )
        edge = ServerThread(create_edge(settings))
        edge_served = edge.start()
        plan = LoadPlan(
            topology=topology, targets=(edge_served.url,), rate=200, requests=300, objects=40
        )
        report = run_load_sync(plan)
        fetched = _origin_object_fetches(origin_served.url)
    finally:
        if edge is not None:
            edge.stop()
        origin.stop()
    stats = report.stats
    assert stats.total.errors == 0
    assert set(stats.by_cache_status) <= {"hit", "miss", "collapsed"}
    assert stats.by_cache_status["hit"].requests > 0
    assert stats.by_cache_status["miss"].requests > 0
    assert sum(t.responses for t in stats.by_cache_status.values()) == stats.total.responses
    # What the client counted as reaching the origin is what the origin served.
    assert stats.total.origin_requests == fetched
