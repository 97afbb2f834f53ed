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
  cdn load --duration 60s --shard 0/2 --out a &  cdn load --duration 60s --shard 1/2 --out b
  cdn load merge a/load.json b/load.json --out merged
  cdn load --duration 60s --faults configs/chaos/stop-peer.toml   # faults on the `cdn up` cluster

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
        "--connections",
        type=argtypes.positive_int,
        default=256,
        help="connections per edge (target)",
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
    import uvloop

    from loadgen.console import LiveProgress
    from loadgen.plan import LoadPlan, check_plan, check_target, parse_shard
    from loadgen.runner import LoadRun

    try:
        targets = tuple(check_target(t) for t in args.target)
        shard = parse_shard(args.shard)
    except ValueError as exc:
        raise UserError(str(exc)) from None
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
    )
    try:
        check_plan(plan)
        run = LoadRun(plan)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    console = _console()
    quiet = args.quiet or not sys.stdout.isatty()
    main = _with_faults(run, faults, topology, console) if faults else run.run()
    if quiet:
        report = uvloop.run(main)
    else:
        with LiveProgress(console, plan.duration, plan.requests) as live:
            run.on_progress = live.update
            report = uvloop.run(main)
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
    return load_fault_file(path, origin=topology.origin.name, nodes=names)


async def _with_faults(
    run: LoadRun, faults: tuple[Fault, ...], topology: Topology, console: Console
) -> LoadReport:
    """Run the load while a FaultActor acts out ``faults`` on the running cluster."""
    import asyncio
    import contextlib

    from cluster.faults import FaultActor
    from cluster.state import running_state, state_path

    state = running_state(topology.name)
    if state is None:
        raise UserError(
            f"--faults needs a running cluster of {topology.name!r} (start it with `cdn up`)"
        )
    actor = FaultActor(
        state, state_path=state_path(topology.name), announce=lambda line: console.print(line)
    )
    clock = run.clock
    t0 = clock() + run.plan.start_delay
    acting = asyncio.get_running_loop().create_task(actor.run(faults, clock, t0))
    try:
        return await run.run()
    finally:
        acting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acting
        await actor.undo_all(clock() - t0)
