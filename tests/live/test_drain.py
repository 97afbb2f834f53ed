"""Graceful drain (serving.drain): on SIGTERM a node reports draining, tells its peers, closes
its port, lets in-flight requests (streams included) finish, then exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from live_support import wait_healthy

from edge.leaving import LEAVING_PATH
from edge.settings import Peer
from serving.drain import DRAIN

ROOT = Path(__file__).resolve().parents[2]
STREAM = 50 * 1024 * 1024
SMALL = 100


@pytest.fixture
def edge_process(free_port: int) -> Any:
    """Start `cdn edge` as a subprocess: ``start(origin_url, *flags) -> (url, process)``."""
    processes: list[subprocess.Popen[bytes]] = []

    async def start(origin_url: str, *flags: str) -> tuple[str, subprocess.Popen[bytes]]:
        argv = [sys.executable, "-m", "cli.main", "edge", "--port", str(free_port)]
        process = subprocess.Popen(
            [*argv, "--origin", origin_url, *flags],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        processes.append(process)
        url = f"http://127.0.0.1:{free_port}"
        await wait_healthy(url, process)
        return url, process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


async def _arrived(http: aiohttp.ClientSession, origin: str, targets: list[str]) -> bool:
    async with http.get(origin + "/_cdn/stats") as response:
        seen = (await response.json())["targets"]
    return all(target in seen for target in targets)


async def _exit_code(process: subprocess.Popen[bytes], timeout: float = 60.0) -> int | None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return process.poll()


@pytest.mark.slow
async def test_in_flight_stream_and_requests_complete_across_sigterm(
    start_origin: Any, edge_process: Any, http: aiohttp.ClientSession
) -> None:
    origin = await start_origin()
    edge, process = await edge_process(origin, "--drain-timeout", "60s")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as streaming:
        stream = await streaming.get(edge + f"/obj/93?size={STREAM}")
        assert stream.status == 200
        received = len(await stream.content.readexactly(64 * 1024))  # in flight: the rest waits
        # Each small request waits 3 s at the origin: in flight at the edge when SIGTERM comes.
        targets = [f"/echo?delay=3s&i={i}" for i in range(SMALL)]

        async def small(target: str) -> int:
            async with streaming.get(edge + target) as response:
                await response.read()
                return response.status

        requests = [asyncio.create_task(small(target)) for target in targets]
        while not await _arrived(http, origin, targets):
            await asyncio.sleep(0.05)
        assert not any(task.done() for task in requests)
        process.send_signal(signal.SIGTERM)
        async for chunk in stream.content.iter_chunked(1024 * 1024):
            received += len(chunk)
        stream.release()
        statuses = await asyncio.gather(*requests)
    assert received == STREAM
    assert statuses == [200] * SMALL
    assert await _exit_code(process) == 0


async def test_a_draining_node_reports_draining_on_its_health(
    start_origin_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_origin_server()
    await server.app[DRAIN].start()
    async with http.get(server.url + "/_cdn/health") as response:
        assert response.status == 503
        assert (await response.json())["status"] == "draining"


async def test_a_draining_edge_tells_its_peers_before_it_closes(
    start_origin: Any, start_edge_server: Any, http: aiohttp.ClientSession, free_port: int
) -> None:
    origin = await start_origin()
    staying = await start_edge_server(
        origin, name="edge-a", peers=(Peer("edge-b", f"http://127.0.0.1:{free_port}"),)
    )
    leaving = await start_edge_server(
        origin, name="edge-b", port=free_port, peers=(Peer("edge-a", staying.url),)
    )
    await leaving.app[DRAIN].start()  # what SIGTERM does before the port closes
    async with http.get(staying.url + "/_cdn/health") as response:
        assert (await response.json())["peers"] == {"edge-b": "down"}
    assert leaving.listening


async def test_a_leaving_notice_needs_the_admin_token(
    start_origin: Any, start_edge: Any, http: aiohttp.ClientSession, edge_admin_headers: Any
) -> None:
    edge = await start_edge(await start_origin(), peers=(Peer("edge-b", "http://127.0.0.1:9"),))
    async with http.post(edge + LEAVING_PATH, json={"node": "edge-b"}) as response:
        assert response.status == 401


async def test_a_leaving_notice_for_a_stranger_is_404(
    start_origin: Any, start_edge: Any, http: aiohttp.ClientSession, edge_admin_headers: Any
) -> None:
    edge = await start_edge(await start_origin(), peers=(Peer("edge-b", "http://127.0.0.1:9"),))
    async with http.post(
        edge + LEAVING_PATH, json={"node": "edge-z"}, headers=edge_admin_headers
    ) as response:
        assert response.status == 404
        assert "edge-b" in await response.text()


async def test_a_malformed_leaving_notice_is_400(
    start_origin: Any, start_edge: Any, http: aiohttp.ClientSession, edge_admin_headers: Any
) -> None:
    edge = await start_edge(await start_origin(), peers=(Peer("edge-b", "http://127.0.0.1:9"),))
    async with http.post(edge + LEAVING_PATH, data=b"[1,", headers=edge_admin_headers) as response:
        assert response.status == 400
        assert "node" in await response.text()
