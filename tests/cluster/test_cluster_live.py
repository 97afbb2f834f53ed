"""The whole local CDN under `cdn up`: tiers and sharding, cluster purge, Prometheus, failures, stop.

One `cdn up` of configs/local.toml (copied onto free ports) serves the module. Tests run in file
order and the last two are destructive: one SIGKILLs a peer edge, the last SIGTERMs `cdn up`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from cluster_support import ROOT, UpProcess, cdn_subcommands, cdn_up, pids_alive, wait_until
from prometheus_client.parser import text_string_to_metric_families

from cdn.topology import Topology, load_topology
from cluster.ports import port_is_free
from cluster.prometheus import find_prometheus
from cluster.relocate import relocate_topology
from cluster.state import RunState

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        "edge" not in cdn_subcommands(),
        reason="`cdn edge` does not exist yet (cli/commands/edge.py); the live cluster needs it",
    ),
]

HAS_PROMETHEUS = find_prometheus() is not None
HIT_STATUSES = ("hit", "stale", "revalidated", "collapsed")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Live:
    """The running cluster of this module."""

    def __init__(self, up: UpProcess, state: RunState, topology: Topology) -> None:
        self.up = up
        self.state = state
        self.topology = topology

    def edge_url(self, name: str) -> str:
        return self.topology.node(name).url

    def origin_fetches(self, path: str) -> int:
        return origin_stats(self.topology.origin.url)["paths"].get(path, 0)


def get(url: str, timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``: status, headers (lower-case names), body."""
    try:
        with OPENER.open(url, timeout=timeout) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def origin_stats(origin_url: str) -> dict:
    status, _, body = get(origin_url + "/_cdn/stats")
    assert status == 200
    return json.loads(body)


def cache_status_hits(value: str) -> list[str]:
    """Entries of a Cache-Status header (RFC 9211) that report a hit."""
    hits = []
    for entry in value.split(","):
        params = [p.strip() for p in entry.split(";")[1:]]
        if "hit" in params:
            hits.append(entry.strip())
    return hits


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Live:
    base = tmp_path_factory.mktemp("cluster")
    topology_file = relocate_topology(ROOT / "configs" / "local.toml", base)
    extra = ["--prometheus", "--scrape-interval", "1"] if HAS_PROMETHEUS else ["--no-prometheus"]
    with cdn_up(topology_file, base / "state", *extra) as up:
        state = up.wait_started(timeout=120)
        yield Live(up, state, load_topology(topology_file))


def test_cdn_up_publishes_every_node_and_prints_the_table(live: Live) -> None:
    names = [node.name for node in live.topology.nodes]
    assert [node.name for node in live.state.nodes] == names
    assert wait_until(lambda: "Ctrl-C" in live.up.output(), 10)
    for node in live.topology.nodes:
        assert node.url in live.up.output()
        status, _, _ = get(node.url + "/_cdn/health")
        assert status == 200


def test_same_object_through_two_edges_is_fetched_from_the_origin_once(live: Live) -> None:
    path = "/obj/101"
    assert live.origin_fetches(path) == 0
    status_par, _, body_par = get(live.edge_url("edge-par") + path)
    status_lon, _, body_lon = get(live.edge_url("edge-lon") + path)
    assert (status_par, status_lon) == (200, 200)
    assert body_par == body_lon
    assert live.origin_fetches(path) == 1


