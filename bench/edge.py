"""Edge cache-hit throughput and latency, against nginx proxy_cache and Varnish on the same origin.

Usage: .venv/bin/python bench/edge.py [--duration 5] [--connections 32] [--json out.json]

Starts one `cdn origin`, then for each target (cdn edge with 1 and 2 workers, a bare aiohttp
server answering bytes from a dict (the ceiling of any aiohttp hit path), nginx with one
worker and proxy_cache, varnishd with malloc storage) warms a 1 KiB and a 100 KiB object and
runs `wrk` against it (loopback only, bounded runs). Reports requests/s, p50 and p99 at full
load, then p99 at half of that target's peak rate: wrk with a per-connection Lua ``delay()``
holds the rate near half of peak (closed loop, so coordinated omission is not corrected; wrk2
is not packaged in Debian). Targets whose binary is missing are skipped with a message.
Install the references with: apt-get install -y wrk nginx varnish
Speed is printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
OBJECTS = {"1KiB": 1024, "100KiB": 100 * 1024}


@dataclass
class Result:
    """One wrk run."""

    target: str
    size: str
    rps: float
    p50_ms: float
    p99_ms: float
    half_rate_rps: float | None = None
    half_rate_p99_ms: float | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds:g}s")


@contextlib.contextmanager
def process(argv: list[str], **kwargs) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, **kwargs
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group(0))
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    return value * 1000  # seconds


def wrk(
    url: str, duration: float, connections: int, script: str | None = None
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one wrk run."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    if script:
        argv += ["-s", script]
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))
    return rps, p50, p99


def half_rate(url: str, peak: float, duration: float, tmp: Path) -> tuple[float, float]:
    """(achieved requests/s, p99 ms) with the rate held near half of ``peak``.

    Each connection waits ``delay_ms`` after every response; a short calibration run gives
    the per-connection rate, and the connection count is scaled to reach the target.
    """
    target = peak / 2
    delay_ms = 2
    script = tmp / f"delay{delay_ms}.lua"
    script.write_text(f"function delay()\n  return {delay_ms}\nend\n")
    probe = 8
    probe_rps, _, _ = wrk(url, 2, probe, str(script))
    connections = max(1, min(256, round(probe * target / max(probe_rps, 1.0))))
    rps, _, p99 = wrk(url, duration, connections, str(script))
    return rps, p99


def measure(
    name: str, base: str, args: argparse.Namespace, tmp: Path, results: list[Result]
) -> None:
    for size_name, size in OBJECTS.items():
        url = f"{base}/obj/{size}?size={size}"
        for _ in range(3):
            with urllib.request.urlopen(url, timeout=5) as response:  # warm: miss, then hits
                response.read()
        rps, p50, p99 = wrk(url, args.duration, args.connections)
        result = Result(name, size_name, rps, p50, p99)
        if not args.no_half_rate:
            result.half_rate_rps, result.half_rate_p99_ms = half_rate(url, rps, args.duration, tmp)
        results.append(result)
        print(
            f"  {name:14} {size_name:7} {rps:10.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
            + (
                f"  | at {result.half_rate_rps:.0f} req/s p99 {result.half_rate_p99_ms:.2f} ms"
                if result.half_rate_rps
                else ""
            ),
            flush=True,
        )


def nginx_conf(tmp: Path, port: int, origin_port: int) -> Path:
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  proxy_cache_path {tmp}/nginx-cache levels=1:2 keys_zone=bench:10m max_size=256m;
  upstream origin {{ server 127.0.0.1:{origin_port}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{port} reuseport;
    location / {{
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      add_header X-Cache $upstream_cache_status;
    }}
  }}
}}
"""
    )
    return conf


