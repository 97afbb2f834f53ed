"""Open-loop load test of a running CDN, with the simulator's workload, users and seed.

Requests start at the times the schedule says (Poisson or constant arrivals at --rate, shaped by
--profile, or a trace's timestamps) and never wait for earlier responses; latency is measured
from each request's intended start. Each request comes from a user location of the topology's
workload and goes to that user's nearest edge (sending X-Client-Location), or to the --target
URLs in turn. A run must be bounded by --duration and/or --requests.

examples:
  cdn load --duration 20s                                   # configs/local.toml, its rate
  cdn load --target http://127.0.0.1:8121 --rate 500 --requests 5000 --out out/load
  cdn load --duration 30s --profile ramp:100-2000 --slo 'p99<50ms' --slo 'errors<0.1%'
  cdn load --target http://127.0.0.1:8080 --rate 20000 --duration 10s --processes 4
  cdn load --duration 60s --rate 50000 --scheduler tcp://10.0.0.5:8786   # Dask workers send
  cdn load --duration 60s --shard 0/2 --out a &  cdn load --duration 60s --shard 1/2 --out b
  cdn load merge a/load.json b/load.json --out merged
  cdn load --duration 60s --faults configs/chaos/stop-peer.toml   # faults on the `cdn up` cluster

Processes: --processes auto (the default) runs one load process per core the target does not
need (a target on this machine keeps one core per server worker) and says what it chose; the
processes send shards of one stream, start together, and give one display, one report and one
exit status. --scheduler runs the shards on a Dask cluster's workers instead (one per worker, or
--shards), with start times aligned across machines and each worker's clock offset reported.

SLOs (--slo, repeatable): p50|p90|p95|p99|p999|mean|max <|<=|>|>= TIME (us, ms, s);
errors|dropped < SHARE (0.1% or 0.001); hit_ratio|byte_hit_ratio|origin_offload > FRACTION;
lag_p99 < TIME; rate >= REQ/S. A broken SLO makes the exit status 1.
Outputs in --out: load.json (schema in docs/load.md), timeseries.csv, pops.csv, regions.csv,
latency_over_time.png, latency_cdf.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from cdn.topology import default_topology_path, load_topology
from cli import argtypes
from cli.argtypes import topology_file
from cli.errors import UserError

if TYPE_CHECKING:
    from cdn.faults import Fault
    from cdn.topology import Topology
    from loadgen.report import LoadReport
    from loadgen.runner import LoadRun
    from loadgen.slo import Slo

NAME = "load"
HELP = "open-loop load test of a running CDN (latency, hit ratio, SLOs); 'load merge' joins shards"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `cdn load` arguments."""
    parser.add_argument(
        "action",
        nargs="*",
        metavar="merge FILE",
        help="'merge A/load.json B/load.json ...' merges shard reports into --out",
    )
    parser.add_argument(
        "--topology",
        metavar="FILE",
        type=topology_file,
        help="topology TOML file or built-in name (default local, i.e. configs/local.toml)",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="URL",
        help="send to this base URL instead of the nearest edge (repeatable: round robin)",
    )
    parser.add_argument(
        "--rate", type=argtypes.positive_float, help="requests/s (default: the workload's)"
    )
    parser.add_argument("--duration", type=argtypes.duration, help="run length, e.g. 20s, 5m")
    parser.add_argument(
        "--requests", type=argtypes.positive_int, help="number of requests (whole stream)"
    )
    parser.add_argument("--seed", type=int, help="arrival seed (default: the workload's)")
    parser.add_argument(
        "--profile",
        default="constant",
        help="rate profile: constant, ramp:A-B[/30s], step:A,B,C[/10s], spike:P@10s+2s",
    )
    parser.add_argument(
        "--arrival", choices=("poisson", "constant"), default="poisson", help="arrival process"
    )
    parser.add_argument("--objects", type=argtypes.positive_int, help="catalog size override")
    parser.add_argument("--trace", metavar="FILE", help="replay a trace's timestamps (.csv, .bin)")
    parser.add_argument(
        "--shard", default="0/1", metavar="I/N", help="send shard I of N of the stream"
    )
    parser.add_argument(
        "--processes",
        default="auto",
        metavar="N|auto",
        help="local load processes (default auto: the cores the target does not need)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:8786",
        help="send from the workers of this Dask cluster (merged into one report)",
    )
    parser.add_argument(
        "--shards",
        type=argtypes.positive_int,
        help="with --scheduler: shards to run (default: one per worker)",
    )
    parser.add_argument(
        "--start-lead",
        type=argtypes.duration,
        help="with --scheduler: time from every shard being ready to their start (0.5s)",
    )
    parser.add_argument(
        "--connections",
        type=argtypes.positive_int,
        default=256,
        help="connection limit per process (opened before the schedule starts as needed)",
    )
    parser.add_argument(
        "--new-connections",
        action="store_true",
        help="open a new connection for every request (no keep-alive, no warm-up)",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "aiohttp"),
        default="auto",
        help="HTTP client: auto (lean keep-alive client for http://, aiohttp for https://)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=argtypes.positive_int,
        default=4096,
        help="outstanding requests above which new ones are dropped (and counted)",
    )
    parser.add_argument(
        "--timeout", type=argtypes.duration, default=10.0, help="per-request timeout"
    )
    parser.add_argument(
        "--spin",
        type=argtypes.non_negative_duration,
        default=0.0015,
        metavar="TIME",
        help="how long before each send the dispatcher stops sleeping and yields until it is "
        "due (default 1.5ms: sends on time, but above ~700 requests/s a core stays busy); "
        "0: sleep whole 1 ms timer ticks (no busy core, sends up to a tick late, counted as lag)",
    )
    parser.add_argument(
        "--slo", action="append", default=[], metavar="OBJ", help="e.g. 'p99<50ms' (repeatable)"
    )
    parser.add_argument(
        "--faults",
        metavar="FILE",
        help="apply this scenario's [[fault]]s to the running `cdn up` cluster at their times "
        "(a scenario file or a topology with [[fault]] tables; docs/reliability.md)",
    )
    parser.add_argument("--out", metavar="DIR", help="write load.json, CSV and PNG here")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--quiet", action="store_true", help="no live progress")


