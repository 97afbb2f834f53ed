"""Changes purge the CDN: PUT, DELETE, copy and multipart completion notify every cache node
(and the webhook); an edge in front of the storage node serves the new bytes after a write."""

from __future__ import annotations

import asyncio
import socket
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from storage_support import ServerThread, client, finish_tasks, start_server

from serving.purge_notify import PurgeTarget
from storage.state import NOTIFIER

TOKEN = "purge-token"


class RecordingCache:
    """A cache node's purge endpoint (and a webhook) on a thread, recording what it gets."""

    def __init__(self, *, up: bool = True) -> None:
        self.purges: list[dict[str, Any]] = []
        self.hooks: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.up = up
        self.changed = threading.Condition()
        app = web.Application()
        app.router.add_post("/_cdn/purge", self._purge)
        app.router.add_post("/hook", self._hook)
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    async def _purge(self, request: web.Request) -> web.Response:
        if not self.up:
            return web.Response(status=503)
        self.authorizations.append(request.headers.get("Authorization", ""))
        with self.changed:
            self.purges.append(await request.json())
            self.changed.notify_all()
        return web.json_response({"purged": 1})

    async def _hook(self, request: web.Request) -> web.Response:
        with self.changed:
            self.hooks.append(await request.json())
            self.changed.notify_all()
        return web.Response()

    def wait_for(self, what: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.changed:
            self.changed.wait_for(lambda: len(getattr(self, what)) >= count, timeout)
            return list(getattr(self, what))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.run_until_complete(finish_tasks(asyncio.all_tasks(self._loop)))
        self._loop.close()


@pytest.fixture
def cache() -> Iterator[RecordingCache]:
    recorder = RecordingCache()
    yield recorder
    recorder.close()


@pytest.fixture
def notifying(tmp_path, cache) -> Iterator[ServerThread]:
    server = start_server(
        tmp_path,
        purge_targets=(PurgeTarget("edge-1", cache.url),),
        admin_token=TOKEN,
        notify_url=cache.url + "/hook",
    )
    yield server
    server.stop()


def test_a_put_purges_the_object_url_with_the_admin_token(notifying, cache):
    s3 = client(notifying.url)
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="css/app.css", Body=b"body{}")
    assert cache.wait_for("purges", 1) == [{"url": "/site/css/app.css"}]
    assert cache.authorizations == [f"Bearer {TOKEN}"]


def test_a_delete_purges_the_object_url(notifying, cache):
    s3 = client(notifying.url)
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="a b.txt", Body=b"x")
    s3.delete_object(Bucket="site", Key="a b.txt")
    assert cache.wait_for("purges", 2)[-1] == {"url": "/site/a%20b.txt"}


def test_a_batch_delete_purges_each_deleted_key(notifying, cache):
    s3 = client(notifying.url)
    s3.create_bucket(Bucket="site")
    for key in ("x", "y"):
        s3.put_object(Bucket="site", Key=key, Body=b"x")
    s3.delete_objects(Bucket="site", Delete={"Objects": [{"Key": "x"}, {"Key": "y"}]})
    urls = [p["url"] for p in cache.wait_for("purges", 4)]
    assert urls.count("/site/x") == 2 or urls[-2:] == ["/site/x", "/site/y"]


def test_a_copy_purges_the_destination(notifying, cache):
    s3 = client(notifying.url)
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="src", Body=b"x")
    s3.copy_object(Bucket="site", Key="dst", CopySource={"Bucket": "site", "Key": "src"})
    assert cache.wait_for("purges", 2)[-1] == {"url": "/site/dst"}


