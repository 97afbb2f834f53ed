"""demo.warm: the calibration's companion load, health GETs at a rate from a process of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from demo.warm import HEALTH_PATH, warm


class Health(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def nodes() -> Iterator[tuple[list[str], list[list[str]]]]:
    servers, urls, paths = [], [], []
    for _ in range(2):
        handler = type("Handler", (Health,), {"paths": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        urls.append(f"http://127.0.0.1:{server.server_address[1]}")
        paths.append(handler.paths)
    yield urls, paths
    for server in servers:
        server.shutdown()
        server.server_close()


class Clock:
    """A clock that advances only when paused (and a little per reading, for the busy wait)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1e-4
        return self.now

    def pause(self, seconds: float) -> None:
        self.now += seconds


def test_health_requests_go_to_every_node_in_turn_at_the_rate(nodes) -> None:
    urls, paths = nodes
    clock = Clock()
    ready = []
    answered = warm(
        urls, 100.0, 1.0, seed=1, clock=clock, pause=clock.pause, ready=lambda: ready.append(1)
    )
    assert ready == [1]
    sent = len(paths[0]) + len(paths[1])
    assert answered == sent
    assert 50 < sent - 2 < 200  # Poisson at 100/s over one second (plus one per node at start)
    assert abs(len(paths[0]) - len(paths[1])) <= 1
    assert set(paths[0]) | set(paths[1]) == {HEALTH_PATH}


def test_a_rate_that_is_not_positive_is_refused(nodes) -> None:
    urls, _ = nodes
    with pytest.raises(ValueError, match="rate 0"):
        warm(urls, 0.0, 1.0)
