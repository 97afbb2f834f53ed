"""The read facade: items and partitions as plain JSON, ETags, cache rule headers, purges."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from kv_support import ThreadedKv, client, create_table

from cdn.topology.model import CacheRule
from serving.purge_notify import PurgeTarget


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def facade(start_kv: Callable[..., ThreadedKv]) -> tuple[str, Any]:
    rules = (CacheRule(prefix="/tables/", cache_control="public, max-age=60"),)
    server = start_kv(cache_rules=rules)
    url = server.server.url  # type: ignore[union-attr]
    ddb = client(url)
    create_table(ddb, "users", ("id", "S"))
    create_table(ddb, "events", ("pk", "S"), ("sk", "N"))
    return url, ddb


def test_an_item_is_plain_json_with_etag_and_the_rule_cache_control(facade: Any) -> None:
    url, ddb = facade
    ddb.put_item(
        TableName="users",
        Item={
            "id": {"S": "ada"},
            "n": {"N": "12345678901234567890.5"},
            "tags": {"SS": ["x"]},
            "m": {"M": {"ok": {"BOOL": True}, "z": {"NULL": True}}},
        },
    )
    status, headers, body = fetch(url + "/tables/users/items/ada")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["ETag"].startswith('"')
    assert (
        body
        == b'{"Item":{"id":"ada","n":12345678901234567890.5,"tags":["x"],"m":{"ok":true,"z":null}}}'
    )


def test_a_matching_if_none_match_is_304(facade: Any) -> None:
    url, ddb = facade
    ddb.put_item(TableName="users", Item={"id": {"S": "ada"}})
    _, headers, _ = fetch(url + "/tables/users/items/ada")
    status, _, body = fetch(url + "/tables/users/items/ada", {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")


def test_a_missing_item_is_404_not_stored(facade: Any) -> None:
    url, _ = facade
    status, headers, body = fetch(url + "/tables/users/items/nobody")
    assert status == 404
    assert headers["Cache-Control"] == "no-store"
    assert json.loads(body)["error"] == "no such item"


def test_keys_are_percent_encoded_segments(facade: Any) -> None:
    url, ddb = facade
    ddb.put_item(TableName="users", Item={"id": {"S": "a/b c#é"}})
    status, _, body = fetch(url + "/tables/users/items/a%2Fb%20c%23%C3%A9")
    assert status == 200
    assert json.loads(body)["Item"]["id"] == "a/b c#é"


def test_an_item_of_a_sort_key_table(facade: Any) -> None:
    url, ddb = facade
    ddb.put_item(TableName="events", Item={"pk": {"S": "p"}, "sk": {"N": "2.5"}})
    status, headers, body = fetch(url + "/tables/events/items/p/2.5")
    assert status == 200
    assert json.loads(body)["Item"]["sk"] == 2.5
    assert "kv/events/p" in headers["Surrogate-Key"].split()


def test_a_non_canonical_key_spelling_redirects_to_the_one_url(facade: Any) -> None:
    url, ddb = facade
    ddb.put_item(TableName="events", Item={"pk": {"S": "p"}, "sk": {"N": "2.5"}})
    request = urllib.request.Request(url + "/tables/events/items/p/02.50?x=1")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        opener.open(request, timeout=10)
    with excinfo.value as answer:
        assert answer.code == 301
        assert answer.headers["Location"] == "/tables/events/items/p/2.5?x=1"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report redirects instead of following them."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_a_partition_is_a_query_in_sort_order(facade: Any) -> None:
    url, ddb = facade
    for sk in (3, 1, 2):
        ddb.put_item(TableName="events", Item={"pk": {"S": "p"}, "sk": {"N": str(sk)}})
    _, headers, body = fetch(url + "/tables/events/items/p?order=desc&limit=2")
    assert json.loads(body) == {"Items": [{"pk": "p", "sk": 3}, {"pk": "p", "sk": 2}], "Count": 2}
    assert headers["Surrogate-Key"].split() == ["kv/events", "kv/events/p"]


def test_a_malformed_number_key_is_400(facade: Any) -> None:
    url, _ = facade
    status, _, body = fetch(url + "/tables/events/items/p/abc")
    assert status == 400
    assert "numeric" in json.loads(body)["error"]


def test_a_missing_table_is_404(facade: Any) -> None:
    url, _ = facade
    assert fetch(url + "/tables/nothing/items/x")[0] == 404


class PurgeRecorder:
    """A stand-in cache node that records the purges it gets (on a thread of its own)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop: Any = None

    def _run(self) -> None:
        import asyncio

        async def purge(request: web.Request) -> web.Response:
            self.bodies.append(await request.json())
            return web.json_response({"purged": 1})

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/_cdn/purge", purge)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(main())
        self.loop.close()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def recorder() -> Iterator[PurgeRecorder]:
    node = PurgeRecorder()
    node.start()
    yield node
    node.stop()


