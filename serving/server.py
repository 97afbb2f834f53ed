"""An aiohttp app on a socket: start, stop, stop listening and listen again; run until a signal.

Rules: ``AppServer`` owns the runner and the listening site, so a server can close its port
(new connections get ECONNREFUSED, established ones are hung up) and bind the same port
again later (the origin's "down" in refuse mode). ``serve_until_signalled`` drains on
SIGINT/SIGTERM (``serving.drain``: health says draining, peers are told, the port closes,
in-flight requests finish within the runner's shutdown timeout); ``run_event_loop`` runs a
coroutine on uvloop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, Self

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from serving.drain import DRAIN

__all__ = ["AppServer", "run_event_loop", "serve_until_signalled"]

# The empty host means "every address" to aiohttp; it is shown as 0.0.0.0.
_ALL_ADDRESSES = "0.0.0.0"


def _hang_up(connection: RequestHandler) -> None:
    """Close an established connection now, or right after the request it is answering.

    ``close()`` alone only cancels an idle connection's wait for its next request: its
    socket stays open and a request sent on it later is never read (the client hangs until
    its read timeout). An idle keep-alive connection is therefore closed at once, so its
    next request fails fast like a new connection's; a busy one finishes its answer first.
    """
    if getattr(connection, "_request_in_progress", False):
        connection.close()
    else:
        connection.force_close()


class AppServer:
    """``app`` listening on ``host:port`` (port 0: a free one) through ``runner``."""

    def __init__(
        self,
        app: web.Application,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        reuse_port: bool = False,
        backlog: int = 128,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.app = app
        self._ssl_context = ssl_context
        self._runner = runner
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self._backlog = backlog
        self._site: web.TCPSite | None = None

    @property
    def port(self) -> int:
        """The port listened on (the real one once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """The address listened on as a base URL, e.g. ``http://127.0.0.1:8121`` (https with TLS).

        A server bound to every address says so (``http://0.0.0.0:8121``, what the start-up
        line prints in a container); on Linux a local client can still connect to that URL.
        """
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{self._host or _ALL_ADDRESSES}:{self._port}"

    @property
    def listening(self) -> bool:
        """True while the port is open."""
        return self._site is not None

    async def start(self) -> None:
        """Set the app up and listen (``start_listening`` decides how)."""
        await self._runner.setup()
        try:
            await self.start_listening()
        except BaseException:
            await self._runner.cleanup()
            raise

    async def start_listening(self) -> None:
        """Open the port at start; subclasses may start closed (after reserving a port)."""
        await self.listen()

    async def listen(self) -> None:
        """Open the port (the same one again after ``stop_listening``); OSError when busy."""
        if self._site is not None:
            return
        site = web.TCPSite(
            self._runner,
            self._host,
            self._port,
            reuse_address=True,
            reuse_port=self._reuse_port or None,
            backlog=self._backlog,
            ssl_context=self._ssl_context,
        )
        await site.start()  # OSError (port busy) goes to the caller: the CLI words it for people
        self._site = site
        self._port = site.port

    async def stop_listening(self) -> None:
        """Close the port and hang up established connections (idle ones at once)."""
        if self._site is None:
            return
        site, self._site = self._site, None
        await site.stop()
        server = self._runner.server
        if server is not None:
            for connection in server.connections:
                _hang_up(connection)

    async def stop(self) -> None:
        """Stop listening, let in-flight requests finish, run the app's cleanup."""
        await self._runner.cleanup()

    async def drain(self) -> None:
        """Leave gracefully: report draining and tell whom the app asks to, then ``stop``."""
        drain = self.app.get(DRAIN)
        if drain is not None:
            await drain.start()
        await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve_until_signalled(
    server: AppServer, announce: Callable[[AppServer], None] | None = None
) -> None:
    """Start ``server``, call ``announce`` once listening, drain on SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await server.start()
    # What start-up built (modules, the topology, the city tables) lives as long as the
    # process: a full collection over it (about 185k objects, 230 ms measured for an edge)
    # would stall every request in flight a few seconds into the first load, when the
    # collector first reaches the oldest generation. Collected once here, then frozen out of
    # the collector's way (gc.freeze, Python >= 3.7), so later collections see only new objects.
    gc.collect()
    gc.freeze()
    try:
        if announce is not None:
            announce(server)
        await stop.wait()
    except BaseException:
        await server.stop()
        raise
    await server.drain()


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop (asyncio's loop where uvloop is missing)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; this keeps servers usable
        asyncio.run(main)
        return
    uvloop.run(main)
