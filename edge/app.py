"""The edge's aiohttp application: ``create_app(settings)`` wires store, metrics, collapsing,
peers and the proxy; the app's one ClientSession lives in ``cleanup_ctx``.

Routes: ``/_cdn/health``, ``/_cdn/metrics``, ``POST /_cdn/purge``, ``PURGE <any path>``, and
every other method on every other path goes to the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from cdn.cache import Store
from edge.accesslog import AccessLog
from edge.admin import Admin
from edge.collapsing import Collapsing
from edge.gateway import add_response_fields
from edge.leaving import leaving_route, tell_peers_leaving
from edge.metrics import EdgeMetrics
from edge.peers import PeerSet
from edge.proxy import Proxy
from edge.settings import EdgeSettings
from edge.upstream import Clock, Sleep, Upstream
from serving.drain import drain_of

__all__ = ["ADMIN", "PROXY", "SETTINGS", "create_app"]

SETTINGS = web.AppKey("edge_settings", EdgeSettings)
PROXY = web.AppKey("edge_proxy", Proxy)
ADMIN = web.AppKey("edge_admin", Admin)
PEERS = web.AppKey("edge_peers", PeerSet)


def create_app(
    settings: EdgeSettings, *, sleep: Sleep = asyncio.sleep, clock: Clock = time.time
) -> web.Application:
    """The edge app for ``settings``. ``sleep`` is awaited with each emulated network delay;
    ``clock`` is the wall clock every cache decision reads (tests inject one)."""
    store = Store(settings.cache_size, settings.policy)
    metrics = EdgeMetrics(settings.name, store.stats, settings.upstream_kind)
    collapsing = Collapsing(
        settings.collapse_max_waiters,
        settings.hit_for_pass_seconds,
        settings.collapse_timeout,
        clock,
    )
    proxy = Proxy(
        settings, store, metrics, collapsing, AccessLog(settings.name, settings.access_log), clock
    )
    peers = PeerSet(settings.name, settings.peers)
    peers.on_down = metrics.peer_down
    admin = Admin(settings, proxy, metrics, peers, collapsing)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30, ttl_dns_cache=300)
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        proxy.upstream = Upstream(settings, session, peers, metrics, sleep, clock)
        if proxy.functions is not None:
            proxy.functions.start()  # one FunctionHost per edge process (edge.functions)
        watcher = None

        async def leave() -> None:
            await tell_peers_leaving(session, settings, timeout=1.0)

        drain_of(app).on_drain.append(leave)
        if peers:
            watcher = asyncio.get_running_loop().create_task(
                peers.watch(session, settings.peer_check_interval)
            )
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await proxy.close()
            if proxy.functions is not None:
                await proxy.functions.close()
            await session.close()

    app = web.Application(handler_args={"max_field_size": 8190, "max_line_size": 8190})
    app[SETTINGS] = settings
    app[PROXY] = proxy
    app[ADMIN] = admin
    app[PEERS] = peers
    app.cleanup_ctx.append(resources)
    if proxy.gateway is not None:
        app.on_response_prepare.append(add_response_fields)
    drain_of(app)
    app.add_routes([*admin.routes(), leaving_route(settings, peers)])
    app.router.add_route("GET", "/{tail:.*}", proxy.handle)
    app.router.add_route("HEAD", "/{tail:.*}", proxy.handle)
    app.router.add_route("PURGE", "/{tail:.*}", admin.purge_method)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    return app
