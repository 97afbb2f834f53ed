"""Running the origin app on a socket: `OriginServer` (tests, `cdn up`) and `serve_forever` (`cdn origin`).

The server owns the listening socket (``serving.AppServer``) so that "down" in refuse mode
can really refuse: the port is closed (ECONNREFUSED for new connections; established
keep-alive connections are closed, idle ones at once and busy ones after their answer, so a
client's next request on them fails fast) and the same port is bound again when down is
cleared.
"""

from __future__ import annotations

import logging

from origin.app import create_app
from origin.settings import OriginSettings
from origin.state import CONTROL
from serving.guard import GuardedRunner
from serving.server import AppServer, run_event_loop, serve_until_signalled

__all__ = ["OriginServer", "run", "serve_forever"]

log = logging.getLogger("cdnlab.origin")


class OriginServer(AppServer):
    """One origin app listening on ``settings.host:settings.port`` (port 0: a free one)."""

    def __init__(self, settings: OriginSettings, *, shutdown_timeout: float | None = None) -> None:
        self.settings = settings
        app = create_app(settings)
        runner = GuardedRunner.for_node(
            app,
            limits=settings.limits,
            drain_timeout=settings.drain_timeout if shutdown_timeout is None else shutdown_timeout,
            access_log=log if settings.access_log else None,
        )
        super().__init__(app, runner, settings.host, settings.port)

    async def start_listening(self) -> None:
        """Listen unless the start-up faults say down in refuse mode (then reserve a port)."""
        control = self.app[CONTROL]
        control.attach_listener(self._set_listening)
        if control.refusing and self.port == 0:
            # A refusing origin still needs a port of its own to come back on later.
            await self.listen()
            await self.stop_listening()
        elif not control.refusing:
            await self.listen()

    async def _set_listening(self, listening: bool) -> None:
        if listening:
            await self.listen()
        else:
            await self.stop_listening()


def _announce(server: AppServer) -> None:
    assert isinstance(server, OriginServer)
    control = server.app[CONTROL]
    state = "down (refusing connections) at" if control.refusing else "listening on"
    note = f" (faults: {control.faults.to_json()})" if control.faults.active else ""
    print(f"cdn origin: {server.settings.name} {state} {server.url}{note}", flush=True)


async def serve_forever(settings: OriginSettings) -> None:
    """Run an OriginServer until SIGINT/SIGTERM (graceful: in-flight requests finish)."""
    await serve_until_signalled(OriginServer(settings), _announce)


def run(settings: OriginSettings) -> None:
    """Serve ``settings`` on uvloop until SIGINT or SIGTERM, then shut down gracefully."""
    run_event_loop(serve_forever(settings))
