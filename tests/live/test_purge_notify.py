"""serving.purge_notify: purges reach every cache node, retried until a node that was down answers."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from serving.purge_notify import PurgeNotifier, PurgeRequest, PurgeTarget


class FakeCache:
    """A cache node's purge endpoint that refuses its first ``failures`` calls with 503."""

    def __init__(self, failures: int = 0, token: str = "t") -> None:
        self.failures = failures
        self.token = token
        self.bodies: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/_cdn/purge", self.purge)

    async def purge(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=401)
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=503)
        self.bodies.append(await request.json())
        return web.json_response({"purged": 1})


async def started(cache: FakeCache) -> TestServer:
    server = TestServer(cache.app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_every_node_gets_each_purge_once() -> None:
    caches = [FakeCache(), FakeCache()]
    servers = [await started(c) for c in caches]
    targets = [PurgeTarget(f"n{i}", str(s.make_url("")).rstrip("/")) for i, s in enumerate(servers)]
    notifier = PurgeNotifier(targets, "t", retry_initial=0.01)
    await notifier.start()
    try:
        notifier.notify([PurgeRequest(url="/b/k"), PurgeRequest(url="/b/k")])
        assert await notifier.drained(timeout=10)
    finally:
        await notifier.close()
        for server in servers:
            await server.close()
    assert [c.bodies for c in caches] == [[{"url": "/b/k"}], [{"url": "/b/k"}]]


async def test_a_node_that_fails_is_retried_until_it_confirms() -> None:
    cache = FakeCache(failures=3)
    server = await started(cache)
    notifier = PurgeNotifier(
        [PurgeTarget("n", str(server.make_url("")).rstrip("/"))], "t", retry_initial=0.01
    )
    await notifier.start()
    try:
        notifier.notify([PurgeRequest(prefix="/tables/t/items/1")])
        assert notifier.pending == 1
        assert await notifier.drained(timeout=10)
    finally:
        await notifier.close()
        await server.close()
    assert cache.bodies == [{"prefix": "/tables/t/items/1"}]
    assert notifier.failures == 3


async def test_the_webhook_gets_one_post_per_change() -> None:
    seen: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    notifier = PurgeNotifier([], None, webhook=str(server.make_url("/hook")), retry_initial=0.01)
    await notifier.start()
    try:
        notifier.notify([PurgeRequest(url="/b/k")], event="put")
        assert await notifier.drained(timeout=10)
    finally:
        await notifier.close()
        await server.close()
    assert seen == [{"event": "put", "url": "/b/k"}]
