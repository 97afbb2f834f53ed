"""`cdn up` with a storage origin: it starts `cdn storage`, and a write purges the edges."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from storage_support import client

from cdn.topology import load_topology
from cluster.launcher import Cluster
from cluster.plan import plan_launches


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _topology(folder: Path) -> Path:
    origin, shield, edge = _free_ports(3)
    path = folder / "bucket-cdn.toml"
    path.write_text(
        f"""
name = "bucket-cdn"
[origin]
name = "bucket"
kind = "storage"
data = "buckets"
public_read = ["site"]
port = {origin}
city = "Ashburn"
[[shield]]
name = "shield"
port = {shield}
city = "Frankfurt am Main"
cache_size = "8MiB"
[[edge]]
name = "edge"
port = {edge}
city = "Paris"
cache_size = "8MiB"
upstream = "shield"
"""
    )
    return path


def test_a_storage_origin_is_launched_as_cdn_storage_with_every_cache_as_purge_target(tmp_path):
    path = _topology(tmp_path)
    topology = load_topology(path)
    origin_launch = plan_launches(topology, path)[0][0]
    argv = origin_launch.argv
    assert argv[argv.index("cli.main") + 1] == "storage"
    assert str(tmp_path / "buckets") in argv
    targets = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--purge-target"]
    assert targets == [f"shield={topology.shields[0].url}", f"edge={topology.edges[0].url}"]


def test_a_topology_without_data_for_a_storage_origin_is_refused(tmp_path):
    from cdn.errors import ConfigError

    path = tmp_path / "t.toml"
    path.write_text(
        '[origin]\nname = "o"\nkind = "storage"\ncity = "Paris"\n[[edge]]\nname = "e"\ncity = "Paris"\n'
    )
    with pytest.raises(ConfigError, match="data"):
        load_topology(path)


def _get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.headers.get("X-Cache", ""), answer.read()


@pytest.mark.slow
def test_cdn_up_serves_a_bucket_through_the_edges_and_purges_on_write(tmp_path):
    path = _topology(tmp_path)
    with Cluster(path, write_state=False, prometheus=False, health_timeout=90) as cluster:
        storage_url = cluster.urls["bucket"]
        edge_url = cluster.urls["edge"]
        s3 = client(storage_url)
        s3.create_bucket(Bucket="site")
        s3.put_object(Bucket="site", Key="index.html", Body=b"v1", CacheControl="max-age=3600")
        assert _get(edge_url + "/site/index.html") == ("MISS", b"v1")
        assert _get(edge_url + "/site/index.html") == ("HIT", b"v1")
        s3.put_object(Bucket="site", Key="index.html", Body=b"v2", CacheControl="max-age=3600")
        deadline = time.monotonic() + 15
        while True:
            with urllib.request.urlopen(storage_url + "/_cdn/health", timeout=5) as answer:
                if json.loads(answer.read())["pending_purges"] == 0:
                    break
            assert time.monotonic() < deadline, "purges still pending"
            time.sleep(0.05)
        assert _get(edge_url + "/site/index.html")[1] == b"v2"
