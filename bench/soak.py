"""Soak: does a node leak? RSS, open file descriptors and asyncio tasks of every node of the local
cluster, sampled every few seconds while the load generator sends a long bounded run.

Starts configs/local.toml as a cluster (free ports), runs ``--requests`` (default 1,000,000) at
``--rate`` (default 1,000/s) through the edges, samples each node every ``--every`` seconds
(RSS and fds from /proc, asyncio tasks from its /_cdn/health, and its open client connections:
established TCP sockets of the process on its own listening port, from /proc/PID/fd and
/proc/net/tcp{,6}), and prints per node the values at warm-up end, mid-run and the end, and
the growth over the last half of the run (the goal: < 5%). The machine load
(os.getloadavg()) is printed too: the cores are shared.

An edge holds one fd and one task per client connection, and how many connections the load
generator keeps open follows its bursts (on a shared machine it falls behind and catches up),
so raw fds and tasks move with the client, not with a leak. The table therefore also gives fds
and tasks **net of the client connections** (what the node holds beyond them: listening
sockets, upstream pools, files, its own tasks): a leak grows those.

    .venv/bin/python bench/soak.py [--requests 1000000] [--rate 1000] [--every 5] [--csv out.csv]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from cdn.topology import default_topology_path, load_topology
from cluster.launcher import Cluster
from cluster.relocate import relocate_topology
from loadgen import LoadPlan, run_load_sync

_ESTABLISHED = "01"  # /proc/net/tcp's st column


def _client_connections(pid: int, port: int, sockets: set[str]) -> int:
    """Established TCP connections whose local port is ``port`` among ``sockets`` (the inodes
    of ``pid``'s socket fds): the node's open client connections."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _ESTABLISHED:
                continue
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[9] in sockets:
                count += 1
    return count


def _sample(pid: int, url: str) -> tuple[int, int, int, int]:
    """(RSS bytes, open fds, asyncio tasks, client connections) of the node ``pid`` at ``url``."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    sockets: set[str] = set()
    fds = 0
    for name in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    port = urlsplit(url).port or 80
    clients = _client_connections(pid, port, sockets)
    with urllib.request.urlopen(url + "/_cdn/health", timeout=10) as response:
        tasks = int(json.loads(response.read())["process"]["asyncio_tasks"])
    return rss, fds, tasks, clients


def _growth(first: float, last: float) -> str:
    return f"{(last - first) / first * 100:+.1f}%" if first else "n/a"


def _net(warm: tuple, mid: tuple, end: tuple, column: int) -> str:
    """``column`` (fds or tasks) minus the client connections: warm / mid / end (growth)."""
    w, m, e = (row[column] - row[5] for row in (warm, mid, end))
    return f"{w} / {m} / {e} ({_growth(m, e)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--csv", metavar="FILE", help="write every sample here")
    args = parser.parse_args()
    console = Console(highlight=False, width=230)
    samples: list[tuple[float, str, int, int, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="cdnlab-soak-") as tmp:
        path = relocate_topology(default_topology_path(), tmp)
        topology = load_topology(path)
        with Cluster(path, state_dir=tmp, prometheus=False) as cluster:
            state = cluster.run_state()
            stop = threading.Event()
            started = time.monotonic()

            def watch() -> None:
                while not stop.is_set():
                    now = time.monotonic() - started
                    for node in state.nodes:
                        try:
                            samples.append((now, node.name, *_sample(node.pid, node.url)))
                        except OSError as exc:
                            console.print(f"{now:.0f}s {node.name}: {exc}")
                    stop.wait(args.every)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            edge_urls = tuple((n.name, n.url) for n in state.nodes if n.role == "edge")
            plan = LoadPlan(
                topology=topology, edge_urls=edge_urls, rate=args.rate, requests=args.requests
            )
            report = run_load_sync(plan)
            stop.set()
            watcher.join()
    elapsed = time.monotonic() - started
    if args.csv:
        with open(args.csv, "w", encoding="utf-8") as handle:
            handle.write("seconds,node,rss_bytes,fds,asyncio_tasks,client_connections\n")
            for row in samples:
                handle.write(",".join(str(value) for value in row) + "\n")
    table = Table(title=f"soak: {report.stats.total.requests} requests in {elapsed:.0f} s")
    for column in (
        "node",
        "RSS MiB (warm / mid / end)",
        "growth 2nd half",
        "fds",
        "tasks",
        "client connections",
        "fds net of clients",
        "tasks net of clients",
    ):
        table.add_column(column)
    for node in topology.nodes:
        rows = [row for row in samples if row[1] == node.name]
        if len(rows) < 3:
            continue
        warm = rows[max(1, len(rows) // 10)]
        mid, end = rows[len(rows) // 2], rows[-1]
        table.add_row(
            node.name,
            f"{warm[2] / 2**20:.1f} / {mid[2] / 2**20:.1f} / {end[2] / 2**20:.1f}",
            _growth(mid[2], end[2]),
            f"{warm[3]} / {mid[3]} / {end[3]} ({_growth(mid[3], end[3])})",
            f"{warm[4]} / {mid[4]} / {end[4]} ({_growth(mid[4], end[4])})",
            f"{warm[5]} / {mid[5]} / {end[5]}",
            _net(warm, mid, end, 3),
            _net(warm, mid, end, 4),
        )
    console.print(table)
    console.print(
        f"achieved {report.achieved_rate:.0f} req/s, errors {report.stats.total.errors}"
        f" {dict(report.stats.error_kinds)}, dropped {report.stats.dropped}, "
        f"load average {os.getloadavg()}"
    )
    for warning in report.warnings():
        console.print(f"note: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