def serve_bare(port: int) -> None:
    """The ceiling of an aiohttp + uvloop hit path: bytes from a dict, no caching logic."""
    import uvloop
    from aiohttp import web

    bodies = {f"/obj/{size}": b"x" * size for size in OBJECTS.values()}
    headers = {"Content-Type": "application/octet-stream", "Cache-Control": "max-age=3600"}

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=bodies[request.path], headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    web.run_app(
        app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--no-half-rate", action="store_true", help="skip the half-rate p99 runs")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.serve_bare is not None:
        serve_bare(args.serve_bare)
        return 0
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk): nothing to measure", file=sys.stderr)
        return 1
    results: list[Result] = []
    origin_port = free_port()
    origin = f"http://127.0.0.1:{origin_port}"
    with (
        tempfile.TemporaryDirectory(prefix="cdnlab-bench-") as tmpdir,
        process([PYTHON, "-m", "cli.main", "origin", "--port", str(origin_port)], cwd=ROOT),
    ):
        tmp = Path(tmpdir)
        tmp.chmod(0o755)  # nginx and varnish workers run as their own users
        wait_http(origin + "/_cdn/health")
        print(f"origin on {origin}; wrk -t1 -c{args.connections} -d{args.duration:g}s", flush=True)
        for workers in (1, 2):
            port = free_port()
            argv = [PYTHON, "-m", "cli.main", "edge", "--port", str(port), "--origin", origin]
            with process([*argv, "--workers", str(workers)], cwd=ROOT):
                wait_http(f"http://127.0.0.1:{port}/_cdn/health")
                time.sleep(0.5 * workers)  # every worker listening
                measure(f"cdn edge x{workers}", f"http://127.0.0.1:{port}", args, tmp, results)
        port = free_port()
        with process([PYTHON, __file__, "--serve-bare", str(port)], cwd=ROOT):
            wait_http(f"http://127.0.0.1:{port}/obj/1024")
            measure("bare aiohttp", f"http://127.0.0.1:{port}", args, tmp, results)
        if shutil.which("nginx"):
            port = free_port()
            (tmp / "nginx-cache").mkdir(mode=0o777)
            (tmp / "nginx-cache").chmod(0o777)
            conf = nginx_conf(tmp, port, origin_port)
            with process(["nginx", "-c", str(conf)]):
                wait_http(f"http://127.0.0.1:{port}/obj/1")
                measure("nginx x1", f"http://127.0.0.1:{port}", args, tmp, results)
        else:
            print("nginx is not installed (apt-get install -y nginx): skipping it", flush=True)
        if shutil.which("varnishd"):
            port = free_port()
            vcl = tmp / "bench.vcl"
            vcl.write_text(
                f'vcl 4.1;\nbackend default {{ .host = "127.0.0.1"; .port = "{origin_port}"; }}\n'
            )
            workdir = tmp / "varnish"
            workdir.mkdir()
            argv = ["varnishd", "-F", "-n", str(workdir), "-a", f"127.0.0.1:{port}"]
            argv += ["-f", str(vcl), "-s", "malloc,256m"]
            with process(argv):
                try:
                    wait_http(f"http://127.0.0.1:{port}/obj/1")
                    measure("varnish", f"http://127.0.0.1:{port}", args, tmp, results)
                except RuntimeError as exc:
                    print(f"varnish did not start: {exc}", flush=True)
        else:
            print("varnishd is not installed (apt-get install -y varnish): skipping it", flush=True)
    print_ratios(results)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    return 0


def print_ratios(results: list[Result]) -> None:
    by = {(r.target, r.size): r for r in results}
    print("\nratios (requests/s):")
    pairs = [(ref, size) for ref in ("nginx x1", "varnish", "bare aiohttp") for size in OBJECTS]
    for edge in ("cdn edge x1", "cdn edge x2", "bare aiohttp"):
        for reference, size in pairs:
            if reference == edge:
                continue
            if (edge, size) in by and (reference, size) in by:
                ratio = by[(edge, size)].rps / by[(reference, size)].rps
                print(f"  {edge} / {reference} @ {size}: {ratio:.0%}")


if __name__ == "__main__":
    sys.exit(main())
