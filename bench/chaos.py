"""What each fault does to clients: the local cluster under load, one fault scenario at a time.

For each scenario of configs/chaos/ it starts configs/local.toml as a cluster (`cdn up`'s
``Cluster``, free ports, edges listing the origin after their shield, as
``upstream = ["shield-fra", "origin"]``), runs the open-loop load generator at ``--rate``
(default 1,000 requests/s; every request is a cacheable GET of the workload) while a
``FaultActor`` applies the scenario, and prints one row per scenario:

- errors: requests that failed (transport errors and 5xx), over the run and inside the window
  from the fault's start to 5 s after its end;
- p99 before / during: latency p99 of the seconds before the fault and of the fault window;
- recovery: seconds from the fault's end (its start for a kill) until 3 seconds in a row have
  no errors and a p99 within 2x (or +20 ms of) the p99 before, "-" if never within the run;
- origin requests: what the origin served during the run (its /_cdn/stats);
- stale served: responses whose Cache-Status says stale (stale-if-error during an outage).

``origin-down-stale`` runs with the /obj/ rule ``public, max-age=5, stale-if-error=300`` so
stored objects go stale during the outage; elsewhere objects stay fresh for a day.

Beside the measured figures, the simulator's prediction of the same scenario (``sim.faults``:
the same topology file, request stream, rate and duration, and the same fault schedule): errors
over the run and in the window, and origin requests, with "ok" where the prediction is within
10% or 5 requests of the measurement (the issue's goal).

Plus the achieved rate and the machine load (os.getloadavg()), since the cores are shared.
Runs are bounded: 10 s before each fault, the fault, then 15-20 s after.

    .venv/bin/python bench/chaos.py [--rate 1000] [--only stop-peer,origin-slow] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cdn.faults import load_fault_file
from cdn.topology import default_topology_path, load_topology
from cluster.faults import FaultActor, load_with_faults
from cluster.launcher import Cluster
from cluster.relocate import relocate_topology
from loadgen.plan import LoadPlan
from loadgen.runner import LoadRun
from loadgen.stats import decode, new_histogram, value_at_percentile

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's directory comes first on sys.path and "sim" would be bench/sim.py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
SCENARIOS = ROOT / "configs" / "chaos"
ORDER = (
    "kill-peer",
    "stop-peer",
    "kill-shield",
    "origin-down",
    "origin-down-stale",
    "origin-errors",
    "origin-slow",
)
# Scenarios run with objects that go stale within the run (and may be served stale 300 s).
SHORT_LIVED = {"origin-down-stale": 'cache_control = "public, max-age=5, stale-if-error=300"'}
AFTER = 20.0  # seconds of load after the fault ends (after its start for a kill)
# Anycast withdrawal of a hung edge: the load generator sends a request that has had no response
# byte for this long to the user's next-nearest edge (LoadPlan.head_timeout); the simulator
# models the same (SimOptions.head_timeout). Below the client timeout and 2 s above the
# edges' peer timeout (5 s), so a request a surviving edge forwarded to the hung peer has
# failed over there before the load generator would withdraw it from that (healthy) edge.
HEAD_TIMEOUT = 7.0
# The load generator's request timeout (LoadPlan.timeout; the simulator's
# SimOptions.client_timeout). Longer than the longest freeze (stop-peer: 10 s), as k6's 60 s
# default is: a response whose head and first bytes left a peer just before SIGSTOP cannot be
# moved to another edge (bytes reached the client), so with a timeout no longer than the freeze
# it fails whatever the CDN does; with this one it completes when the peer wakes (slow, not
# lost). 1,000 req/s with the default 10 s lost about one such response per freeze.
CLIENT_TIMEOUT = 30.0
# The load generator's connection cap: a hung edge holds a connection per request sent to it
# until the head timeout (about its users' rate x 7 s), and the cap is shared by every edge's
# pool, so the default 256 would starve the healthy edges' pools.
CONNECTIONS = 2048
WINDOW_TAIL = 5.0  # the fault window runs until this long after the fault ends


@dataclass(frozen=True, slots=True)
class Row:
    """One scenario's figures."""

    scenario: str
    fault: str
    requests: int
    achieved_rate: float
    errors: int
    errors_in_window: int
    p99_before_ms: float
    p99_during_ms: float
    recovery_s: float | None
    origin_requests: int
    stale: int
    load: tuple[float, float, float]
    actions: list[str]
    predicted_errors: int = 0
    predicted_errors_in_window: int = 0
    predicted_origin_requests: int = 0
    predicted_stale: int = 0
    # Where the errors fall: per second of the run, measured (when they ended) and predicted
    # (when they were sent).
    errors_per_second: tuple[int, ...] = ()
    predicted_errors_per_second: tuple[int, ...] = ()
    # What the errors were (the load generator's kinds: a status, timeout, connect ...).
    error_kinds: dict[str, int] = field(default_factory=dict)