def run(args: argparse.Namespace) -> int:
    """Run a load test (or merge reports) and return the exit status (1 when an SLO broke)."""
    from loadgen.slo import parse_slo

    try:
        slos = [parse_slo(text) for text in args.slo]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.action:
        if args.action[0] != "merge":
            raise UserError(
                f"unknown action {args.action[0]!r} (expected 'merge FILE...' or only options)"
            )
        return _merge(args, [Path(p) for p in args.action[1:]], slos)
    return _load(args, slos)


def _console() -> Console:
    return Console(stderr=False, highlight=False)


def _finish(report: LoadReport, args: argparse.Namespace, slos: list[Slo], console: Console) -> int:
    from loadgen.console import run_lines, slo_table, summary_table
    from loadgen.slo import evaluate

    results = evaluate(report, slos)
    report.slo = results
    console.print(summary_table(report))
    for line in run_lines(report):
        console.print(line)
    for warning in report.warnings():
        console.print(f"[bold yellow]warning:[/] {warning}")
    if results:
        console.print(slo_table(results))
    if args.out:
        paths = report.write(Path(args.out), plots=not args.no_plots)
        console.print(f"wrote {', '.join(str(p) for p in paths)}")
    return 1 if any(not r["ok"] for r in results) else 0


def _merge(args: argparse.Namespace, paths: list[Path], slos: list[Slo]) -> int:
    from loadgen.report import merge_reports, read_report

    if not paths:
        raise UserError(
            "merge needs load.json files (expected 'cdn load merge A/load.json B/load.json')"
        )
    try:
        reports = [read_report(p) for p in paths]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return _finish(merge_reports(reports), args, slos, _console())


