"""`cdn storage` against moto's S3 server: GET 1 KiB, GET 1 MiB and PUT 1 MiB over raw HTTP,
and the storage node's memory while a 1 GiB object goes in and out.

Usage: .venv/bin/python bench/storage.py [--duration 5] [--connections 16] [--rounds 2]
       [--big-mib 1024] [--skip-moto] [--json out.json]

Starts `cdn storage` (authentication off, data in a temporary folder) and `moto_server` (the
`moto[server]` test dependency) on loopback, creates one bucket and the objects in both, then
runs `wrk` for each operation against each server, the servers interleaved round by round so
load from other processes falls on both alike; the load average is printed with each run.
Requests carry the same SigV4-shaped Authorization header (moto routes on it and checks no
signature; the storage node has no keys, so it checks none either). Reported: the best
round's successful (2xx) requests/s per server and operation (error answers are counted and
shown, not included), and the server process's CPU time per successful request (user + system,
from /proc: a figure other processes' load disturbs far less than requests/s), and storage / moto ratios (goal: >= 10x on the
1 KiB GET). Then one 1 GiB PUT and GET streamed through aiohttp while the storage process's
resident memory is sampled (goal: growth <= 64 MiB). Speed is printed, never asserted.
Install wrk with: apt-get install -y wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/s3/aws4_request,"
    " SignedHeaders=host, Signature=" + "0" * 64
)
OPERATIONS = ("GET 1KiB", "GET 1MiB", "PUT 1MiB")
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {process.returncode}")
        try:
            request = urllib.request.Request(url + "/", headers={"Authorization": AUTH})
            with urllib.request.urlopen(request, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def server(argv: list[str], url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        wait_up(url, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def put(url: str, body: bytes) -> None:
    request = urllib.request.Request(
        url,
        data=body,
        method="PUT",
        headers={"Authorization": AUTH, "Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def prepare(base: str, body_1k: bytes, body_1m: bytes) -> None:
    put(base + "/bench", b"")
    put(base + "/bench/one-kib", body_1k)
    put(base + "/bench/one-mib", body_1m)
    put(base + "/bench/put-target", body_1m)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str, duration: float, connections: int, script: Path, pid: int
) -> tuple[float, int, float]:
    """Successful (2xx) requests/s of one wrk run, the error answers, and the server's CPU
    microseconds per successful request (a figure the machine's load disturbs much less)."""
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "-s",
        str(script),
        url,
    ]
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30).stdout
    cpu = cpu_seconds(pid) - cpu_before
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if total is None:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    seconds = float(total.group(2)) / (1000 if total.group(3) == "ms" else 1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(errors.group(1)) if errors else 0
    ok = int(total.group(1)) - failed
    return ok / seconds, failed, cpu / ok * 1e6 if ok else float("nan")


def scripts(folder: Path) -> dict[str, Path]:
    body_file = folder / "put-body"
    body_file.write_bytes(os.urandom(MiB))
    get = folder / "get.lua"
    get.write_text(f'wrk.headers["Authorization"] = "{AUTH}"\n')
    put_script = folder / "put.lua"
    put_script.write_text(
        f'local f = io.open("{body_file}", "rb")\n'
        "wrk.body = f:read('*a')\nf:close()\n"
        'wrk.method = "PUT"\n'
        f'wrk.headers["Authorization"] = "{AUTH}"\n'
        'wrk.headers["Content-Type"] = "application/octet-stream"\n'
    )
    return {"GET 1KiB": get, "GET 1MiB": get, "PUT 1MiB": put_script}


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


async def big_object(base: str, pid: int, size: int) -> dict[str, float]:
    """Stream ``size`` bytes in and out; the storage process's RSS before and at most during."""
    import aiohttp

    chunk = os.urandom(MiB)
    before = rss_kib(pid)
    peak = before
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, rss_kib(pid))
            await asyncio.sleep(0.05)

    async def body() -> Any:
        for _ in range(size // MiB):
            yield chunk

    sampler = asyncio.get_running_loop().create_task(sample())
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=900)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.put(
            base + "/bench/big",
            data=body(),
            headers={"Authorization": AUTH, "Content-Length": str(size)},
        ) as answer:
            assert answer.status == 200, await answer.text()
        put_seconds = time.perf_counter() - started
        started = time.perf_counter()
        digest = hashlib.md5()
        received = 0
        async with session.get(base + "/bench/big", headers={"Authorization": AUTH}) as answer:
            async for piece in answer.content.iter_chunked(MiB):
                received += len(piece)
                digest.update(piece)
        get_seconds = time.perf_counter() - started
    sampling = False
    await sampler
    expected = hashlib.md5()
    for _ in range(size // MiB):
        expected.update(chunk)
    assert received == size and digest.digest() == expected.digest(), (
        "the big object came back wrong"
    )
    return {
        "size_mib": size / MiB,
        "rss_before_mib": before / 1024,
        "rss_peak_mib": peak / 1024,
        "growth_mib": (peak - before) / 1024,
        "put_mib_per_s": size / MiB / put_seconds,
        "get_mib_per_s": size / MiB / get_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (servers interleaved)")
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the big object")
    parser.add_argument("--skip-moto", action="store_true", help="storage only")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    results: dict[str, dict[str, float]] = {"cdn storage": {}, "moto": {}}
    cpu: dict[str, dict[str, float]] = {"cdn storage": {}, "moto": {}}
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        folder = Path(tmp)
        lua = scripts(folder)
        body_1k, body_1m = os.urandom(1024), os.urandom(MiB)
        storage_port, moto_port = free_port(), free_port()
        storage_url = f"http://127.0.0.1:{storage_port}"
        moto_url = f"http://127.0.0.1:{moto_port}"
        storage_argv = [
            PYTHON,
            "-m",
            "cli.main",
            "storage",
            "--data",
            str(folder / "data"),
            "--port",
            str(storage_port),
        ]
        moto_argv = [
            str(Path(PYTHON).parent / "moto_server"),
            "-H",
            "127.0.0.1",
            "-p",
            str(moto_port),
        ]
        with contextlib.ExitStack() as stack:
            storage = stack.enter_context(server(storage_argv, storage_url))
            targets = {"cdn storage": storage_url}
            pids = {"cdn storage": storage.pid}
            if not args.skip_moto:
                pids["moto"] = stack.enter_context(server(moto_argv, moto_url)).pid
                targets["moto"] = moto_url
            for base in targets.values():
                prepare(base, body_1k, body_1m)
            paths = {
                "GET 1KiB": "/bench/one-kib",
                "GET 1MiB": "/bench/one-mib",
                "PUT 1MiB": "/bench/put-target",
            }
            for round_number in range(1, args.rounds + 1):
                for operation in OPERATIONS:
                    for name, base in targets.items():
                        rps, failed, cpu_us = wrk(
                            base + paths[operation],
                            args.duration,
                            args.connections,
                            lua[operation],
                            pids[name],
                        )
                        load = os.getloadavg()[0]
                        best = max(results[name].get(operation, 0.0), rps)
                        results[name][operation] = best
                        cpu[name][operation] = min(cpu[name].get(operation, math.inf), cpu_us)
                        print(
                            f"round {round_number}  {operation:9s} {name:12s} {rps:9.1f} req/s"
                            f"  {cpu_us:8.0f} us CPU/request   (load average {load:.2f})"
                            + (f"  [{failed} error answers not counted]" if failed else ""),
                            flush=True,
                        )
            print()
            print(
                f"{'operation':10s} {'storage req/s':>14s} {'moto req/s':>11s} {'ratio':>7s}"
                f"   {'storage us CPU':>15s} {'moto us CPU':>12s} {'CPU ratio':>10s}"
            )
            ratios, cpu_ratios = {}, {}
            for operation in OPERATIONS:
                ours = results["cdn storage"][operation]
                theirs = results["moto"].get(operation, math.nan)
                ratios[operation] = ours / theirs if theirs else math.nan
                our_cpu = cpu["cdn storage"][operation]
                their_cpu = cpu["moto"].get(operation, math.nan)
                cpu_ratios[operation] = their_cpu / our_cpu if our_cpu else math.nan
                print(
                    f"{operation:10s} {ours:14.1f} {theirs:11.1f} {ratios[operation]:6.1f}x"
                    f"   {our_cpu:15.0f} {their_cpu:12.0f} {cpu_ratios[operation]:9.1f}x"
                )
            print(
                f"load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
            )
            print()
            print(
                f"streaming a {args.big_mib} MiB object in and out of cdn storage ...", flush=True
            )
            memory = asyncio.run(big_object(storage_url, storage.pid, args.big_mib * MiB))
            print(
                f"RSS before {memory['rss_before_mib']:.1f} MiB, peak {memory['rss_peak_mib']:.1f} MiB:"
                f" growth {memory['growth_mib']:.1f} MiB (goal <= 64);"
                f" PUT {memory['put_mib_per_s']:.0f} MiB/s, GET {memory['get_mib_per_s']:.0f} MiB/s"
                f" (load average {os.getloadavg()[0]:.2f})"
            )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "requests_per_second": results,
                    "ratios": ratios,
                    "cpu_us_per_request": cpu,
                    "cpu_ratios": cpu_ratios,
                    "big_object": memory,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
