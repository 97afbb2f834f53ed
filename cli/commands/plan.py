"""Capacity planning: sweep PoPs, cache sizes, policies, shields, TTLs and growth through the
simulator, check SLOs, and recommend the cheapest (or fastest) CDN that meets them.

A plan file names a base topology, the dimensions to sweep, the SLOs and the prices
(docs/plan.md). Every point runs through the simulator in parallel (a local process pool, or a
Dask cluster with --scheduler), and results are cached per point, so a rerun only computes new
points. Writes plan.json, plan.csv and PNG plots to --out; exits 1 when no point meets the SLOs.

With --mrc it computes a hit-ratio curve over many cache sizes instead: one pass for LRU (byte
stack distances, optionally SHARDS-sampled with --sampling), one fast-path replay per size for
other policies.

examples:
  cdn plan configs/plan-world.toml --out runs/plan-world
  cdn plan configs/plan-world.toml --workers 2 --scheduler tcp://10.0.0.5:8786
  cdn plan --mrc --trace ../shared/traces/cloudPhysicsIO.oracleGeneral.bin --sizes 1MiB:2GiB:24
  cdn plan --mrc --topology configs/world.toml --requests 200000 --policy lru,s3fifo --check
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cdn.errors import ConfigError
from cdn.topology import load_topology
from cli.argtypes import plan_file, topology_file
from cli.errors import UserError

NAME = "plan"
HELP = "capacity planning: sweep a topology through the simulator against SLOs (or --mrc curves)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cdn plan`."""
    parser.add_argument(
        "plan",
        nargs="?",
        type=plan_file,
        help="plan TOML file or built-in name (e.g. world, i.e. configs/plan-world.toml)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output directory (default runs/plan-<name>)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="point result cache (default <out>/cache)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default [run] workers, else all cores)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address (tcp://HOST:8786): run points on that cluster",
    )
    parser.add_argument(
        "--top", type=int, default=10, help="rows of the terminal table (default 10)"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    mrc = parser.add_argument_group("miss-ratio curves (--mrc)")
    mrc.add_argument(
        "--mrc", action="store_true", help="compute a hit-ratio curve instead of a plan"
    )
    source = mrc.add_mutually_exclusive_group()
    source.add_argument("--trace", type=Path, help="trace file (.csv or oracleGeneral .bin)")
    source.add_argument(
        "--topology",
        type=topology_file,
        help="topology (file or built-in name) whose workload to generate",
    )
    mrc.add_argument(
        "--sizes",
        nargs="+",
        default=None,
        help="cache sizes (64MiB 1GiB) or a log range FROM:TO:COUNT",
    )
    mrc.add_argument(
        "--sampling",
        type=float,
        default=1.0,
        help="SHARDS sampling rate for LRU, 0 < R <= 1 (default 1)",
    )
    mrc.add_argument("--policy", default="lru", help="policies, comma separated (default lru)")
    mrc.add_argument(
        "--requests",
        type=int,
        default=100_000,
        help="requests generated from --topology (default 100000)",
    )
    mrc.add_argument(
        "--check", action="store_true", help="also replay LRU at each size and compare"
    )


def run(args: argparse.Namespace) -> int:
    """Run a plan, or compute miss-ratio curves with --mrc."""
    if args.mrc:
        return _run_mrc(args)
    if not args.plan:
        raise UserError("a plan file is needed (e.g. cdn plan configs/plan-world.toml), or --mrc")
    return _run_plan(args)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _stdout() -> Console:
    """stdout; wide enough for the points table when it is not a terminal (pipes, logs)."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def _run_plan(args: argparse.Namespace) -> int:
    from planner.console import points_table, recommendation_panel
    from planner.output import write_plan
    from planner.plan import run_plan
    from planner.planfile import load_plan
    from planner.plots import write_plan_plots

    plan = load_plan(args.plan)
    out = args.out or Path("runs") / f"plan-{plan.name}"
    cache_dir = args.cache_dir or out / "cache"
    workers = args.workers or plan.run.workers or os.cpu_count() or 1
    if workers < 1:
        raise UserError(f"--workers {workers} < 1")
    console = Console(stderr=True)
    progress = _progress(console)
    state = {"task": None, "computed": 0, "reused": 0}

    def on_start(total: int) -> None:
        where = args.scheduler or f"{workers} local worker{'s' if workers > 1 else ''}"
        state["task"] = progress.add_task(f"plan {plan.name} ({where})", total=total, detail="")

    def on_result(record: dict, computed: bool) -> None:
        state["computed" if computed else "reused"] += 1
        progress.update(
            state["task"],
            advance=1,
            detail=f"{state['computed']} computed, {state['reused']} reused",
        )

    if args.quiet:
        outcome = run_plan(plan, cache_dir, workers=workers, scheduler=args.scheduler)
    else:
        with progress:
            outcome = run_plan(
                plan,
                cache_dir,
                workers=workers,
                scheduler=args.scheduler,
                on_result=on_result,
                on_start=on_start,
            )
    paths = write_plan(outcome, out)
    if not args.no_plots:
        paths += write_plan_plots(outcome, out)
    stdout = _stdout()
    stdout.print(points_table(outcome, args.top))
    stdout.print(recommendation_panel(outcome))
    stdout.print("wrote " + ", ".join(str(p) for p in paths))
    return 0 if outcome.recommendation.found else 1


def _run_mrc(args: argparse.Namespace) -> int:
    import csv

    from planner.console import mrc_table
    from planner.mrc import curve, default_sizes, parse_sizes, write_workload_trace
    from planner.plots import plot_mrc
    from sim.fastpath import resolve_policies
    from sim.report import dumps

    if not 0 < args.sampling <= 1:
        raise UserError(f"--sampling {args.sampling} is out of range (expected 0 < rate <= 1)")
    try:
        policies = resolve_policies(args.policy)
    except ValueError as exc:
        raise UserError(f"--policy: {exc}") from None
    if args.trace is not None:
        if not args.trace.is_file():
            raise ConfigError(
                str(args.trace), "no such file", "a trace (.csv or oracleGeneral .bin)"
            )
        name = args.trace.name
        out = args.out or Path("runs") / f"mrc-{args.trace.stem}"
        trace = args.trace
    elif args.topology is not None:
        topology = load_topology(args.topology)
        name = f"{topology.name} workload ({args.requests} requests)"
        out = args.out or Path("runs") / f"mrc-{topology.name}"
        if args.requests < 1:
            raise UserError(f"--requests {args.requests} < 1")
        trace = write_workload_trace(topology, args.requests, out / "workload.csv")
    else:
        raise UserError("--mrc needs --trace FILE or --topology FILE")
    try:
        sizes = parse_sizes(args.sizes) if args.sizes else default_sizes(trace)
    except ValueError as exc:
        raise UserError(f"--sizes: {exc}") from None
    console = Console(stderr=True)
    fallback = [p for p in policies if p != "lru"]
    if fallback:
        console.print(
            f"[yellow]{', '.join(fallback)}: no one-pass curve for this policy; "
            f"falling back to one fast-path replay per size ({len(sizes)} replays each)[/]"
        )
    steps = len(sizes) * (len(fallback) + (1 if args.check and "lru" in policies else 0))
    curves = []
    with _progress(console) as progress:
        task = progress.add_task("mrc", total=max(steps, 1), detail=name)
        for policy in policies:
            curves.append(
                curve(
                    trace,
                    sizes,
                    policy,
                    sampling_rate=args.sampling if policy == "lru" else 1.0,
                    check=args.check and policy == "lru",
                    on_step=lambda n: progress.update(task, advance=n),
                )
            )
        progress.update(task, completed=max(steps, 1))
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "source": name,
        "sizes": list(sizes),
        "curves": {
            c.policy: {
                "method": c.method,
                "requests": c.requests,
                "sampling_rate": c.sampling_rate,
                "hit_ratio": list(c.hit_ratio),
                "byte_hit_ratio": list(c.byte_hit_ratio),
                "replay_hit_ratio": None if c.checked is None else list(c.checked),
                "max_check_error": c.max_check_error,
            }
            for c in curves
        },
    }
    (out / "mrc.json").write_text(dumps(document), encoding="utf-8")
    with (out / "mrc.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["policy", "method", "cache_size", "hit_ratio", "byte_hit_ratio", "replay_hit_ratio"]
        )
        for c in curves:
            for i, size in enumerate(c.sizes):
                checked = "" if c.checked is None else round(c.checked[i], 6)
                writer.writerow(
                    [
                        c.policy,
                        c.method,
                        size,
                        round(c.hit_ratio[i], 6),
                        round(c.byte_hit_ratio[i], 6),
                        checked,
                    ]
                )
    plot_mrc(
        {f"{c.policy} ({c.method})": (c.sizes, c.hit_ratio) for c in curves},
        f"Hit ratio vs cache size: {name}",
        out / "mrc.png",
    )
    stdout = _stdout()
    stdout.print(mrc_table(curves))
    for c in curves:
        if c.max_check_error is not None:
            stdout.print(
                f"lru one-pass vs replay: max |difference| {c.max_check_error:.4%} (absolute)"
            )
    stdout.print(f"wrote {out / 'mrc.json'}, {out / 'mrc.csv'}, {out / 'mrc.png'}")
    return 0