def _load(args: argparse.Namespace, slos: list[Slo]) -> int:
    from loadgen.console import LiveProgress
    from loadgen.launch import parse_processes, resolve_processes, run_spread
    from loadgen.plan import LoadPlan, check_plan, check_target, parse_shard
    from loadgen.schedule import Schedule

    try:
        targets = tuple(check_target(t) for t in args.target)
        shard = parse_shard(args.shard)
        processes = parse_processes(args.processes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.shards and not args.scheduler:
        raise UserError("--shards is for --scheduler runs (expected --scheduler tcp://HOST:8786)")
    topology = load_topology(args.topology or default_topology_path())
    edge_urls: tuple[tuple[str, str], ...] = ()
    faults = _faults(args.faults, topology) if args.faults else ()
    if not targets:
        # A cluster started by `cdn up` publishes where its nodes listen (ports may have moved).
        from cluster.state import running_state

        state = running_state(topology.name)
        if state is not None:
            edge_urls = tuple((node.name, node.url) for node in state.nodes if node.role == "edge")
    plan = LoadPlan(
        topology=topology,
        targets=targets,
        edge_urls=edge_urls,
        rate=args.rate,
        duration=args.duration,
        requests=args.requests,
        seed=args.seed,
        profile=args.profile,
        arrival=args.arrival,
        objects=args.objects,
        trace=args.trace,
        shard=shard,
        connections=args.connections,
        max_in_flight=args.max_in_flight,
        timeout=args.timeout,
        client=args.client,
        new_connections=args.new_connections,
        spin=args.spin,
    )
    try:
        check_plan(plan)
        Schedule(plan)  # a bad plan fails here, before any process starts
    except ValueError as exc:
        raise UserError(str(exc)) from None
    console = _console()

    def say(message: str) -> None:
        console.print(f"cdn load: {message}", style="dim")

    if faults:
        # Faults move users to their next-nearest edge (anycast), which the aiohttp client does;
        # one process sends and acts the faults out on the cluster.
        import dataclasses

        import uvloop

        from loadgen.runner import LoadRun

        say("1 process (--faults): it sends and acts out the faults; aiohttp client")
        run = LoadRun(dataclasses.replace(plan, client="aiohttp"))
        main = _with_faults(run, faults, topology, console)
        if args.quiet or not sys.stdout.isatty():
            report = uvloop.run(main)
        else:
            with LiveProgress(console, plan.duration, plan.requests) as live:
                run.on_progress = live.update
                report = uvloop.run(main)
        return _finish(report, args, slos, console)
    if args.scheduler:
        count = 1
        say(f"sending from the Dask workers of {args.scheduler}")
    else:
        choice = resolve_processes(plan, processes)
        count = choice.count
        say(f"{count} process{'es' if count > 1 else ''}: {choice.reason}")
    quiet = args.quiet or not sys.stdout.isatty()
    try:
        spread = {
            "processes": count,
            "scheduler": args.scheduler,
            "shards": args.shards,
            "start_lead": args.start_lead,
            "announce": say,
        }
        if quiet:
            report = run_spread(plan, **spread)
        else:
            with LiveProgress(console, plan.duration, plan.requests) as live:
                report = run_spread(plan, on_progress=live.update, **spread)
    except RuntimeError as exc:  # a load process failed, or Dask is missing or unreachable
        raise UserError(str(exc)) from None
    return _finish(report, args, slos, console)


def _faults(path: str, topology: Topology) -> tuple[Fault, ...]:
    """The faults of ``path``: a scenario file, or a topology file's [[fault]] tables."""
    from cdn.faults import load_fault_file
    from cdn.tables import read_toml

    if "origin" in read_toml(path, "a scenario TOML file with [[fault]] tables"):
        faults = load_topology(path).faults
        if not faults:
            raise UserError(f"--faults {path}: the topology has no [[fault]] tables")
        return faults
    names = [node.name for node in topology.nodes]
    others = [o.name for o in topology.more_origins]
    return load_fault_file(path, origin=topology.origin.name, nodes=names, origins=others)


async def _with_faults(
    run: LoadRun, faults: tuple[Fault, ...], topology: Topology, console: Console
) -> LoadReport:
    """Run the load while a FaultActor acts out ``faults`` on the running cluster."""

    from cluster.faults import FaultActor, load_with_faults
    from cluster.state import running_state, state_path

    state = running_state(topology.name)
    if state is None:
        raise UserError(
            f"--faults needs a running cluster of {topology.name!r} (start it with `cdn up`)"
        )
    actor = FaultActor(
        state, state_path=state_path(topology.name), announce=lambda line: console.print(line)
    )
    return await load_with_faults(run, actor, faults)
