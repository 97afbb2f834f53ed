"""Helpers for tests that run `cdn edge` / `cdn origin` as subprocesses."""

from __future__ import annotations

import asyncio
import subprocess

import aiohttp

# Starting a Python server process under a parallel test run (pytest -n 2 on 2 busy cores) can
# take tens of seconds: readiness is polled until this deadline, never assumed after a sleep.
START_DEADLINE = 90.0


async def wait_healthy(
    url: str, process: subprocess.Popen, timeout: float = START_DEADLINE
) -> None:
    """Poll ``url``/_cdn/health until it answers 200; fail if the process exits or the deadline
    (``timeout`` seconds) passes first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}")
            try:
                async with session.get(
                    url + "/_cdn/health", timeout=aiohttp.ClientTimeout(total=5)
                ) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not become healthy within {timeout:g}s")


# Longest a raw-socket test waits for a server to act on a 1 s limit (a loaded CI machine).
PATIENCE = 30.0


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw TCP connection to the server at ``url`` (http://host:port)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def read_to_close(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (at most PATIENCE s)."""
    return await asyncio.wait_for(reader.read(), PATIENCE)


async def get_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> bytes:
    """Send ``GET path`` on a raw connection; its header block, after reading its body."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PATIENCE)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await asyncio.wait_for(reader.readexactly(length), PATIENCE)
    return head
