"""Helpers for tests that run `cdn edge` / `cdn origin` as subprocesses."""

from __future__ import annotations

import asyncio
import subprocess

import aiohttp


async def wait_healthy(url: str, process: subprocess.Popen, attempts: int = 300) -> None:
    """Wait until ``url``/_cdn/health answers 200; fail if the process exits or never answers."""
    async with aiohttp.ClientSession() as session:
        for _ in range(attempts):
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}")
            try:
                async with session.get(url + "/_cdn/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not become healthy")
