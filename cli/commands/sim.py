"""Simulate a CDN: users and PoPs on the globe, hit ratios, latency, origin load and cost.

  cdn sim                                  # configs/local.toml
  cdn sim configs/world.toml --requests 1000000 --out out/world
  cdn sim configs/world.toml --routing overflow --purge-at 300:tag=catalog
  cdn sim --trace trace.oracleGeneral.bin --cache-size 20MiB --policy all

With a SCENARIO (a topology TOML file) the geographic model runs: the workload's users send
requests to PoPs (nearest, latency-based or overflow routing), through shields to the origin, with
the same cache decisions as the live edge. With --trace, a trace (CSV timestamp,object_id,size_bytes
or libCacheSim oracleGeneral .bin) is replayed through one cache of --cache-size bytes, no geography.
--out DIR writes report.json (schema: docs/report.md), pops.csv, regions.csv and PNG plots.
Same seed, same report.json, byte for byte.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cdn.errors import ConfigError
from cdn.topology import default_topology_path, load_topology
from cdn.units import format_size, parse_duration, parse_size
from cli.argtypes import topology_file
from cli.errors import UserError

NAME = "sim"
HELP = "simulate a CDN (geographic model) or replay a trace through one cache"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add `cdn sim` arguments."""
    parser.add_argument(
        "scenario",
        nargs="?",
        type=topology_file,
        help="topology TOML file or built-in name: local, world (default: local)",
    )
    parser.add_argument("--trace", metavar="FILE", help="replay a trace through one cache instead")
    parser.add_argument(
        "--cache-size", metavar="SIZE", help="cache bytes, e.g. 20MiB (overrides every node)"
    )
    parser.add_argument(
        "--policy",
        metavar="P",
        help="eviction policy (overrides every node); with --trace also a list 'lru,sieve' or 'all'",
    )
    parser.add_argument("--requests", type=int, metavar="N", help="stop after N requests")
    parser.add_argument("--duration", metavar="D", help="simulated time, e.g. 600 or 10m")
    parser.add_argument("--seed", type=int, help="arrival seed (default: the workload's seed)")
    parser.add_argument(
        "--routing",
        choices=("nearest", "latency", "overflow"),
        default="nearest",
        help="how users pick a PoP (default nearest)",
    )
    parser.add_argument(
        "--purge-at",
        action="append",
        default=[],
        metavar="AT:KIND=VALUE",
        help="purge at a simulated time, e.g. 300:tag=catalog, 5m:prefix=/obj/, 60:url=/obj/7:soft",
    )
    parser.add_argument(
        "--warmup",
        metavar="W",
        help="leave the cold start out of report.json's `steady` figures: simulated time "
        "(60, 2m) or a share of the run (10%%)",
    )
    parser.add_argument(
        "--faults",
        metavar="FILE",
        help="apply a fault scenario ([[fault]] tables, docs/reliability.md; default: the "
        "topology's own [[fault]] tables) and report before / during / after its window",
    )
    parser.add_argument("--out", metavar="DIR", help="write report.json, CSV and PNG files here")
    parser.add_argument(
        "--top-regions", type=int, default=8, help="regions in the latency CDF plot"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run `cdn sim`."""
    if args.trace:
        return _run_trace(args)
    return _run_model(args)


def _size(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        size = parse_size(text)
    except ValueError as exc:
        raise UserError(f"--cache-size: {exc}") from None
    if size <= 0:
        raise UserError(f"--cache-size: {text!r} is 0 (expected a size > 0 like 20MiB)")
    return size


def _run_trace(args: argparse.Namespace) -> int:
    from sim.fastpath import replay, replay_report, resolve_policies
    from sim.plots import hit_ratio_plot
    from sim.progress import SimProgress
    from sim.report import write_report

    if args.scenario:
        raise UserError("give a SCENARIO or --trace, not both")
    capacity = _size(args.cache_size)
    if capacity is None:
        raise UserError("--trace needs --cache-size (e.g. --cache-size 20MiB)")
    try:
        policies = resolve_policies(args.policy or "lru")
    except ValueError as exc:
        raise UserError(f"--policy: {exc}") from None
    path = Path(args.trace)
    if not path.is_file():
        raise UserError(f"--trace: {path}: no such file (expected a .csv or .bin trace)")
    results = []
    for policy in policies:
        with SimProgress(f"{policy} {format_size(capacity)}", 0, "requests", args.quiet) as bar:
            results.append(replay(path, capacity, policy, lambda n, bar=bar: bar.update(n, n)))
    report = replay_report(results, path.name, args.seed or 0)
    table = Table(title=f"{path.name}: one cache of {format_size(capacity)} ({capacity:,} B)")
    for column in ("policy", "requests", "misses", "hit ratio", "byte hit ratio", "missed bytes"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for result in results:
        table.add_row(
            result.policy,
            f"{result.requests:,}",
            f"{result.misses:,}",
            f"{result.hit_ratio:.4f}",
            f"{result.byte_hit_ratio:.4f}",
            f"{result.bytes_missed:,}",
        )
    Console().print(table)
    if args.out:
        out = Path(args.out)
        written = write_report(report, out)
        written.append(
            hit_ratio_plot(
                report["timeseries"], out / "hit_ratio.png", f"{path.name}: {policies[0]}"
            )
        )
        Console().print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def _warmup(text: str | None) -> tuple[float, float]:
    """(seconds, share) from ``--warmup``: ``60``, ``2m`` or ``10%``."""
    if text is None:
        return 0.0, 0.0
    expected = "expected simulated time like 60 or 2m, or a share like 10%"
    if text.strip().endswith("%"):
        try:
            share = float(text.strip()[:-1]) / 100.0
        except ValueError:
            raise UserError(f"--warmup: {text!r} is not a share ({expected})") from None
        if not 0 <= share < 1:
            raise UserError(f"--warmup: {text!r} is not in [0%, 100%) ({expected})")
        return 0.0, share
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise UserError(f"--warmup: {text!r} is not a duration ({expected})") from None
    if seconds < 0:
        raise UserError(f"--warmup: {text!r} is negative ({expected})")
    return seconds, 0.0


def _run_model(args: argparse.Namespace) -> int:
    from sim.model import SimOptions, Simulation
    from sim.progress import SimProgress
    from sim.purges import parse_purge

    scenario = Path(args.scenario) if args.scenario else default_topology_path()
    topology = load_topology(scenario)
    if (args.policy and "," in args.policy) or args.policy == "all":
        raise UserError("--policy takes one policy name here (lists and 'all' are for --trace)")
    try:
        purges = tuple(parse_purge(text) for text in args.purge_at)
        duration = parse_duration(args.duration) if args.duration else None
        warmup, warmup_share = _warmup(args.warmup)
        options = SimOptions(
            warmup=warmup,
            warmup_share=warmup_share,
            seed=args.seed,
            requests=args.requests,
            duration=duration,
            routing=args.routing,
            policy=args.policy,
            cache_size=_size(args.cache_size),
            purges=purges,
            faults=_faults(args.faults, topology),
        )
        simulation = Simulation(topology, options)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise UserError(str(exc)) from None
    if options.requests is not None:
        total, unit = float(options.requests), "requests"
    else:
        total, unit = simulation.expected_duration, "seconds"
    with SimProgress(f"sim {topology.name}", total, unit, args.quiet) as bar:
        result = simulation.run(lambda t, n: bar.update(n if unit == "requests" else t, n, t))
    _print_summary(result.report)
    if "faults" in result.report:
        from sim.fault_table import fault_table

        Console().print(fault_table(result.report["faults"]))
    if args.out:
        from sim.output import write_outputs

        written = write_outputs(result, Path(args.out), args.top_regions)
        Console().print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def _faults(path: str | None, topology: Any) -> tuple[Any, ...]:
    """The fault scenario of ``--faults FILE``, else the topology's [[fault]] tables."""
    if path is None:
        return topology.faults
    from cdn.faults import load_fault_file

    if not Path(path).is_file():
        raise UserError(
            f"--faults: {path!r} is not a file (expected a TOML file of [[fault]] tables)"
        )
    return load_fault_file(
        path,
        origin=topology.origin.name,
        nodes=[node.name for node in topology.nodes],
        origins=[o.name for o in topology.more_origins],
    )


def _print_summary(report: dict[str, Any]) -> None:
    console = Console()
    latency = report["latency_ms"]
    summary = Table(
        title=f"{report['scenario']}: {report['requests']:,} requests, seed {report['seed']}"
    )
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    rows = [
        ("hit ratio (edge tier, hit|stale|revalidated|collapsed)", f"{report['hit_ratio']:.4f}"),
        ("byte hit ratio", f"{report['byte_hit_ratio']:.4f}"),
        ("origin requests", f"{report['origin']['requests']:,}"),
        ("origin bytes", format_size(report["origin"]["bytes"])),
        ("origin offload", f"{report['origin_offload']:.4f}"),
        *((f"latency {k}", f"{latency[k]:.1f} ms") for k in ("p50", "p90", "p95", "p99")),
        ("cost total", f"${report['cost']['total']:.4f}"),
    ]
    for row in rows:
        summary.add_row(*row)
    steady = report.get("steady")
    if steady:
        summary.add_row(
            f"steady state (after {steady['warmup_s'] or 0:,.1f} s): hit ratio",
            f"{steady['hit_ratio']:.4f}",
        )
        summary.add_row("steady: byte hit ratio", f"{steady['byte_hit_ratio']:.4f}")
        summary.add_row("steady: origin requests", f"{steady['origin']['requests']:,}")
        summary.add_row(
            "steady: latency p50 / p99",
            f"{steady['latency_ms']['p50']:.1f} / {steady['latency_ms']['p99']:.1f} ms",
        )
    console.print(summary)
    pops = Table(title="PoPs")
    for column in ("pop", "role", "requests", "hit ratio", "byte hit", "peak util", "cost $"):
        pops.add_column(column, justify="left" if column in ("pop", "role") else "right")
    ranked = sorted(report["pops"].items(), key=lambda item: (-item[1]["requests"], item[0]))
    for name, pop in ranked:
        pops.add_row(
            name,
            pop["role"],
            f"{pop['requests']:,}",
            f"{pop['hit_ratio']:.3f}",
            f"{pop['byte_hit_ratio']:.3f}",
            f"{pop['peak_utilization']:.2f}",
            f"{pop['cost']['total']:.4f}",
        )
    console.print(pops)
    if report.get("behaviors"):
        console.print(_behaviors_table(report))
    if "functions" in report:
        _print_functions(console, report["functions"])


def _behaviors_table(report: dict[str, Any]) -> Table:
    """Per behavior (sim.behaviors): requests, hit ratio, latency, refusals, and the CORS
    preflights answered at the edge and the bytes compression saved when there are any."""
    behaviors = report["behaviors"]
    saved = any(b.get("compression", {}).get("requests") for b in behaviors.values())
    preflights = any(b.get("preflight") for b in behaviors.values())
    table = Table(
        title="Behaviors: hit ratio and latency (ms) of served requests, "
        "throttled (429) and forbidden (403) shares"
        + (", CORS preflights answered at the edge" if preflights else "")
        + (", bytes saved by compression" if saved else "")
    )
    table.add_column("behavior", no_wrap=True)
    columns = ("requests", "hit", "p50", "p90", "p99", "429", "403")
    columns += ("OPTIONS",) if preflights else ()
    for column in (*columns, "saved") if saved else columns:
        table.add_column(column, justify="right")
    for name, b in behaviors.items():
        latency = b["latency_ms"]
        cells = [
            name,
            f"{b['requests']:,}",
            f"{b['hit_ratio']:.3f}",
            *(f"{latency[k]:.1f}" for k in ("p50", "p90", "p99")),
            f"{b['throttled_share']:.2%}",
            f"{b['forbidden_share']:.2%}",
        ]
        if preflights:
            cells.append(f"{b.get('preflight_share', 0.0):.2%}")
        if saved:
            compression = b.get("compression")
            cells.append(f"{compression['saved_share']:.2%}" if compression else "-")
        table.add_row(*cells)
    return table


def _print_functions(console: Console, section: dict[str, Any]) -> None:
    """The edge functions' totals: invocations, cold starts, throttles (503s), billed time, cost
    (kind L@E: Lambda@Edge, CFF: CloudFront Functions)."""
    table = Table(title=f"edge functions (cost ${section['cost']:.4f} of the total)")
    columns = ("function", "kind", "invokes", "cold", "503s", "billed s", "cost $")
    for column in columns:
        table.add_column(column, justify="left" if column in ("function", "kind") else "right")
    for name, total in sorted(section["functions"].items()):
        table.add_row(
            name,
            "L@E" if total["kind"] == "lambda-edge" else "CFF",
            f"{total['invocations']:,}",
            f"{total['cold_starts']:,}",
            f"{total['throttles']:,}",
            f"{total['billed_ms'] / 1000:,.1f}",
            f"{total['cost']:.4f}",
        )
    console.print(table)
