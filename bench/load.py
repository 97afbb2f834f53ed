"""How fast can one `cdn load` process drive a trivial server with the schedule kept?

Starts a trivial aiohttp server (uvloop, 100-byte bodies) in another process on loopback, then
runs the load generator in this process at increasing constant rates for a few seconds each and
prints a table: asked, achieved, schedule lag p99, latency p99, errors and drops. The maximum
sustainable rate is the highest step with lag p99 < 1 ms, achieved within 2% of asked, and
no errors or drops.

    .venv/bin/python bench/load.py [--seconds 3] [--rates 500,1000,2000,...]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request

from rich.console import Console
from rich.table import Table

from loadgen import LoadPlan, run_load_sync

SERVER = r"""
import sys, uvloop
from aiohttp import web
BODY = b"x" * 100
async def obj(request):
    return web.Response(body=BODY, headers={"X-Cache": "HIT"})
app = web.Application()
app.router.add_get("/obj/{id}", obj)
uvloop.install()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
DEFAULT_RATES = "500,1000,1500,2000,2500,3000,4000,5000,6000,8000"
LAG_LIMIT_MS = 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/obj/1", timeout=1) as response:
                response.read()
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("bench server did not start")


def main() -> int:
    """Run the steps and print the table and the max sustainable rate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each step")
    parser.add_argument("--rates", default=DEFAULT_RATES, help="comma-separated rates to try")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    console = Console(width=120)
    table = Table(title=f"cdn load against a trivial aiohttp server ({args.seconds:g} s per step)")
    for column in (
        "asked",
        "achieved",
        "lag p50",
        "lag p99",
        "lat p50",
        "lat p99",
        "cpu µs/req",
        "err",
        "drop",
        "kept",
    ):
        table.add_column(column, justify="right")
    best = 0.0
    best_5ms = 0.0
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, time.monotonic() + 15)
        short = 0
        for rate in rates:
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            report = run_load_sync(
                LoadPlan(
                    targets=(url,),
                    rate=rate,
                    duration=args.seconds,
                    arrival="constant",
                    location_header=False,
                )
            )
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
                cpu_before.ru_utime + cpu_before.ru_stime
            )
            lag = report.lag_ms()
            latency = report.latency_ms()
            errors = report.stats.total.errors
            dropped = report.stats.dropped
            on_rate = abs(report.achieved_rate - rate) / rate < 0.02 and not errors and not dropped
            kept = on_rate and lag["p99"] < LAG_LIMIT_MS
            if kept:
                best = max(best, rate)
            if on_rate and lag["p99"] < 5.0:
                best_5ms = max(best_5ms, rate)
            table.add_row(
                f"{rate:.0f}",
                f"{report.achieved_rate:.0f}",
                f"{lag['p50']:.3f}",
                f"{lag['p99']:.3f}",
                f"{latency['p50']:.2f}",
                f"{latency['p99']:.2f}",
                f"{cpu / max(report.requests, 1) * 1e6:.0f}",
                str(errors),
                str(dropped),
                "yes" if kept else "no",
            )
            # Stop once the generator clearly cannot send the asked rate any more.
            short = short + 1 if report.achieved_rate < 0.9 * rate else 0
            if short >= 2:
                break
    finally:
        server.terminate()
        server.wait(10)
    console.print(table)
    console.print(f"max sustainable rate (lag p99 < {LAG_LIMIT_MS:g} ms): {best:.0f} requests/s")
    console.print(f"max rate with lag p99 < 5 ms: {best_5ms:.0f} requests/s")
    console.print(
        f"load average during the bench: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
