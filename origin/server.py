"""Running the origin app on a socket: `OriginServer` (tests, `cdn up`) and `serve_forever` (`cdn origin`).

The server owns the listening socket so that "down" in refuse mode can really refuse: the
site is stopped (ECONNREFUSED for new connections; established keep-alive connections are
closed, idle ones at once and busy ones after their answer, so a client's next request on
them fails fast) and a new site is bound to the same port when down is cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from origin.app import create_app
from origin.settings import OriginSettings
from origin.state import CONTROL

__all__ = ["OriginServer", "serve_forever"]

log = logging.getLogger("cdnlab.origin")


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


class OriginServer:
    """One origin app listening on ``settings.host:settings.port`` (port 0: a free one)."""

    def __init__(self, settings: OriginSettings, *, shutdown_timeout: float = 5.0) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._runner = web.AppRunner(
            self.app,
            access_log=log if settings.access_log else None,
            shutdown_timeout=shutdown_timeout,
            handle_signals=False,
        )
        self._site: web.TCPSite | None = None
        self._port = settings.port

    @property
    def port(self) -> int:
        """The port listened on (the real one once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8100``."""
        return f"http://{self.settings.host}:{self._port}"

    async def start(self) -> None:
        """Set the app up and listen (unless the start-up faults say down in refuse mode)."""
        await self._runner.setup()
        try:
            await self._start_listening()
        except BaseException:
            await self._runner.cleanup()
            raise

    async def _start_listening(self) -> None:
        control = self.app[CONTROL]
        control.attach_listener(self._set_listening)
        if control.refusing and self._port == 0:
            # A refusing origin still needs a port of its own to come back on later.
            await self._listen()
            await self._set_listening(False)
        elif not control.refusing:
            await self._listen()

    async def _listen(self) -> None:
        site = web.TCPSite(self._runner, self.settings.host, self._port, reuse_address=True)
        await site.start()  # OSError (port busy) goes to the caller: the CLI words it for people
        self._site = site
        self._port = site.port

    async def _set_listening(self, listening: bool) -> None:
        if listening and self._site is None:
            await self._listen()
        elif not listening and self._site is not None:
            site, self._site = self._site, None
            await site.stop()
            server = self._runner.server
            if server is not None:
                for connection in server.connections:
                    _hang_up(connection)

    async def stop(self) -> None:
        """Stop listening, release stalled requests, wait for in-flight ones, clean up."""
        await self._runner.cleanup()

    async def __aenter__(self) -> OriginServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve_forever(settings: OriginSettings) -> None:
    """Run an OriginServer until SIGINT/SIGTERM (graceful: in-flight requests finish)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    server = OriginServer(settings)
    await server.start()
    try:
        control = server.app[CONTROL]
        state = "down (refusing connections) at" if control.refusing else "listening on"
        note = f" (faults: {control.faults.to_json()})" if control.faults.active else ""
        print(f"cdn origin: {settings.name} {state} {server.url}{note}", flush=True)
        await stop.wait()
    finally:
        await server.stop()
