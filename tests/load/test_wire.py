"""The lean keep-alive client: connections reused and opened ahead, bodies counted in any framing."""

from __future__ import annotations

import socketserver
import threading

from aiohttp import web

from loadgen import LoadPlan, run_load_sync
from loadgen.runner import LoadRun, uses_wire
from loadgen.schedule import Schedule

PEERS = web.AppKey("peers", list)
CLOSES = web.AppKey("closes", list)


def _peer_app() -> web.Application:
    """Answers /obj/{id}; odd ids stream a chunked body, even ids a sized one; logs client ports."""
    app = web.Application()
    app[PEERS] = []
    app[CLOSES] = []

    async def obj(request: web.Request) -> web.StreamResponse:
        request.app[PEERS].append(request.transport.get_extra_info("peername")[1])
        request.app[CLOSES].append(not request.keep_alive)
        if int(request.match_info["id"]) % 2:
            response = web.StreamResponse(headers={"X-Cache": "HIT"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(3):
                await response.write(b"y" * 100)
            await response.write_eof()
            return response
        return web.Response(body=b"x" * 300, headers={"X-Cache": "MISS"})

    app.router.add_get("/obj/{id}", obj)
    return app


def test_requests_reuse_the_connections_opened_before_the_schedule(serve) -> None:
    served = serve(_peer_app())
    plan = LoadPlan(targets=(served.url,), rate=200, requests=100, connections=4)
    run = LoadRun(plan)
    assert run.lean
    report = run_load_sync(plan)
    assert report.stats.total.responses == 100
    assert len(set(served.app[PEERS])) <= 4


def test_chunked_and_sized_bodies_count_their_bytes(serve) -> None:
    served = serve(_peer_app())
    report = run_load_sync(LoadPlan(targets=(served.url,), rate=200, requests=60))
    assert report.stats.total.errors == 0
    assert report.stats.total.bytes == 300 * 60


def test_new_connections_close_the_connection_after_every_request(serve) -> None:
    served = serve(_peer_app())
    plan = LoadPlan(targets=(served.url,), rate=200, requests=30, new_connections=True)
    run = LoadRun(plan)
    report = run_load_sync(plan)
    assert report.stats.total.responses == 30
    assert served.app[CLOSES] == [True] * 30
    assert run.warm_connections() == 0


def test_https_targets_take_the_full_client() -> None:
    plan = LoadPlan(targets=("https://127.0.0.1:9",), rate=100, requests=1)
    assert not uses_wire(plan, Schedule(plan))


def test_the_full_client_can_be_asked_for() -> None:
    plan = LoadPlan(targets=("http://127.0.0.1:9",), rate=100, requests=1, client="aiohttp")
    assert not uses_wire(plan, Schedule(plan))


class _CloseDelimited(socketserver.BaseRequestHandler):
    """Answers one request with a body that ends when the connection closes (HTTP/1.0 style)."""

    def handle(self) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        self.request.sendall(b"HTTP/1.1 200 OK\r\nX-Cache: HIT\r\n\r\n" + b"z" * 250)


def test_a_body_ended_by_the_connection_closing_is_a_response() -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _CloseDelimited)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        report = run_load_sync(LoadPlan(targets=(url,), rate=100, requests=10))
    finally:
        server.shutdown()
        server.server_close()
    assert report.stats.total.errors == 0
    assert report.stats.total.bytes == 250 * 10
    assert report.stats.total.hits == 10
