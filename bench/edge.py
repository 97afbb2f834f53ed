"""Edge cache-hit throughput and latency, against bare aiohttp, nginx proxy_cache and Varnish.

Usage: .venv/bin/python bench/edge.py [--duration 5] [--connections 32] [--rounds 3]
       [--targets edge1,edge2,bare,nginx,varnish] [--edge-root DIR] [--json out.json]

Starts one `cdn origin` and every target at once, each warmed with a 1 KiB and a 100 KiB
object: `cdn edge` with 1 and 2 workers, a bare aiohttp + uvloop server answering bytes from
a dict with one catch-all handler (what any aiohttp hit path costs at least: no caching
logic), nginx with one worker and proxy_cache, varnishd with malloc storage. Then `--rounds`
rounds each run `wrk` once per target and size, the targets interleaved, so load from other
processes on the machine falls on all of them alike; the load average is recorded with every
run. Reported per target and size: the best round's requests/s (and its p50/p99 at full load),
the median round's requests/s, then p99 with the rate held near half of that peak: wrk with a
per-connection Lua ``delay()`` (closed loop, so coordinated omission is not corrected; wrk2 is
not packaged in Debian). Ratios edge / reference use the best rounds. `--edge-root` runs the
edge from another checkout; `--baseline-root DIR` adds a 1-worker edge from DIR to the same
rounds (before/after comparisons). Loopback only; every run is bounded.
Targets whose binary is missing are skipped with a message. Install the references with:
apt-get install -y wrk nginx varnish. Speed is printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
OBJECTS = {"1KiB": 1024, "100KiB": 100 * 1024}
TARGETS = ("edge1", "edge2", "bare", "nginx", "varnish")
LABELS = {
    "baseline": "baseline x1",
    "edge1": "cdn edge x1",
    "edge2": "cdn edge x2",
    "bare": "bare aiohttp",
    "nginx": "nginx x1",
    "varnish": "varnish",
}


@dataclass
class Run:
    """One wrk run at full load."""

    rps: float
    p50_ms: float
    p99_ms: float
    loadavg: float


@dataclass
class Result:
    """All runs of one target and object size, and the half-rate run."""

    target: str
    size: str
    runs: list[Run] = field(default_factory=list)
    half_rate_rps: float | None = None
    half_rate_p99_ms: float | None = None
    half_rate_loadavg: float | None = None

    @property
    def best(self) -> Run:
        return max(self.runs, key=lambda run: run.rps)

    @property
    def median_rps(self) -> float:
        return statistics.median(run.rps for run in self.runs)


def loadavg() -> float:
    """The 1-minute load average (other processes sharing the cores)."""
    return os.getloadavg()[0]


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
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(
    url: str, duration: int, connections: int, script: str | None = None
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one wrk run."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        argv += ["-s", script]
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration + 30).stdout
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))
        p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
    except (AttributeError, ValueError) as exc:
        raise RuntimeError(f"cannot read wrk's output ({exc}):\n{out}") from None
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered non-2xx statuses under load:\n{out}")
    return rps, p50, p99


def half_rate(url: str, peak: float, duration: int, tmp: Path) -> tuple[float, float]:
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


def object_url(base: str, size: int) -> str:
    return f"{base}/obj/{size}?size={size}"


def warm(base: str) -> None:
    """Fetch each object three times (a miss, then hits)."""
    for size in OBJECTS.values():
        for _ in range(3):
            with urllib.request.urlopen(object_url(base, size), timeout=5) as response:
                response.read()


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
    """A bare aiohttp + uvloop proxy's hit path: one catch-all handler, bytes from a dict.

    The usual aiohttp way (Application, one catch-all route, ``web.Response``, no access log),
    with the origin's own header lines, keyed by the request target like a cache.
    """
    import uvloop
    from aiohttp import web

    headers = {
        "Content-Type": "application/octet-stream",
        "Cache-Control": "public, max-age=3600",
        "ETag": '"bench"',
    }
    responses = {object_url("", size): b"x" * size for size in OBJECTS.values()}

    async def handle(request: web.Request) -> web.Response:
        body = responses.get(request.raw_path)
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(
        app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop()
    )


def start_targets(
    stack: contextlib.ExitStack,
    names: list[str],
    origin_port: int,
    edge_root: Path,
    baseline_root: Path | None,
    tmp: Path,
) -> dict[str, str]:
    """Start every target in ``names``; their base URLs (skipped ones are left out)."""
    origin = f"http://127.0.0.1:{origin_port}"
    bases: dict[str, str] = {}
    for name in names:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        if name in ("edge1", "edge2", "baseline"):
            workers = 2 if name == "edge2" else 1
            root = baseline_root if name == "baseline" and baseline_root else edge_root
            env = {**os.environ, "PYTHONPATH": str(root)}
            argv = [PYTHON, "-m", "cli.main", "edge", "--port", str(port), "--origin", origin]
            stack.enter_context(process([*argv, "--workers", str(workers)], cwd=root, env=env))
            wait_http(base + "/_cdn/health")
            time.sleep(0.5 * workers)  # every worker listening
        elif name == "bare":
            stack.enter_context(process([PYTHON, __file__, "--serve-bare", str(port)], cwd=ROOT))
            wait_http(object_url(base, 1024))
        elif name == "nginx":
            if not shutil.which("nginx"):
                print("nginx is not installed (apt-get install -y nginx): skipping it")
                continue
            (tmp / "nginx-cache").mkdir(mode=0o777)
            (tmp / "nginx-cache").chmod(0o777)
            stack.enter_context(process(["nginx", "-c", str(nginx_conf(tmp, port, origin_port))]))
            wait_http(base + "/obj/1")
        elif name == "varnish":
            if not shutil.which("varnishd"):
                print("varnishd is not installed (apt-get install -y varnish): skipping it")
                continue
            vcl = tmp / "bench.vcl"
            vcl.write_text(
                f'vcl 4.1;\nbackend default {{ .host = "127.0.0.1"; .port = "{origin_port}"; }}\n'
            )
            workdir = tmp / "varnish"
            workdir.mkdir()
            argv = ["varnishd", "-F", "-n", str(workdir), "-a", f"127.0.0.1:{port}"]
            stack.enter_context(process([*argv, "-f", str(vcl), "-s", "malloc,256m"]))
            try:
                wait_http(base + "/obj/1")
            except RuntimeError as exc:
                print(f"varnish did not start: {exc}")
                continue
        warm(base)
        bases[name] = base
    return bases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=3, help="full-load runs per target")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated targets")
    parser.add_argument("--edge-root", default=str(ROOT), help="checkout to run cdn edge from")
    parser.add_argument(
        "--baseline-root",
        default=None,
        help="also run a 1-worker edge from this checkout (target 'baseline x1', same rounds)",
    )
    parser.add_argument("--no-half-rate", action="store_true", help="skip the half-rate p99 runs")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.serve_bare is not None:
        serve_bare(args.serve_bare)
        return 0
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk): nothing to measure", file=sys.stderr)
        return 1
    names = [name.strip() for name in args.targets.split(",") if name.strip()]
    if args.baseline_root:
        names.insert(1, "baseline")
    unknown = sorted(set(names) - set(TARGETS) - {"baseline"})
    if unknown:
        parser.error(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    origin_port = free_port()
    results = {(name, size): Result(LABELS[name], size) for name in names for size in OBJECTS}
    with (
        tempfile.TemporaryDirectory(prefix="cdnlab-bench-") as tmpdir,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmpdir)
        tmp.chmod(0o755)  # nginx and varnish workers run as their own users
        stack.enter_context(
            process([PYTHON, "-m", "cli.main", "origin", "--port", str(origin_port)], cwd=ROOT)
        )
        wait_http(f"http://127.0.0.1:{origin_port}/_cdn/health")
        baseline = Path(args.baseline_root) if args.baseline_root else None
        bases = start_targets(stack, names, origin_port, Path(args.edge_root), baseline, tmp)
        print(
            f"wrk -t1 -c{args.connections} -d{args.duration}s, {args.rounds} rounds; "
            f"edge from {args.edge_root}; {os.cpu_count()} cpus; loadavg {loadavg():.2f}",
            flush=True,
        )
        for round_no in range(1, args.rounds + 1):
            for size_name, size in OBJECTS.items():
                for name, base in bases.items():
                    load = loadavg()
                    rps, p50, p99 = wrk(object_url(base, size), args.duration, args.connections)
                    results[(name, size_name)].runs.append(Run(rps, p50, p99, load))
                    print(
                        f"  round {round_no} {LABELS[name]:13} {size_name:7} {rps:9.0f} req/s "
                        f"p50 {p50:6.2f} ms p99 {p99:6.2f} ms  (loadavg {load:.2f})",
                        flush=True,
                    )
        if not args.no_half_rate:
            for size_name, size in OBJECTS.items():
                for name, base in bases.items():
                    result = results[(name, size_name)]
                    result.half_rate_loadavg = loadavg()
                    result.half_rate_rps, result.half_rate_p99_ms = half_rate(
                        object_url(base, size), result.best.rps, args.duration, tmp
                    )
    measured = [result for result in results.values() if result.runs]
    print_table(measured)
    print_ratios(measured)
    if args.json:
        rows = [{**asdict(r), "best_rps": r.best.rps, "median_rps": r.median_rps} for r in measured]
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def print_table(results: list[Result]) -> None:
    print(
        "\ntarget        size      best req/s  median   p50 ms  p99 ms  loadavg"
        "  | half-rate req/s  p99 ms  loadavg"
    )
    for r in results:
        best = r.best
        half = (
            f"  | {r.half_rate_rps:15.0f} {r.half_rate_p99_ms:7.2f} {r.half_rate_loadavg:8.2f}"
            if r.half_rate_rps is not None
            else ""
        )
        print(
            f"{r.target:13} {r.size:7} {best.rps:12.0f} {r.median_rps:7.0f} "
            f"{best.p50_ms:8.2f} {best.p99_ms:7.2f} {best.loadavg:8.2f}{half}"
        )


def print_ratios(results: list[Result]) -> None:
    by = {(r.target, r.size): r for r in results}
    print("\nratios (best requests/s):")
    references = ("nginx x1", "varnish", "bare aiohttp", "baseline x1")
    for edge in ("cdn edge x1", "cdn edge x2", "baseline x1", "bare aiohttp"):
        for reference in references:
            for size in OBJECTS:
                if reference != edge and (edge, size) in by and (reference, size) in by:
                    ratio = by[(edge, size)].best.rps / by[(reference, size)].best.rps
                    print(f"  {edge} / {reference} @ {size}: {ratio:.0%}")


if __name__ == "__main__":
    sys.exit(main())
