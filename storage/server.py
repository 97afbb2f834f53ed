"""Running the storage app on a socket: `StorageServer` (tests, `cdn up`) and `serve_forever`."""

from __future__ import annotations

import logging

from serving.guard import GuardedRunner
from serving.server import AppServer, run_event_loop, serve_until_signalled
from serving.tls import server_context
from storage.app import create_app
from storage.settings import StorageSettings

__all__ = ["StorageServer", "run", "serve_forever"]

log = logging.getLogger("cdnlab.storage")


class StorageServer(AppServer):
    """One storage app listening on ``settings.host:settings.port`` (port 0: a free one)."""

    def __init__(
        self, settings: StorageSettings, *, shutdown_timeout: float | None = None, **app_options
    ) -> None:
        self.settings = settings
        app = create_app(settings, **app_options)
        runner = GuardedRunner.for_node(
            app,
            limits=settings.limits,
            drain_timeout=settings.drain_timeout if shutdown_timeout is None else shutdown_timeout,
            access_log=log if settings.access_log else None,
        )
        context = None
        if settings.tls_cert is not None:
            context = server_context(settings.tls_cert, settings.tls_key)
        super().__init__(app, runner, settings.host, settings.port, ssl_context=context)


def _announce(server: AppServer) -> None:
    assert isinstance(server, StorageServer)
    settings = server.settings
    auth = "SigV4 keys" if settings.keys else "no keys (authentication off)"
    print(
        f"cdn storage: {settings.name} serving {settings.data} on {server.url} ({auth})",
        flush=True,
    )


async def serve_forever(settings: StorageSettings) -> None:
    """Run a StorageServer until SIGINT/SIGTERM (graceful: in-flight requests finish)."""
    await serve_until_signalled(StorageServer(settings), _announce)


def run(settings: StorageSettings) -> None:
    """Serve ``settings`` on uvloop until SIGINT or SIGTERM."""
    run_event_loop(serve_forever(settings))
