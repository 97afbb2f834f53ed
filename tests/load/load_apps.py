"""Servers for the load tests (helpers; the ``serve`` fixture is in conftest.py): small aiohttp apps (and the real origin) on 127.0.0.1 port 0.

Each server runs in its own thread with its own event loop, so a test can drive `cdn load`
(which runs its own uvloop) against it from the main thread. ``serve(app) -> ServedApp`` starts
one; all stop at teardown.

The test app ``cache_app()`` answers ``/obj/{id}`` like a cache would, by the id alone (so two
runs that send the same ids see the same outcomes):
- id % 10 == 9: 503 (an error);
- otherwise CASES[id % len(CASES)] gives the X-Cache / Cache-Status headers it sends.
It logs (path, X-Client-Location) of every request in ``app[LOG]``.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from aiohttp import web

LOG = web.AppKey("log", list)

# (X-Cache, Cache-Status, expected cache status, expected origin fetch)
CASES: tuple[tuple[str | None, str | None, str, bool], ...] = (
    ("HIT", "cdnlab-edge; hit", "hit", False),
    ("MISS", "cdnlab-edge; fwd=miss; stored", "miss", True),
    (None, "cdnlab-shield; hit, cdnlab-edge; fwd=miss; stored", "miss", False),
    ("STALE", "cdnlab-edge; hit; ttl=-5", "stale", False),
    (None, "cdnlab-edge; fwd=stale; fwd-status=304", "revalidated", True),
    ("BYPASS", "cdnlab-edge; fwd=bypass", "bypass", True),
    (None, "cdnlab-edge; fwd=miss; collapsed", "collapsed", False),
    (None, None, "unknown", False),
)
BODY = b"x" * 100


def expected_outcome(obj_id: int) -> tuple[str, bool] | None:
    """The (cache status, origin fetch) cache_app gives ``obj_id``; None for a 503."""
    if obj_id % 10 == 9:
        return None
    _, _, status, fetch = CASES[obj_id % len(CASES)]
    return status, fetch


def cache_app() -> web.Application:
    """The test app described in the module docstring."""
    app = web.Application()
    app[LOG] = []

    async def obj(request: web.Request) -> web.Response:
        obj_id = int(request.match_info["id"])
        request.app[LOG].append((request.path, request.headers.get("X-Client-Location")))
        if obj_id % 10 == 9:
            return web.Response(status=503, text="busy")
        x_cache, cache_status, _, _ = CASES[obj_id % len(CASES)]
        headers = {}
        if x_cache:
            headers["X-Cache"] = x_cache
        if cache_status:
            headers["Cache-Status"] = cache_status
        return web.Response(body=BODY, headers=headers)

    app.router.add_get("/obj/{id}", obj)
    return app


def serial_app(service: float) -> web.Application:
    """An app that serves one request at a time, each taking ``service`` seconds."""
    app = web.Application()
    lock = asyncio.Lock()

    async def obj(request: web.Request) -> web.Response:
        async with lock:
            await asyncio.sleep(service)
        return web.Response(body=b"ok", headers={"X-Cache": "MISS"})

    app.router.add_get("/obj/{id}", obj)
    return app


@dataclass
class ServedApp:
    """A running app: its base URL, port and the app object (for its logs)."""

    url: str
    port: int
    app: web.Application


class ServerThread:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._stop())
        self.loop.close()

    async def _start(self) -> None:
        self.runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def _stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()
        # Handlers still waiting (e.g. behind serial_app's lock after a client timed out) end here.
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def start(self) -> ServedApp:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("test server did not start")
        return ServedApp(f"http://127.0.0.1:{self.port}", self.port, self.app)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
