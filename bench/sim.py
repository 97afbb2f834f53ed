"""Simulator speed: trace fast path vs a bare cachetools loop, and the full geographic model.

    .venv/bin/python bench/sim.py                     # fast path + world model, 1M requests
    .venv/bin/python bench/sim.py --requests 10000000 --skip-fastpath --world-repeat 1
    .venv/bin/python bench/sim.py --requests 200000 --profile
    .venv/bin/python bench/sim.py --skip-fastpath --functions   # world with and without functions

Prints figures only (speed is never asserted in tests). Each part runs in its own child process
so its peak RSS is its own. The world model runs ``--world-repeat`` times (best and median are
printed: on a shared machine single runs vary by a few percent) and samples RSS during the run
to show whether memory stays flat as the run grows.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on sys.path and "sim" would be this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
TRACE = ROOT.parent / "shared" / "traces" / "cloudPhysicsIO.oracleGeneral.bin"
CAPACITY = 20_297_697  # 1% of the working set, as in libCacheSim's reference table


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fastpath(repeat: int) -> dict:
    """Best-of-``repeat`` replay speeds: bare cachetools loop vs Store.request vs `cdn sim` replay."""
    import cachetools

    from cdn.cache.store import Store
    from cdn.trace import iter_requests
    from sim.fastpath import replay

    pairs = list(iter_requests(TRACE))
    results: dict[str, float] = {}
    for _ in range(repeat):
        cache = cachetools.LRUCache(CAPACITY, getsizeof=int)
        started = time.perf_counter()
        hits = 0
        for key, size in pairs:
            if key in cache:
                cache[key]
                hits += 1
            else:
                try:  # noqa: SIM105 (the plain loop a user would write)
                    cache[key] = size
                except ValueError:
                    pass
        bare = len(pairs) / (time.perf_counter() - started)
        results["bare_cachetools_rps"] = max(results.get("bare_cachetools_rps", 0), bare)

        store = Store(CAPACITY, "lru")
        request = store.request
        started = time.perf_counter()
        for key, size in pairs:
            request(key, size)
        loop = len(pairs) / (time.perf_counter() - started)
        results["store_request_loop_rps"] = max(results.get("store_request_loop_rps", 0), loop)

        started = time.perf_counter()
        replayed = replay(TRACE, CAPACITY, "lru")
        full = replayed.requests / (time.perf_counter() - started)
        results["cdn_sim_replay_rps"] = max(results.get("cdn_sim_replay_rps", 0), full)
    assert store.stats().misses == replayed.misses == len(pairs) - hits == 94_956
    results["requests"] = len(pairs)
    results["ratio_store_loop_vs_bare"] = (
        results["store_request_loop_rps"] / results["bare_cachetools_rps"]
    )
    results["ratio_cdn_sim_replay_vs_bare"] = (
        results["cdn_sim_replay_rps"] / results["bare_cachetools_rps"]
    )
    results["peak_rss_mib"] = _peak_mib()
    return results


# Edge functions on every edge of world.toml (`--functions`): none, a Lambda@Edge function on
# viewer-request, and that plus one on origin-response (runs on every fetch upstream).
FUNCTION_SETS = ("none", "viewer-request", "viewer-request+origin-response")


def with_functions(topology, which: str):
    """``topology`` with the edge functions of ``which`` (one of FUNCTION_SETS) on every edge."""
    import dataclasses

    from cdn.functions import FunctionSpec, Trigger

    if which == "none":
        return topology
    triggers = [Trigger(name) for name in which.split("+")]
    specs = tuple(FunctionSpec(f"fn-{t.value}", f"{t.value}.py") for t in triggers)
    settings = dataclasses.replace(
        topology.edge_settings,
        functions=tuple((t, spec.name) for t, spec in zip(triggers, specs, strict=True)),
    )
    return dataclasses.replace(topology, functions=specs, edge_settings=settings)


def world(requests: int, profile: bool, functions: str = "none") -> dict:
    """One configs/world.toml run of ``requests`` requests: speed, RSS over time, hot spots."""
    from cdn.topology import load_topology
    from sim.model import SimOptions, Simulation

    topology = with_functions(load_topology(ROOT / "configs" / "world.toml"), functions)
    simulation = Simulation(topology, SimOptions(requests=requests))
    samples: list[tuple[int, float]] = []
    next_sample = [0]

    def on_progress(_: float, done: int) -> None:
        if done >= next_sample[0]:
            samples.append((done, round(_rss_mib(), 1)))
            next_sample[0] = done + max(requests // 10, 1)

    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    cpu_started = time.process_time()
    if profiler is not None:
        profiler.enable()
    result = simulation.run(on_progress)
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    report = result.report
    out = {
        "requests": report["requests"],
        "wall_s": elapsed,
        "requests_per_s": report["requests"] / elapsed,
        "simulated_s": report["duration_s"],
        "hit_ratio": report["hit_ratio"],
        "origin_offload": report["origin_offload"],
        "p50_ms": report["latency_ms"]["p50"],
        "p99_ms": report["latency_ms"]["p99"],
        "rss_mib_by_requests": samples,
        "peak_rss_mib": _peak_mib(),
        "requests_per_cpu_s": report["requests"] / cpu,
        "functions": report.get("functions", {}).get("functions"),
        "load": os.getloadavg()[0],
        "loads": os.getloadavg(),
    }
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
        out["profile"] = text.getvalue()
    return out


def _child(part: str, args: argparse.Namespace, functions: str = "none") -> dict:
    command = [sys.executable, __file__, "--part", part, "--requests", str(args.requests)]
    command += ["--function-set", functions]
    command += ["--repeat", str(args.repeat)] + (["--profile"] if args.profile else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    """Run the parts in child processes and print their figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1_000_000, help="world model requests")
    parser.add_argument("--repeat", type=int, default=3, help="fast-path repetitions (best kept)")
    parser.add_argument(
        "--world-repeat", type=int, default=3, help="world model runs (best and median printed)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the world model run")
    parser.add_argument("--skip-fastpath", action="store_true")
    parser.add_argument("--skip-world", action="store_true")
    parser.add_argument(
        "--functions",
        action="store_true",
        help="world model with no functions and with edge functions, runs interleaved",
    )
    parser.add_argument("--function-set", choices=FUNCTION_SETS, help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=("fastpath", "world"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "fastpath":
        print(json.dumps(fastpath(args.repeat)))
        return
    if args.part == "world":
        print(json.dumps(world(args.requests, args.profile, args.function_set or "none")))
        return
    if args.functions:
        _functions(args)
        return
    if not args.skip_fastpath:
        if not TRACE.exists():
            print(f"fast path: skipped ({TRACE} not found)")
        else:
            fp = _child("fastpath", args)
            print(f"fast path: {TRACE.name}, LRU, {CAPACITY:,} B, {fp['requests']:,} requests")
            print(f"  bare cachetools.LRUCache loop : {fp['bare_cachetools_rps']:>12,.0f} req/s")
            print(
                f"  Store.request loop            : {fp['store_request_loop_rps']:>12,.0f} req/s"
                f"  ({fp['ratio_store_loop_vs_bare']:.2f}x bare)"
            )
            print(
                f"  cdn sim replay (reads trace)  : {fp['cdn_sim_replay_rps']:>12,.0f} req/s"
                f"  ({fp['ratio_cdn_sim_replay_vs_bare']:.2f}x bare)   target >= 0.5x"
            )
            print(f"  peak RSS {fp['peak_rss_mib']:.0f} MiB")
    if not args.skip_world:
        runs = sorted(
            (_child("world", args) for _ in range(max(args.world_repeat, 1))),
            key=lambda run: run["requests_per_s"],
        )
        w = runs[-1]
        median = runs[len(runs) // 2]["requests_per_s"]
        print(
            f"world model: configs/world.toml, {w['requests']:,} requests ({w['simulated_s']:,.0f} s simulated)"
        )
        print(
            f"  {w['requests_per_s']:,.0f} req/s ({w['wall_s']:.1f} s wall), best of {len(runs)}"
            f" (median {median:,.0f})   target >= 100,000 req/s"
        )
        cpu = sorted(run["requests_per_cpu_s"] for run in runs)
        loads = "; ".join("/".join(f"{x:.1f}" for x in run["loads"]) for run in runs)
        print(
            f"  per CPU second: {cpu[-1]:,.0f} req/s best, median {cpu[len(cpu) // 2]:,.0f}"
            f" (CPU time, less sensitive to the machine's other load than wall time);"
            f" load averages (1/5/15 min) at the end of each run: {loads}"
        )
        print(
            f"  hit ratio {w['hit_ratio']:.3f}, origin offload {w['origin_offload']:.3f}, "
            f"p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms"
        )
        print(
            f"  peak RSS {w['peak_rss_mib']:.0f} MiB; RSS (MiB) by requests: {w['rss_mib_by_requests']}"
        )
        if "profile" in w:
            print(w["profile"])


def _functions(args: argparse.Namespace) -> None:
    """World runs without and with functions, interleaved; best of ``--world-repeat`` each."""
    runs: dict[str, list[dict]] = {name: [] for name in FUNCTION_SETS}
    for _ in range(max(args.world_repeat, 1)):
        for name in FUNCTION_SETS:
            runs[name].append(_child("world", args, name))
    base = max(run["requests_per_s"] for run in runs["none"])
    base_cpu = max(run["requests_per_cpu_s"] for run in runs["none"])
    print(f"world model with edge functions: configs/world.toml, {args.requests:,} requests")
    for name, done in runs.items():
        best = max(done, key=lambda run: run["requests_per_s"])
        loads = ", ".join(f"{run['load']:.1f}" for run in done)
        print(
            f"  {name:32s}: {best['requests_per_s']:>9,.0f} req/s best of {len(done)}"
            f" ({best['requests_per_s'] / base:.2f}x none), p50 {best['p50_ms']:.1f} ms,"
            f" p99 {best['p99_ms']:.1f} ms; load average {loads}"
        )
        cpu = max(run["requests_per_cpu_s"] for run in done)
        print(f"    per CPU second: {cpu:,.0f} req/s ({cpu / base_cpu:.2f}x none)")
        for function, figures in (best["functions"] or {}).items():
            print(
                f"    {function}: {figures['invocations']:,} invocations,"
                f" {figures['cold_starts']:,} cold starts, {figures['throttles']:,} throttles,"
                f" ${figures['cost']:.4f}"
            )
    print("  target: >= 80,000 req/s with functions")


if __name__ == "__main__":
    main()
