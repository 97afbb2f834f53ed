"""Run a topology as a local cluster: origin, shields and edges as processes on this machine.

Checks every node's port first (a busy port stops here with the node and port named), starts the
origin (every one of an [[origin]] list), then the shields, then the edges, waiting until each
answers /_cdn/health, and prints a table of the nodes. Their logs follow, each line prefixed with
the node name. Ctrl-C or SIGTERM stops every node, edges first (SIGTERM to each process group:
the node drains; SIGKILL after --grace seconds), and frees the ports.

The admin token for purges is $CDNLAB_ADMIN_TOKEN, or a fresh random one. It and the node URLs and
pids are written to the run-state file ($CDNLAB_STATE_DIR or ./.cdnlab/run/<topology name>.json),
where `cdn purge` and `cdn load` find them; the file is removed on stop.

Prometheus starts too when the `prometheus` binary is installed (or with --prometheus), scraping
every node's /_cdn/metrics on a free port shown in the table; --no-prometheus skips it.

examples:
  cdn up                          # configs/local.toml: origin, shield-fra, three EU edges
  cdn up configs/world.toml --no-prometheus
  cdn up gateway                  # two [[origin]]s in an origin group, edge-par (docs/gateway.md)
  cdn purge --tag catalog         # in another terminal, while `cdn up` runs
"""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cdn.topology import Topology, default_topology_path, load_topology
from cdn.units import format_size
from cli.argtypes import topology_file
from cli.errors import UserError
from cluster.errors import ClusterError
from cluster.launcher import PROMETHEUS_NAME, Cluster

NAME = "up"
HELP = "run a topology as local processes (origin, shields, edges) until Ctrl-C"

COLORS = ("cyan", "green", "magenta", "yellow", "blue", "bright_cyan", "bright_green", "red")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(BaseException):
    """Raised in the main thread by the first Ctrl-C / SIGTERM / SIGHUP."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cdn up`."""
    parser.add_argument(
        "topology",
        nargs="?",
        type=topology_file,
        default=None,
        help="topology TOML file or built-in name: local, world (default: local)",
    )
    parser.add_argument(
        "--prometheus",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="start Prometheus for the cluster (default: when the binary is installed)",
    )
    parser.add_argument(
        "--scrape-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="Prometheus scrape interval (default 5)",
    )
    parser.add_argument(
        "--health-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long each node may take to answer /_cdn/health (default 30)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="on stop, wait this long after SIGTERM before SIGKILL; nodes drain meanwhile "
        "(default 15; the nodes' drain deadline is 10)",
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        help="directory of the run-state file (default $CDNLAB_STATE_DIR or ./.cdnlab/run)",
    )
    parser.add_argument("--no-logs", action="store_true", help="do not stream the nodes' output")


def _console() -> Console:
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=200)
    return console


def node_table(topology: Topology, prometheus_url: str | None) -> Table:
    """The table `cdn up` prints once every node is healthy."""
    table = Table(title=f"cdnlab cluster {topology.name!r} ({topology.source})")
    for column in ("node", "role", "URL", "city", "upstream", "group", "cache", "policy"):
        table.add_column(column, no_wrap=column in ("node", "URL"))
    for node in topology.nodes:
        cache = node.role != "origin"
        table.add_row(
            node.name,
            node.role,
            node.url
            if node.tls_port is None
            else f"{node.url} https://{node.host}:{node.tls_port}",
            node.location.label,
            node.upstream or "-",
            node.group or "-",
            format_size(node.cache_size) if cache else "-",
            node.policy if cache else "-",
        )
    if prometheus_url:
        table.add_row(PROMETHEUS_NAME, "metrics", prometheus_url, "-", "-", "-", "-", "-")
    return table


class LogPrinter:
    """Prints each node's output lines with a colored ``[name]`` prefix."""

    def __init__(self, console: Console, names: list[str]) -> None:
        self.console = console
        self.width = max(len(name) for name in names) + 2
        self.styles = {name: COLORS[i % len(COLORS)] for i, name in enumerate(names)}

    def __call__(self, name: str, line: str) -> None:
        prefix = f"[{name}]".ljust(self.width)
        self.console.print(Text.assemble((prefix, self.styles.get(name, "white")), " ", line))


def run(args: argparse.Namespace) -> int:
    """Start the cluster, stream its logs, stop it on a signal."""
    path = Path(args.topology) if args.topology else default_topology_path()
    console = _console()

    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return  # already stopping: a second Ctrl-C must not interrupt the cleanup
        stopping = True
        raise StopRequested(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    cluster: Cluster | None = None
    try:
        cluster = _make_cluster(args, path, console)
        try:
            cluster.start()
        except ClusterError as exc:
            raise UserError(str(exc)) from None
        _show_started(console, cluster)
        _watch(console, cluster)
        return 1
    except StopRequested:
        if cluster is not None:
            console.print("stopping the cluster...", style="bold")
            cluster.stop()
            console.print("stopped: every node exited and its port is free", style="bold")
        return 0
    finally:
        stopping = True
        if cluster is not None:
            cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _make_cluster(args: argparse.Namespace, path: Path, console: Console) -> Cluster:
    topology = load_topology(path)
    names = [node.name for node in topology.nodes] + [PROMETHEUS_NAME]
    return Cluster(
        path,
        prometheus=args.prometheus,
        scrape_interval=args.scrape_interval,
        state_dir=args.state_dir,
        log_sink=None if args.no_logs else LogPrinter(console, names),
        health_timeout=args.health_timeout,
        stop_grace=args.grace,
        announce=lambda message: console.print(f"cdn up: {message}", style="dim"),
    )


def _show_started(console: Console, cluster: Cluster) -> None:
    console.print(node_table(cluster.topology, cluster.prometheus_url))
    console.print(f"admin token and pids: {cluster.state_path}")
    edge_url = cluster.urls[cluster.topology.edges[0].name]
    origin = cluster.topology.origin
    if origin.kind == "storage":
        console.print(
            f"try: aws --endpoint-url {origin.url} s3 cp FILE s3://BUCKET/KEY   "
            f"curl -i {edge_url}/BUCKET/KEY   (docs/storage.md)"
        )
    else:
        console.print(
            f"try: curl -i {edge_url}/obj/1   "
            f"cdn purge --topology {cluster.topology_file} --tag catalog"
        )
    console.print("Ctrl-C stops every node.", style="bold")


def _watch(console: Console, cluster: Cluster) -> None:
    """Report nodes that die; return when none is left (a signal ends it otherwise)."""
    node_names = {node.name for node in cluster.nodes}
    while True:
        for name, code in cluster.exited():
            console.print(f"cdn up: {name} exited with status {code}", style="bold red")
        alive = [
            name
            for name, child in cluster.children.items()
            if name in node_names and child.returncode() is None
        ]
        if not alive:
            console.print("cdn up: every node has exited; stopping", style="bold red")
            return
        time.sleep(0.25)
