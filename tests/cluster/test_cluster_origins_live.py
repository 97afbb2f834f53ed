"""`cdn up` of a topology with two ``[[origin]]``s in an origin group: both run, and when the
primary is killed a GET is answered by the secondary, which Cache-Status names."""

from __future__ import annotations

import signal
import time
import urllib.error
import urllib.request

import pytest
from cluster_support import cdn_subcommands

from cluster.launcher import Cluster
from cluster.ports import free_ports

pytestmark = pytest.mark.skipif(
    "edge" not in cdn_subcommands(), reason="the live cluster needs `cdn edge`"
)

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

TOPOLOGY = """
name = "two-origins-{a}"

[[origin]]
name = "origin-a"
port = {a}
city = "Ashburn"

[[origin]]
name = "origin-b"
port = {b}
city = "Dublin"

[[edge]]
name = "edge-par"
port = {e}
city = "Paris"
cache_size = "16MiB"

[[origin_group]]
name = "both"
members = ["origin-a", "origin-b"]

[[behavior]]
path_pattern = "/obj/*"
target_origin = "both"

[[behavior]]
path_pattern = "*"
"""


def get(url: str) -> tuple[int, str]:
    """GET ``url``: the status and the Cache-Status field."""
    try:
        with OPENER.open(url, timeout=10) as response:
            response.read()
            return response.status, response.headers.get("Cache-Status", "")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Cache-Status", "")


def test_the_secondary_origin_answers_when_cdn_up_loses_the_primary(tmp_path) -> None:
    a, b, e = free_ports(3)
    path = tmp_path / "two.toml"
    path.write_text(TOPOLOGY.format(a=a, b=b, e=e), encoding="utf-8")
    with Cluster(path, write_state=False, prometheus=False) as cluster:
        assert set(cluster.pids) == {"origin-a", "origin-b", "edge-par"}
        edge = cluster.urls["edge-par"]
        status, cache_status = get(edge + "/obj/1")
        assert status == 200
        assert 'cdnlab-group-both; detail="origin-a"' in cache_status

        cluster.kill("origin-a", signal.SIGKILL)
        deadline = time.monotonic() + 15
        n = 2
        while True:  # until the primary's port refuses (its process group is going away)
            status, cache_status = get(edge + f"/obj/{n}")
            if "origin-b" in cache_status or time.monotonic() > deadline:
                break
            n += 1
        assert status == 200
        assert 'detail="origin-b (primary origin-a: connect)"' in cache_status
        # Stored with the object: its hit still says which origin gave it.
        status, cache_status = get(edge + f"/obj/{n}")
        assert "hit" in cache_status and 'detail="origin-b' in cache_status