def test_purge_by_tag_makes_every_node_miss(live: Live) -> None:
    paths = [f"/obj/{i}" for i in range(300, 312)]
    edges = [edge.name for edge in live.topology.edges]
    for i, path in enumerate(paths):
        assert get(live.edge_url(edges[i % len(edges)]) + path)[0] == 200
    # Warm: each object asked again through another edge is served from some tier's cache.
    for i, path in enumerate(paths):
        status, headers, _ = get(live.edge_url(edges[(i + 1) % len(edges)]) + path)
        assert status == 200
        assert cache_status_hits(headers.get("cache-status", "")), headers
    before = {path: live.origin_fetches(path) for path in paths}
    assert set(before.values()) == {1}

    env = dict(os.environ, CDNLAB_STATE_DIR=str(live.up.state_dir))
    env.pop("CDNLAB_ADMIN_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "purge", "--topology", str(live.up.topology),
         "--tag", "catalog", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {n["node"] for n in report["nodes"]} == {c.name for c in live.topology.caches}
    assert all(n["confirmed"] for n in report["nodes"])

    for i, path in enumerate(paths):
        status, headers, _ = get(live.edge_url(edges[(i + 2) % len(edges)]) + path)
        assert status == 200
        assert headers.get("x-cache", "").upper().startswith("MISS"), headers
        assert cache_status_hits(headers.get("cache-status", "")) == [], headers
        assert live.origin_fetches(path) == before[path] + 1


def _direct_hit_ratio(url: str) -> float | None:
    _, _, body = get(url + "/_cdn/metrics")
    total = hits = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "cdnlab_edge_requests_total":
                total += sample.value
                if sample.labels.get("cache_status") in HIT_STATUSES:
                    hits += sample.value
    return None if total == 0 else hits / total


def _prometheus_hit_ratios(prometheus_url: str) -> dict[str, float]:
    statuses = "|".join(HIT_STATUSES)
    query = (
        f'sum by (node) (cdnlab_edge_requests_total{{role="edge",cache_status=~"{statuses}"}})'
        ' / sum by (node) (cdnlab_edge_requests_total{role="edge"})'
    )
    url = prometheus_url + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    status, _, body = get(url)
    assert status == 200, body
    answer = json.loads(body)
    assert answer["status"] == "success"
    return {r["metric"]["node"]: float(r["value"][1]) for r in answer["data"]["result"]}


@pytest.mark.skipif(
    not HAS_PROMETHEUS, reason="no `prometheus` binary (apt-get install prometheus)"
)
def test_prometheus_reads_back_each_edges_hit_ratio(live: Live) -> None:
    assert live.state.prometheus_url, "cdn up --prometheus published no Prometheus URL"
    edges = [edge.name for edge in live.topology.edges]
    for edge in edges:
        for _ in range(3):
            assert get(live.edge_url(edge) + "/obj/7")[0] == 200
    expected: dict[str, float | None] = {}
    seen: dict[str, float] = {}

    def matches() -> bool:
        expected.update({e: _direct_hit_ratio(live.edge_url(e)) for e in edges})
        seen.clear()
        seen.update(_prometheus_hit_ratios(live.state.prometheus_url))
        return all(
            e in seen and expected[e] is not None and abs(seen[e] - expected[e]) < 1e-9
            for e in edges
        )

    assert wait_until(matches, timeout=45, interval=1.0), (expected, seen)
    assert all(0.0 <= seen[e] <= 1.0 for e in edges)


def test_requests_still_succeed_when_a_peer_is_killed(live: Live) -> None:
    victim = live.state.node("edge-ams")
    os.kill(victim.pid, signal.SIGKILL)
    assert wait_until(lambda: not pids_alive([victim.pid]), 10)
    survivors = ["edge-par", "edge-lon"]
    for i in range(500, 530):  # about a third of these keys belong to edge-ams on the ring
        status, _, body = get(live.edge_url(survivors[i % 2]) + f"/obj/{i}")
        assert status == 200 and body, f"/obj/{i} via {survivors[i % 2]}"
    assert wait_until(lambda: "edge-ams exited" in live.up.output(), 10), live.up.output()

    env = dict(os.environ, CDNLAB_STATE_DIR=str(live.up.state_dir))
    env.pop("CDNLAB_ADMIN_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "purge", "--topology", str(live.up.topology),
         "/obj/500", "--json", "--timeout", "5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, "a purge a node did not confirm must fail"
    failed = [n["node"] for n in json.loads(result.stdout)["nodes"] if not n["confirmed"]]
    assert failed == ["edge-ams"]


def test_sigterm_stops_every_node_and_frees_the_ports(live: Live) -> None:
    pids = [node.pid for node in live.state.nodes]
    code = live.up.stop(timeout=60)
    assert code == 0, live.up.output()
    assert pids_alive(pids) == []
    for node in live.topology.nodes:
        assert port_is_free(node.host, node.port), f"{node.name}'s port {node.port} is still bound"
    assert live.up.state() is None, "the run-state file outlived the cluster"
    if live.state.prometheus_url:
        port = int(live.state.prometheus_url.rsplit(":", 1)[1])
        assert port_is_free("127.0.0.1", port)
    assert re.search(r"stopped", live.up.output())


def test_the_cluster_api_starts_and_stops(tmp_path: Path) -> None:
    from cluster.launcher import Cluster

    topology_file = relocate_topology(ROOT / "configs" / "local.toml", tmp_path)
    with Cluster(topology_file, state_dir=tmp_path, token="api-token") as cluster:
        pids = list(cluster.pids.values())
        assert set(cluster.urls) == {n.name for n in cluster.topology.nodes}
        assert get(cluster.urls["edge-par"] + "/obj/1")[0] == 200
        assert cluster.state_path is not None and cluster.state_path.exists()
    assert pids_alive(pids) == []
    assert not cluster.state_path.exists()