def test_a_multipart_completion_purges_the_object(notifying, cache):
    s3 = client(notifying.url)
    s3.create_bucket(Bucket="site")
    upload = s3.create_multipart_upload(Bucket="site", Key="video.mp4")["UploadId"]
    etag = s3.upload_part(Bucket="site", Key="video.mp4", UploadId=upload, PartNumber=1, Body=b"v")[
        "ETag"
    ]
    s3.complete_multipart_upload(
        Bucket="site",
        Key="video.mp4",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert cache.wait_for("purges", 1) == [{"url": "/site/video.mp4"}]


def test_a_tagging_change_purges_the_object_with_its_event(notifying, cache):
    s3 = client(notifying.url)
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="k", Body=b"x")
    s3.put_object_tagging(Bucket="site", Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "1"}]})
    s3.delete_object_tagging(Bucket="site", Key="k")
    assert [p["url"] for p in cache.wait_for("purges", 3)] == ["/site/k"] * 3
    assert [h["event"] for h in cache.wait_for("hooks", 3)] == [
        "ObjectCreated:Put",
        "ObjectTagging:Put",
        "ObjectTagging:Delete",
    ]


def test_the_webhook_gets_the_event_and_url(notifying, cache):
    s3 = client(notifying.url)
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="k", Body=b"x")
    assert cache.wait_for("hooks", 1) == [{"event": "ObjectCreated:Put", "url": "/site/k"}]


def test_purges_for_a_down_node_stay_pending_in_the_metrics(tmp_path):
    down = RecordingCache(up=False)
    server = start_server(
        tmp_path, purge_targets=(PurgeTarget("edge-down", down.url),), admin_token=TOKEN
    )
    try:
        s3 = client(server.url)
        s3.create_bucket(Bucket="site")
        s3.put_object(Bucket="site", Key="k", Body=b"x")
        with urllib.request.urlopen(server.url + "/_cdn/metrics") as answer:
            text = answer.read().decode()
        assert "cdnlab_storage_pending_purge_notifications 1.0" in text
        down.up = True
        assert down.wait_for("purges", 1) == [{"url": "/site/k"}]
    finally:
        server.stop()
        down.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_edge_caches_revalidates_and_is_purged_on_overwrite(tmp_path):
    from edge.server import EdgeServer
    from edge.settings import EdgeSettings

    edge_port = _free_port()
    storage = start_server(
        tmp_path,
        public_read=("site",),
        purge_targets=(PurgeTarget("edge", f"http://127.0.0.1:{edge_port}"),),
        admin_token=TOKEN,
    )
    host = storage.url.removeprefix("http://")
    edge = EdgeServer(
        EdgeSettings(
            name="edge",
            port=edge_port,
            upstream_url=storage.url,
            site_host=host,
            admin_token=TOKEN,
        )
    )
    await edge.start()
    try:
        s3 = client(storage.url)
        await asyncio.to_thread(s3.create_bucket, Bucket="site")
        await asyncio.to_thread(
            s3.put_object, Bucket="site", Key="logo.svg", Body=b"v1", CacheControl="max-age=3600"
        )
        await asyncio.to_thread(
            s3.put_object, Bucket="site", Key="feed.json", Body=b"[1]", CacheControl="max-age=0"
        )
        async with aiohttp.ClientSession() as session:

            async def get(path: str) -> tuple[str, bytes, str]:
                async with session.get(edge.url + path) as answer:
                    return (
                        answer.headers.get("X-Cache", ""),
                        await answer.read(),
                        answer.headers.get("Cache-Status", ""),
                    )

            assert (await get("/site/logo.svg"))[:2] == ("MISS", b"v1")
            assert (await get("/site/logo.svg"))[:2] == ("HIT", b"v1")

            await get("/site/feed.json")
            cache_header, body, status = await get("/site/feed.json")  # stale at once: revalidated
            assert body == b"[1]"
            assert cache_header == "REVALIDATED"
            assert "fwd-status=304" in status

            await asyncio.to_thread(
                s3.put_object,
                Bucket="site",
                Key="logo.svg",
                Body=b"v2",
                CacheControl="max-age=3600",
            )
            drained = lambda: storage.server.app[NOTIFIER].drained(timeout=10)  # noqa: E731
            assert await asyncio.to_thread(
                storage.call, drained, 15
            )  # the edge answers on this loop
            assert (await get("/site/logo.svg"))[:2] == ("MISS", b"v2")
    finally:
        await edge.stop()
        storage.stop()
