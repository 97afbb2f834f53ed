"""cdn kv on a socket: ``KvServer`` (tests, ``cdn up``) and ``serve_forever`` (``cdn kv``)."""

from __future__ import annotations

import logging

from kv.app import create_app
from kv.database import Database
from kv.settings import KvSettings
from serving.guard import GuardedRunner
from serving.server import AppServer, run_event_loop, serve_until_signalled

__all__ = ["KvServer", "run", "serve_forever"]

log = logging.getLogger("cdnlab.kv")


class KvServer(AppServer):
    """One cdn kv app listening on ``settings.host:settings.port`` (port 0: a free one)."""

    def __init__(
        self,
        settings: KvSettings,
        *,
        database: Database | None = None,
        shutdown_timeout: float | None = None,
    ) -> None:
        self.settings = settings
        app = create_app(settings, database)
        runner = GuardedRunner.for_node(
            app,
            limits=settings.limits,
            drain_timeout=settings.drain_timeout if shutdown_timeout is None else shutdown_timeout,
            access_log=log if settings.access_log else None,
        )
        super().__init__(app, runner, settings.host, settings.port)


def _announce(server: AppServer) -> None:
    assert isinstance(server, KvServer)
    settings = server.settings
    auth = "SigV4 required" if settings.credentials else "no authentication"
    print(
        f"cdn kv: {settings.name} listening on {server.url} ({settings.data}, {auth},"
        f" synchronous={settings.synchronous})",
        flush=True,
    )


async def serve_forever(settings: KvSettings) -> None:
    """Run a KvServer until SIGINT/SIGTERM (graceful: in-flight requests finish)."""
    await serve_until_signalled(KvServer(settings), _announce)


def run(settings: KvSettings) -> None:
    """Serve ``settings`` on uvloop until SIGINT or SIGTERM."""
    run_event_loop(serve_forever(settings))