def _topology_with_fallbacks(directory: Path, cache_control: str | None = None) -> Path:
    """configs/local.toml on free ports, each edge listing the origin after its shield
    (and the /obj/ cache rule's Cache-Control replaced by ``cache_control`` when given)."""
    path = relocate_topology(default_topology_path(), directory)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^upstream = "(shield-[\w-]+)"$', r'upstream = ["\1", "origin"]', text)
    if cache_control is not None:
        text = re.sub(r'(?m)^cache_control = "public, max-age=86400"$', cache_control, text)
    path.write_text(text, encoding="utf-8")
    load_topology(path)  # still valid
    return path


def _origin_requests(url: str) -> int:
    with urllib.request.urlopen(url + "/_cdn/stats", timeout=5) as response:
        stats = json.loads(response.read())
    return int(sum(stats.get("targets", {}).values()))


def _p99(seconds: list[Any], start: int, end: int) -> float:
    merged = new_histogram()
    for second in seconds[max(start, 0) : max(end, 0)]:
        histogram = second.latency if second.latency is not None else None
        if histogram is None and second.encoded:
            histogram = decode(second.encoded)
        if histogram is not None and histogram.get_total_count():
            merged.add(histogram)
    if not merged.get_total_count():
        return float("nan")
    return value_at_percentile(merged, 99) / 1000.0


def _recovery(seconds: list[Any], since: int, baseline_ms: float) -> float | None:
    limit = max(2 * baseline_ms, baseline_ms + 20.0)
    for start in range(since, len(seconds) - 3):
        window = seconds[start : start + 3]
        if all(s.errors == 0 for s in window) and _p99(seconds, start, start + 3) <= limit:
            return float(start - since)
    return None


def predict(
    path: Path,
    rate: float,
    duration: float,
    faults: tuple[Any, ...],
    head_timeout: float | None = HEAD_TIMEOUT,
    client_timeout: float = CLIENT_TIMEOUT,
) -> dict[str, Any]:
    """The simulator's run of the same scenario: its ``report["faults"]`` plus origin requests."""
    from dataclasses import replace

    from sim.model import SimOptions, Simulation

    topology = load_topology(path)
    workload = replace(topology.workload, rate=rate, duration=duration)
    report = (
        Simulation(
            replace(topology, workload=workload),
            SimOptions(faults=faults, head_timeout=head_timeout, client_timeout=client_timeout),
        )
        .run()
        .report
    )
    return {**report["faults"], "origin_requests": sum(report["faults"]["origins"].values())}


def within_goal(predicted: float, measured: float) -> bool:
    """The issue's goal: within 10% or 5 requests."""
    return abs(predicted - measured) <= max(5.0, 0.1 * abs(measured))


def run_scenario(name: str, rate: float, console: Console, timeout: float = CLIENT_TIMEOUT) -> Row:
    """Start a fresh cluster, load it at ``rate`` with scenario ``name``'s faults, measure."""
    import uvloop

    with tempfile.TemporaryDirectory(prefix="cdnlab-chaos-") as tmp:
        path = _topology_with_fallbacks(Path(tmp), SHORT_LIVED.get(name))
        topology = load_topology(path)
        faults = load_fault_file(
            SCENARIOS / f"{name}.toml",
            origin=topology.origin.name,
            nodes=[node.name for node in topology.nodes],
        )
        (fault,) = faults
        ends = fault.end if fault.end is not None else fault.at
        duration = ends + AFTER
        with Cluster(path, state_dir=tmp, prometheus=False) as cluster:
            state = cluster.run_state()
            edge_urls = tuple((n.name, n.url) for n in state.nodes if n.role == "edge")
            plan = LoadPlan(
                topology=topology,
                edge_urls=edge_urls,
                rate=rate,
                duration=duration,
                head_timeout=HEAD_TIMEOUT,
                timeout=timeout,
                connections=CONNECTIONS,
            )
            run = LoadRun(plan)
            actor = FaultActor(state, state_path=cluster.state_path)
            origin_before = _origin_requests(cluster.urls["origin"])
            report = uvloop.run(load_with_faults(run, actor, faults))
            origin = _origin_requests(cluster.urls["origin"]) - origin_before
        load = os.getloadavg()
        predicted = predict(path, rate, duration, faults, client_timeout=timeout)
    seconds = report.stats.seconds
    start = int(fault.at)
    window_end = int(ends + WINDOW_TAIL)
    errors_in_window = sum(s.errors for s in seconds[start:window_end])
    before = _p99(seconds, 2, start)
    during = _p99(seconds, start, window_end)
    stale = report.stats.by_cache_status.get("stale")
    per_second = predicted["per_second"]["errors"]
    row = Row(
        scenario=name,
        fault=fault.describe(),
        requests=report.stats.total.requests,
        achieved_rate=report.achieved_rate,
        errors=report.stats.total.errors,
        errors_in_window=errors_in_window,
        p99_before_ms=before,
        p99_during_ms=during,
        recovery_s=_recovery(seconds, int(ends), before),
        origin_requests=origin,
        stale=stale.responses if stale is not None else 0,
        load=load,
        actions=[
            f"{a.at:.1f}s {a.what}{'' if a.ok else ' FAILED: ' + a.detail}" for a in actor.actions
        ],
        predicted_errors=int(predicted["errors"]),
        predicted_errors_in_window=int(sum(per_second[start:window_end])),
        predicted_origin_requests=int(predicted["origin_requests"]),
        predicted_stale=int(predicted["stale_served"]),
        errors_per_second=tuple(s.errors for s in seconds),
        predicted_errors_per_second=tuple(int(n) for n in per_second),
        error_kinds={str(kind): int(n) for kind, n in report.stats.error_kinds.items()},
    )
    console.print(
        f"{name}: {row.requests} requests at {row.achieved_rate:.0f}/s, {row.errors} errors "
        f"({dict(report.stats.error_kinds)}), load {load[0]:.2f}"
    )
    return row


