"""Streaming: large bodies pass through with bounded memory; cacheable ones are kept while sent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from live_support import wait_healthy

ROOT = Path(__file__).resolve().parents[2]
BIG = 200 * 1024 * 1024


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


@pytest.fixture
def edge_process(free_port):
    """Start `cdn edge` as a subprocess: ``start(origin_url, *flags) -> (url, pid)``."""
    processes: list[subprocess.Popen] = []

    async def start(origin_url: str, *flags: str) -> tuple[str, int]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "edge",
                "--port",
                str(free_port),
                "--origin",
                origin_url,
                *flags,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        processes.append(process)
        url = f"http://127.0.0.1:{free_port}"
        await wait_healthy(url, process)
        return url, process.pid

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.slow
async def test_200_mib_body_streams_through_with_bounded_edge_memory(
    start_origin, edge_process
) -> None:
    origin = await start_origin()
    edge, pid = await edge_process(origin, "--max-cacheable-size", "8MiB")
    before = rss_bytes(pid)
    peak = before
    received = 0
    async with (
        aiohttp.ClientSession() as session,
        session.get(edge + f"/obj/90?size={BIG}") as response,
    ):
        assert response.status == 200
        assert response.headers["X-Cache"] == "MISS"
        async for chunk in response.content.iter_chunked(256 * 1024):
            received += len(chunk)
            if received % (8 * 1024 * 1024) < 256 * 1024:
                peak = max(peak, rss_bytes(pid))
    peak = max(peak, rss_bytes(pid))
    assert received == BIG
    assert peak - before < 48 * 1024 * 1024, f"edge RSS grew by {(peak - before) >> 20} MiB"


async def test_cacheable_body_is_streamed_and_stored(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    size = 3 * 1024 * 1024  # above the read-whole limit: streamed while kept
    async with http.get(edge + f"/obj/91?size={size}") as response:
        first = await response.read()
        assert response.headers["X-Cache"] == "MISS"
        assert "stored" in response.headers["Cache-Status"]
    async with http.get(edge + f"/obj/91?size={size}") as response:
        assert response.headers["X-Cache"] == "HIT"
        assert await response.read() == first
    assert len(first) == size
    assert await origin_fetches(origin, f"/obj/91?size={size}") == 1


async def test_body_over_max_cacheable_size_is_not_stored(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, max_cacheable_size=100_000)
    for _ in range(2):
        async with http.get(edge + "/obj/92?size=200000") as response:
            assert len(await response.read()) == 200_000
            assert response.headers["X-Cache"] == "MISS"
    assert await origin_fetches(origin, "/obj/92?size=200000") == 2


async def test_evicted_bodies_leave_with_their_entries(
    start_origin, start_edge_server, http
) -> None:
    origin = await start_origin()
    server = await start_edge_server(origin, cache_size=50_000)
    for i in range(20):
        async with http.get(server.url + f"/obj/{100 + i}?size=10000") as response:
            await response.read()
    from edge.app import PROXY

    store = server.app[PROXY].store
    stats = store.stats()
    assert stats.bytes_stored <= 50_000
    assert stats.evictions >= 15
    # Bodies live only inside stored objects: what the store holds is all there is.
    assert sum(len(obj.body) for obj in store.entries()) == stats.bytes_stored