def test_a_write_purges_the_item_url_and_partition_tag_before_it_answers(
    start_kv: Callable[..., ThreadedKv], recorder: PurgeRecorder
) -> None:
    server = start_kv(purge_targets=(PurgeTarget("edge-a", recorder.url),))
    ddb = client(server.server.url)  # type: ignore[union-attr]
    create_table(ddb, "events", ("pk", "S"), ("sk", "N"))
    ddb.update_item(
        TableName="events",
        Key={"pk": {"S": "p"}, "sk": {"N": "7"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "1"}},
    )
    assert recorder.bodies == [{"url": "/tables/events/items/p/7"}, {"tag": "kv/events/p"}]


def test_a_hash_key_write_purges_its_item_url(
    start_kv: Callable[..., ThreadedKv], recorder: PurgeRecorder
) -> None:
    server = start_kv(purge_targets=(PurgeTarget("edge-a", recorder.url),))
    ddb = client(server.server.url)  # type: ignore[union-attr]
    create_table(ddb, "users", ("id", "S"))
    ddb.batch_write_item(RequestItems={"users": [{"PutRequest": {"Item": {"id": {"S": "a b"}}}}]})
    assert recorder.bodies == [{"url": "/tables/users/items/a%20b"}]


def test_a_failed_conditional_write_purges_nothing(
    start_kv: Callable[..., ThreadedKv], recorder: PurgeRecorder
) -> None:
    server = start_kv(purge_targets=(PurgeTarget("edge-a", recorder.url),))
    ddb = client(server.server.url)  # type: ignore[union-attr]
    create_table(ddb, "users", ("id", "S"))
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        ddb.put_item(
            TableName="users", Item={"id": {"S": "a"}}, ConditionExpression="attribute_exists(id)"
        )
    assert recorder.bodies == []


def test_a_write_with_a_cache_down_still_succeeds(start_kv: Callable[..., ThreadedKv]) -> None:
    server = start_kv(
        purge_targets=(PurgeTarget("edge-down", "http://127.0.0.1:9"),), purge_wait=0.2
    )
    ddb = client(server.server.url)  # type: ignore[union-attr]
    create_table(ddb, "users", ("id", "S"))
    ddb.put_item(TableName="users", Item={"id": {"S": "a"}})
    assert ddb.get_item(TableName="users", Key={"id": {"S": "a"}})["Item"] == {"id": {"S": "a"}}


def test_delete_table_purges_the_table_tag(
    start_kv: Callable[..., ThreadedKv], recorder: PurgeRecorder
) -> None:
    server = start_kv(purge_targets=(PurgeTarget("edge-a", recorder.url),))
    ddb = client(server.server.url)  # type: ignore[union-attr]
    create_table(ddb, "users", ("id", "S"))
    ddb.delete_table(TableName="users")
    assert recorder.bodies == [{"tag": "kv/users"}]


def test_a_transaction_purges_every_item_it_wrote(
    start_kv: Callable[..., ThreadedKv], recorder: PurgeRecorder
) -> None:
    server = start_kv(purge_targets=(PurgeTarget("edge-a", recorder.url),))
    ddb = client(server.server.url)  # type: ignore[union-attr]
    create_table(ddb, "users", ("id", "S"))
    ddb.put_item(TableName="users", Item={"id": {"S": "c"}})
    recorder.bodies.clear()
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "users", "Item": {"id": {"S": "a"}}}},
            {
                "ConditionCheck": {
                    "TableName": "users",
                    "Key": {"id": {"S": "c"}},
                    "ConditionExpression": "attribute_exists(id)",
                }
            },
        ]
    )
    assert recorder.bodies == [{"url": "/tables/users/items/a"}]