def _table(rows: list[Row], rate: float) -> Table:
    table = Table(title=f"cdnlab chaos: configs/local.toml at {rate:g} req/s (cacheable GETs)")
    for column in (
        "scenario",
        "fault",
        "achieved req/s",
        "errors (run / window)",
        "p99 before ms",
        "p99 during ms",
        "recovery s",
        "origin requests",
        "stale served",
        "sim errors (run / window)",
        "sim origin requests",
        "sim within goal",
        "load avg",
    ):
        table.add_column(column, justify="left" if column in ("scenario", "fault") else "right")
    for row in rows:
        table.add_row(
            row.scenario,
            row.fault,
            f"{row.achieved_rate:.0f}",
            f"{row.errors} / {row.errors_in_window}",
            f"{row.p99_before_ms:.1f}",
            f"{row.p99_during_ms:.1f}",
            "-" if row.recovery_s is None else f"{row.recovery_s:.0f}",
            str(row.origin_requests),
            str(row.stale),
            f"{row.predicted_errors} / {row.predicted_errors_in_window}",
            str(row.predicted_origin_requests),
            _goal(row),
            f"{row.load[0]:.2f}",
        )
    return table


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows (``asdict(Row)``, as --json writes them) as docs/reliability.md's table."""
    lines = [
        "| scenario | fault | achieved req/s | errors (run / window) | sim errors (run / window) "
        "| origin requests | sim origin requests | stale served | p99 before ms | p99 during ms "
        "| recovery s | load avg |",
        "|" + "---|" * 12,
    ]
    for r in rows:
        recovery = "-" if r["recovery_s"] is None else f"{r['recovery_s']:.0f}"
        lines.append(
            f"| {r['scenario']} | {r['fault']} | {r['achieved_rate']:.0f} "
            f"| {r['errors']} / {r['errors_in_window']} "
            f"| {r['predicted_errors']} / {r['predicted_errors_in_window']} "
            f"| {r['origin_requests']} | {r['predicted_origin_requests']} | {r['stale']} "
            f"| {r['p99_before_ms']:.0f} | {r['p99_during_ms']:.0f} | {recovery} "
            f"| {r['load'][0]:.1f} |"
        )
    return "\n".join(lines)


def _goal(row: Row) -> str:
    """Which predictions are within 10% or 5 requests: errors (run) and origin requests."""
    errors = "ok" if within_goal(row.predicted_errors, row.errors) else "off"
    origin = "ok" if within_goal(row.predicted_origin_requests, row.origin_requests) else "off"
    return f"errors {errors}, origin {origin}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s (default 1000)")
    parser.add_argument("--only", default=",".join(ORDER), help="scenarios, comma-separated")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument(
        "--timeout",
        type=float,
        default=CLIENT_TIMEOUT,
        help=f"the load generator's request timeout in s (default {CLIENT_TIMEOUT:g}; the "
        "simulator's the same)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="also print the table as Markdown (for docs)"
    )
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if not (SCENARIOS / f"{name}.toml").exists()]
    if unknown:
        print(f"chaos: no scenario {unknown[0]!r} (expected one of {', '.join(ORDER)})")
        return 2
    console = Console(highlight=False, width=200)
    started = time.monotonic()
    rows = []
    for name in names:
        try:
            rows.append(run_scenario(name, args.rate, console, args.timeout))
        except Exception as exc:  # one broken scenario must not lose the others' rows
            console.print(f"{name}: FAILED: {type(exc).__name__}: {exc}")
            continue
        if args.json:
            Path(args.json).write_text(
                json.dumps([asdict(row) for row in rows], indent=1) + "\n", encoding="utf-8"
            )
    console.print(_table(rows, args.rate))
    if args.markdown:
        print(markdown_table([asdict(row) for row in rows]))
    console.print(f"{time.monotonic() - started:.0f} s in all; load average {os.getloadavg()}")
    return 0 if len(rows) == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
