"""Running edge apps on sockets: ``EdgeServer`` (tests, in-process) and ``run`` (``cdn edge``).

The hit path skips what it can of aiohttp: connections answer plain fresh hits as soon as
they are parsed (``edge.wire.HitFirstHandler`` calling ``Proxy.wire_hit``), and requests
that reach aiohttp go to the proxy without the router (``proxy_first``) unless they are for
``/_cdn/`` or not GET/HEAD.

``--workers N``: the parent picks the port (binding port 0 once if asked for any port), then
forks N workers before any event loop exists; each worker runs its own app and cache on the
same port with ``SO_REUSEPORT`` (the kernel spreads connections). Workers share nothing: each
has its own cache, so a hit ratio per process is lower than one big cache's (docs/edge.md).
SIGTERM/SIGINT: the parent forwards it; each worker stops accepting, lets in-flight requests
finish (up to ``shutdown_timeout``), then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiohttp import hdrs, web

from cdn.http import cache_status_member
from edge.app import PROXY, create_app
from edge.settings import EdgeSettings, fast_path_enabled
from edge.upstream import Clock, Sleep
from edge.wire import HitFirstRunner, routed_handler
from serving.guard import ErrorFields
from serving.server import AppServer, run_event_loop, serve_until_signalled

__all__ = ["EdgeServer", "proxy_first", "run", "serve_forever"]


def proxy_first(app: web.Application) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    """The server's request handler: GET/HEAD of an origin-form path straight to the proxy.

    Those requests would reach ``Proxy.handle`` through the router's catch-all anyway (the
    app has no middlewares); this skips the router's resolve and match-info work on the hit
    path. ``/_cdn/...``, other methods and absolute-form targets go through the app's router,
    and so does everything behind a gateway (``edge.gateway``: its response fields are added
    by the app's ``on_response_prepare``, which aiohttp sends only for routed requests).
    """
    handle = app[PROXY].handle
    routed = routed_handler(app)  # what AppRunner's server would call: router, then handler
    if app[PROXY].gateway is not None:
        # The gateway adds response fields in on_response_prepare, which needs match info.
        return routed

    def dispatch(request: web.BaseRequest) -> Awaitable[web.StreamResponse]:
        method = request.method
        if method == "GET" or method == "HEAD":
            path = request.raw_path
            if (
                path[:1] == "/"
                and not path.startswith("/_cdn/")
                and hdrs.EXPECT not in request.headers  # the router answers 100-continue
            ):
                return handle(request)  # type: ignore[arg-type]  # the app's factory: a web.Request
        return routed(request)  # type: ignore[arg-type]

    return dispatch


def connection_error_fields(settings: EdgeSettings) -> ErrorFields:
    """Fields of the answers the edge's connections make themselves (400 from the HTTP parser,
    408, 503 at the cap): Cache-Status with ``detail=client-error``, X-Cache, Via."""
    return (
        ("Via", f"1.1 {settings.name}"),
        ("Cache-Status", cache_status_member(settings.cache_status_name, detail="client-error")),
        ("X-Cache", "ERROR"),
    )


class EdgeServer(AppServer):
    """One edge app listening on ``settings.host:settings.port`` (port 0: a free one)."""

    def __init__(
        self,
        settings: EdgeSettings,
        *,
        reuse_port: bool = False,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
    ) -> None:
        self.settings = settings
        app = create_app(settings, sleep=sleep, clock=clock)
        runner = HitFirstRunner(
            app,
            dispatch=proxy_first,
            hit=app[PROXY].wire_hit if fast_path_enabled(settings) else None,
            limits=settings.limits,
            error_fields=connection_error_fields(settings),
            access_log=None,
            shutdown_timeout=settings.shutdown_timeout,
            handle_signals=False,
        )
        super().__init__(
            app, runner, settings.host, settings.port, reuse_port=reuse_port, backlog=1024
        )


async def serve_forever(settings: EdgeSettings, *, reuse_port: bool = False) -> None:
    """Run one EdgeServer until SIGINT/SIGTERM (graceful: in-flight requests finish)."""

    def announce(server: AppServer) -> None:
        if not reuse_port or os.environ.get("CDNLAB_EDGE_WORKER") == "0":
            print(
                f"cdn edge: {settings.name} listening on {server.url} "
                f"(upstream {settings.upstream_kind} {settings.upstream_url}, "
                f"{settings.workers} worker{'s' if settings.workers > 1 else ''})",
                flush=True,
            )

    await serve_until_signalled(EdgeServer(settings, reuse_port=reuse_port), announce)


def _event_loop_run(settings: EdgeSettings, reuse_port: bool) -> None:
    run_event_loop(serve_forever(settings, reuse_port=reuse_port))


def _pick_port(host: str) -> tuple[int, socket.socket]:
    """A free port on ``host``, held by an unlistening SO_REUSEPORT socket until workers bind."""
    holder = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host or "0.0.0.0", 0))
    return holder.getsockname()[1], holder


def run(settings: EdgeSettings) -> None:
    """Serve ``settings`` (with ``settings.workers`` processes) until SIGINT or SIGTERM."""
    if settings.workers <= 1:
        _event_loop_run(settings, reuse_port=False)
        return
    holder = None
    if settings.port == 0:
        port, holder = _pick_port(settings.host)
        settings = replace(settings, port=port)
    children: list[int] = []
    for index in range(settings.workers):
        pid = os.fork()
        if pid == 0:  # worker: its own loop, app and cache
            code = 0
            try:
                if holder is not None:
                    holder.close()
                os.environ["CDNLAB_EDGE_WORKER"] = str(index)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                # SIGTERM before this worker's loop takes it over (serve_forever): nothing is
                # listening or in flight yet, so a clean exit is the graceful stop.
                signal.signal(signal.SIGTERM, lambda _signum, _frame: os._exit(0))
                _event_loop_run(settings, reuse_port=True)
            except BaseException as exc:  # a worker must never fall back into the parent's code
                print(f"cdn edge: worker {index} failed: {exc}", file=sys.stderr, flush=True)
                code = 1
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        while True:
            try:
                _, code = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        status = status or (os.waitstatus_to_exitcode(code) if code else 0)
    if holder is not None:
        holder.close()
    if status:
        raise SystemExit(status)
