"""The simulator's prediction next to a live measurement, on the embedded default topology.

Starts configs/local.toml (or --topology) as `cdn up` does (origin, shield, three peer-sharded
edges on loopback), waits until every node is healthy and the edges have checked their peers,
sends a short open-loop load (--duration, default 20 s) with the topology's workload and seed,
stops the cluster, then simulates the same topology, workload, seed and duration, and prints
measured vs predicted side by side: the edge tier's request and byte hit ratio, origin requests,
and each edge's requests and hit ratios. With network.emulate_latency on in the topology (e.g.
--topology three-continents) the live path emulates the model's latency and a second table
compares p50/p90/p99 measured vs predicted, overall and per edge, each with a bootstrap interval;
--repeat N runs it N times and prints medians and ranges over the runs.

Ports: the topology's own ports (8100-8123 for configs/local.toml); when one is busy (e.g. a
`cdn up` is running), or with --free-ports, a copy of the topology on free ports is used instead.

Files in --out (default out/demo-<date>-<time>): compare.json and compare.png (the comparison),
load/ (load.json, CSV, PNG: what was measured), sim/ (report.json, CSV, PNG: what was predicted),
topology/ (the topology file used) and cluster.log (every node's output). A hit is a request
answered from a stored copy (cache status hit or stale); docs/demo.md has every definition.
Ctrl-C stops every node before exiting.

examples:
  cdn demo
  cdn demo --duration 10s --out out/demo
  cdn demo --free-ports --max-difference 0.03     # exit 1 if the hit ratios differ by more
  cdn demo --rate 5000 --processes 4               # a twin run at a high rate
  cdn demo --scheduler tcp://10.0.0.5:8786         # the load from a Dask cluster's workers
  cdn demo --faults configs/chaos/kill-peer.toml --duration 30s   # under a fault scenario
  cdn demo --topology three-continents --repeat 3  # latency twin, medians over 3 runs

With --faults FILE (a scenario of [[fault]] tables, docs/reliability.md) the load runs in one
process while the faults are acted out at their times, the simulator runs the same schedule, and
the table is measured vs predicted errors, stale served, origin requests, hit ratio and p99
before, during and after the fault window (faults.json in --out; demo/faults.py).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from rich.console import Console

from cdn.topology import default_topology_path
from cli import argtypes
from cli.errors import UserError

NAME = "demo"
HELP = "run the default CDN live and in the simulator; print measured vs predicted side by side"

DEFAULT_DURATION = 20.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `cdn demo` arguments."""
    parser.add_argument(
        "--topology",
        metavar="FILE",
        type=argtypes.topology_file,
        help="topology TOML file or built-in name (default local, i.e. configs/local.toml)",
    )
    parser.add_argument(
        "--duration",
        type=argtypes.duration,
        default=DEFAULT_DURATION,
        help="length of the load test and of the simulated run (default 20s)",
    )
    parser.add_argument("--seed", type=int, help="arrival seed (default: the workload's seed)")
    parser.add_argument(
        "--rate", type=argtypes.positive_float, help="requests/s (default: the workload's rate)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="output folder (default out/demo-<date>-<time>)"
    )
    parser.add_argument(
        "--free-ports",
        action="store_true",
        help="run the cluster on free ports, not the topology's (automatic when one is busy)",
    )
    parser.add_argument(
        "--settle",
        type=argtypes.duration,
        default=None,
        metavar="SECONDS",
        help="longest wait, once healthy, until every edge sees its peers up (default 10s)",
    )
    parser.add_argument(
        "--no-calibrate",
        action="store_true",
        help="with emulated latency, do not measure the live path's overheads before the load "
        "(the prediction then uses the topology's [network] *_ms overheads; docs/demo.md)",
    )
    parser.add_argument(
        "--max-difference",
        type=argtypes.fraction,
        default=None,
        metavar="F",
        help="exit 1 when the edge-tier hit ratios differ by more than F (e.g. 0.03)",
    )
    parser.add_argument(
        "--processes",
        default="auto",
        metavar="N|auto",
        help="load processes (default auto: the cores the cluster does not need)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:8786",
        help="send the load from the workers of this Dask cluster (see cdn load --help)",
    )
    parser.add_argument(
        "--faults",
        metavar="FILE",
        help="apply this fault scenario ([[fault]] tables) live and in the simulator; compare "
        "before / during / after the fault window",
    )
    parser.add_argument(
        "--repeat",
        type=argtypes.positive_int,
        default=1,
        metavar="N",
        help="run the demo N times (seeds SEED, SEED+1, ...; each run in OUT/run-I) and print "
        "latency medians and ranges over the runs (default 1)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG files")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def default_out(now: datetime.datetime) -> Path:
    """out/demo-YYYYmmdd-HHMMSS for a run started at ``now``."""
    return Path("out") / f"demo-{now:%Y%m%d-%H%M%S}"


