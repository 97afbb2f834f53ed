"""`cdn origin` as a command: --help, bad flags, and a real process that stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import aiohttp
from live_support import START_DEADLINE

from cdn.topology import default_topology_path

CDN = [sys.executable, "-m", "cli.main"]


def test_help_describes_the_command() -> None:
    result = subprocess.run([*CDN, "origin", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "Run the origin server" in result.stdout
    assert "--admin-token" in result.stdout and "--latency" in result.stdout


def test_bad_flag_value_is_a_clear_error_without_traceback() -> None:
    result = subprocess.run(
        [*CDN, "origin", "--error-rate", "2"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "--error-rate" in result.stderr and "Traceback" not in result.stderr


def test_missing_topology_file_is_a_clear_error() -> None:
    result = subprocess.run(
        [*CDN, "origin", "--topology", "no/such.toml"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "no/such.toml" in result.stderr and "Traceback" not in result.stderr


async def test_process_serves_health_and_exits_zero_on_sigterm(free_port: int) -> None:
    process = await asyncio.create_subprocess_exec(
        *CDN,
        "origin",
        "--topology",
        str(default_topology_path()),
        "--port",
        str(free_port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        status = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_DEADLINE  # start-up under a parallel run is slow
        async with aiohttp.ClientSession() as session:
            while status is None and loop.time() < deadline and process.returncode is None:
                try:
                    async with session.get(f"http://127.0.0.1:{free_port}/_cdn/health") as response:
                        status = response.status
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.05)
        assert status == 200, f"no health answer (exit status {process.returncode})"
        process.send_signal(signal.SIGTERM)
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0
        assert b"listening on" in stdout
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_busy_port_is_a_clear_error(free_port: int) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port))
        sock.listen()
        result = subprocess.run(
            [*CDN, "origin", "--port", str(free_port)], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr
