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
