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
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from aiohttp import hdrs, web

from cdn.http import cache_status_member
from edge.app import PROXY, create_app
from edge.settings import EdgeSettings, fast_path_enabled
from edge.upstream import Clock, Sleep
from edge.wire import HitFirstRunner, pass_obs_text, routed_handler
from serving.guard import ErrorFields
from serving.server import AppServer, run_event_loop, serve_until_signalled
from serving.tls import SelfSigned, make_self_signed, server_context

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


def with_certificate(settings: EdgeSettings) -> tuple[EdgeSettings, SelfSigned | None]:
    """``settings`` with a TLS certificate: a self-signed one made now (in a fresh private
    folder, for the host names and addresses the edge answers to) when it has a TLS port and
    no certificate; the made certificate, or None."""
    if settings.tls_port is None or settings.tls_cert is not None:
        return settings, None
    names = ["localhost", "127.0.0.1", "::1"]
    if settings.host and settings.host not in names and settings.host != "0.0.0.0":
        names.append(settings.host)
    made = make_self_signed(Path(tempfile.mkdtemp(prefix="cdnlab-tls-")), tuple(names))
    return replace(settings, tls_cert=str(made.cert), tls_key=str(made.key)), made


class EdgeServer(AppServer):
    """One edge app listening on ``settings.host:settings.port`` (port 0: a free one), and
    with ``settings.tls_port`` on an HTTPS port beside it (same app and cache)."""

    def __init__(
        self,
        settings: EdgeSettings,
        *,
        reuse_port: bool = False,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
    ) -> None:
        settings, self.certificate = with_certificate(settings)
        pass_obs_text()  # field values' obs-text octets relayed as they came (edge.wire)
        self.settings = settings
        self._tls_context = (
            server_context(settings.tls_cert, settings.tls_key)
            if settings.tls_port is not None and settings.tls_cert and settings.tls_key
            else None
        )
        self._tls_site: web.TCPSite | None = None
        app = create_app(settings, sleep=sleep, clock=clock)
        runner = HitFirstRunner(
            app,
            dispatch=proxy_first,
            hit=app[PROXY].wire_hit if fast_path_enabled(settings) else None,
            hold=app[PROXY].holds_wire_answers,
            limits=settings.limits,
            error_fields=connection_error_fields(settings),
            access_log=None,
            shutdown_timeout=settings.shutdown_timeout,
            handle_signals=False,
        )
        super().__init__(
            app, runner, settings.host, settings.port, reuse_port=reuse_port, backlog=1024
        )

    @property
    def tls_url(self) -> str | None:
        """The HTTPS listener's base URL (None without one, or before it listens)."""
        if self._tls_site is None:
            return None
        return f"https://{self._host or '0.0.0.0'}:{self._tls_site.port}"

    async def listen(self) -> None:
        """Open the HTTP port, then the HTTPS one when there is one."""
        await super().listen()
        if self._tls_context is None or self._tls_site is not None:
            return
        assert self.settings.tls_port is not None
        site = web.TCPSite(
            self._runner,
            self._host,
            self.settings.tls_port,
            reuse_address=True,
            reuse_port=self._reuse_port or None,
            backlog=self._backlog,
            ssl_context=self._tls_context,
        )
        try:
            await site.start()
        except OSError as exc:  # the HTTP port is open: close it, and name the HTTPS one
            await super().stop_listening()
            raise OSError(
                exc.errno, f"HTTPS port {self.settings.tls_port}: {exc.strerror or exc}"
            ) from None
        self._tls_site = site
        self.app[PROXY].https_port = site.port

    async def stop_listening(self) -> None:
        """Close the HTTPS port (when open) and the HTTP one."""
        if self._tls_site is not None:
            site, self._tls_site = self._tls_site, None
            await site.stop()
        await super().stop_listening()


async def serve_forever(settings: EdgeSettings, *, reuse_port: bool = False) -> None:
    """Run one EdgeServer until SIGINT/SIGTERM (graceful: in-flight requests finish)."""

    def announce(server: AppServer) -> None:
        if not reuse_port or os.environ.get("CDNLAB_EDGE_WORKER") == "0":
            tls_url = server.tls_url if isinstance(server, EdgeServer) else None
            print(
                f"cdn edge: {settings.name} listening on {server.url}"
                + (f" and {tls_url}" if tls_url else "")
                + f" (upstream {settings.upstream_kind} {settings.upstream_url}, "
                f"{settings.workers} worker{'s' if settings.workers > 1 else ''})",
                flush=True,
            )
            if isinstance(server, EdgeServer) and server.certificate is not None:
                announce_certificate(server.certificate)

    await serve_until_signalled(EdgeServer(settings, reuse_port=reuse_port), announce)


def announce_certificate(made: SelfSigned) -> None:
    """Print where a self-signed certificate is and its SHA-256 fingerprint (to compare with
    what a client sees, or to give curl as --cacert)."""
    print(
        f"cdn edge: self-signed TLS certificate {made.cert} (local use only), "
        f"SHA-256 fingerprint {made.fingerprint}",
        flush=True,
    )


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
    if settings.workers > 1:  # one certificate for all workers, made before they fork
        settings, made = with_certificate(settings)
        if made is not None:
            announce_certificate(made)
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