def run(args: argparse.Namespace) -> int:
    """Run the demo and print the comparison; 130 after Ctrl-C (the cluster is stopped)."""
    from cluster.errors import ClusterError
    from demo.run import SETTLE_SECONDS, DemoOptions, StopRequested, run_demo

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)
    topology_file = Path(args.topology) if args.topology else default_topology_path()
    if not topology_file.is_file():
        raise UserError(f"--topology {topology_file}: no such file (expected a topology TOML)")
    out = Path(args.out) if args.out else default_out(datetime.datetime.now())
    from loadgen.launch import parse_processes

    try:
        processes = parse_processes(args.processes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    options = DemoOptions(
        processes=processes,
        scheduler=args.scheduler,
        topology_file=topology_file,
        out=out,
        duration=args.duration,
        seed=args.seed,
        rate=args.rate,
        free_ports=args.free_ports,
        settle=SETTLE_SECONDS if args.settle is None else args.settle,
        calibrate=not args.no_calibrate,
        plots=not args.no_plots,
        progress=not args.quiet and sys.stderr.isatty(),
    )

    def announce(message: str) -> None:
        if not args.quiet:
            console.print(f"cdn demo: {message}", style="dim")

    if args.faults:
        return _run_with_faults(args, options, console, announce)
    from demo.repeat import repeated_options

    results = []
    for run_options in repeated_options(options, args.repeat):
        try:
            result = run_demo(run_options, console=console, announce=announce)
        except (ClusterError, RuntimeError) as exc:  # RuntimeError: a load process or Dask failed
            raise UserError(str(exc)) from None
        except (KeyboardInterrupt, StopRequested):
            console.print("cdn demo: interrupted; the cluster is stopped", style="bold")
            return 130
        results.append(result)
        _print_run(console, result.doc)
    if len(results) > 1:
        from demo.repeat import print_repeated

        print_repeated(console, [r.doc for r in results], out)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    console.print(f"took {timings}")
    names = ("compare.json", "compare.png", "load/", "sim/", "topology/", "cluster.log")
    last = results[-1].files[0].parent if len(results) > 1 else out
    written = ", ".join(name for name in names if (last / name.rstrip("/")).exists())
    console.print(f"wrote {last}/: {written}")
    worst = max((r.doc["difference"]["hit_ratio"] for r in results), key=abs)
    if args.max_difference is not None and abs(worst) > args.max_difference:
        console.print(
            f"[bold red]hit ratios differ by {worst:+.4f} (more than {args.max_difference})[/]"
        )
        return 1
    return 0


def _run_with_faults(args: argparse.Namespace, options, console: Console, announce) -> int:
    """`cdn demo --faults FILE`: measured vs predicted per phase of the fault window."""
    from cdn.faults import load_fault_file
    from cdn.topology import load_topology
    from cluster.errors import ClusterError
    from demo.faults import fault_comparison_table, run_fault_demo
    from demo.run import StopRequested, stop_on_signals

    if not Path(args.faults).is_file():
        raise UserError(
            f"--faults: {args.faults!r} is not a file (expected a TOML file of [[fault]] tables)"
        )
    if args.scheduler:
        raise UserError("--faults runs the load in this process: leave out --scheduler")
    topology = load_topology(options.topology_file)
    faults = load_fault_file(
        args.faults,
        origin=topology.origin.name,
        nodes=[node.name for node in topology.nodes],
        origins=[o.name for o in topology.more_origins],
    )
    try:
        with stop_on_signals():
            result = run_fault_demo(options, faults, announce=announce)
    except (ClusterError, RuntimeError) as exc:
        raise UserError(str(exc)) from None
    except (KeyboardInterrupt, StopRequested):
        console.print("cdn demo: interrupted; the cluster is stopped", style="bold")
        return 130
    console.print(fault_comparison_table(result.doc))
    console.print(f"wrote {result.path}")
    return 0


def _print_run(console: Console, doc: dict) -> None:
    from demo.latency import latency_table
    from demo.table import comparison_table

    console.print(comparison_table(doc))
    latency = doc.get("latency")
    if latency is not None and latency["comparable"]:
        console.print(latency_table(latency))
        for item in latency["not_emulated"]:
            console.print(f"not emulated: {item}", style="dim")
    for note in doc.get("notes", []):
        console.print(f"note: {note}", style="dim")
    load_average = doc.get("run", {}).get("load_average")
    if load_average:
        console.print(f"machine load average (1/5/15 min) at the end: {load_average}", style="dim")
