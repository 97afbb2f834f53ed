"""cdn up with a kind = "kv" origin: reads through an edge are cached, writes purge them."""

from __future__ import annotations

import json
import socket
import urllib.request
from typing import Any

import pytest
from kv_support import client, create_table

from cluster.launcher import Cluster

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TOPOLOGY = """
name = "kv-live"

[origin]
name = "tables"
port = {origin}
city = "Ashburn"
kind = "kv"
data = "tables.sqlite"

[[edge]]
name = "edge-par"
port = {edge}
city = "Paris"
cache_size = "16MiB"

[[cache_rule]]
prefix = "/tables/"
cache_control = "public, max-age=300"
"""


def read(url: str) -> tuple[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get("X-Cache", ""), json.loads(response.read())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One kv origin and one edge for the module (each test uses tables of its own)."""
    directory = tmp_path_factory.mktemp("kv-live")
    topology = directory / "kv.toml"
    topology.write_text(TOPOLOGY.format(origin=free_port(), edge=free_port()))
    with Cluster(topology, state_dir=directory / "state", write_state=False) as running:
        running.directory = directory
        yield running


def test_cdn_up_starts_a_kv_origin_on_the_topology_data_file(cluster: Any) -> None:
    create_table(client(cluster.urls["tables"]), "started", ("id", "S"))
    assert (cluster.directory / "tables.sqlite").exists()


def test_edge_caches_reads_and_an_update_shows_on_the_next_read(cluster: Any) -> None:
    ddb = client(cluster.urls["tables"])
    create_table(ddb, "users", ("id", "S"))
    ddb.put_item(TableName="users", Item={"id": {"S": "ada"}, "visits": {"N": "1"}})
    item_url = cluster.urls["edge-par"] + "/tables/users/items/ada"
    assert read(item_url) == ("MISS", {"Item": {"id": "ada", "visits": 1}})
    assert read(item_url) == ("HIT", {"Item": {"id": "ada", "visits": 1}})
    ddb.update_item(
        TableName="users",
        Key={"id": {"S": "ada"}},
        UpdateExpression="ADD visits :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    assert read(item_url) == ("MISS", {"Item": {"id": "ada", "visits": 2}})


def test_a_partition_query_through_the_edge_is_purged_by_a_write_in_it(cluster: Any) -> None:
    ddb = client(cluster.urls["tables"])
    create_table(ddb, "events", ("pk", "S"), ("sk", "N"))
    ddb.put_item(TableName="events", Item={"pk": {"S": "p"}, "sk": {"N": "1"}})
    query_url = cluster.urls["edge-par"] + "/tables/events/items/p?limit=10"
    read(query_url)
    assert read(query_url)[0] == "HIT"
    ddb.put_item(TableName="events", Item={"pk": {"S": "p"}, "sk": {"N": "2"}})
    assert read(query_url) == (
        "MISS",
        {"Items": [{"pk": "p", "sk": 1}, {"pk": "p", "sk": 2}], "Count": 2},
    )
