"""`cdn demo --faults FILE`: the live CDN under a fault scenario next to the simulator's prediction.

Order: the cluster starts as in the plain demo (demo.run: free ports when the topology's are busy,
every node healthy, peers settled); the load runs in this process (``loadgen.runner.LoadRun``)
while ``cluster.faults.load_with_faults`` acts the scenario out at its times from the load's
start; meanwhile the origin's request counter (``/_cdn/stats``) is read every ``SAMPLE_EVERY``
seconds. The cluster stops (whatever fault is still in force is undone first), then the simulator
runs the same topology, seed, rate, duration and fault schedule (``sim.faults``).

Both sides are split into the same phases: before the fault window, during it (first fault's
start to the last one's end; a kill's lasts to the end of the run) and after. Per phase: errors
(5xx and transport errors), responses served stale, origin requests, hit ratio (hits over
requests) and p99 (errors left out). The live side counts a response in the second it completed
(the load generator's per-second counts), the simulator in the second it was sent; origin
requests live are the samples' differences (so each phase boundary is within ``SAMPLE_EVERY``).
faults.json in the output folder holds both sides and the per-second counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from cdn.faults import Fault
from cdn.topology import load_topology
from sim.fault_schedule import PHASES, phase_of

__all__ = ["SAMPLE_EVERY", "FaultDemo", "fault_comparison_table", "run_fault_demo"]

SAMPLE_EVERY = 0.5  # seconds between two readings of the origin's request counter
METRICS = ("errors", "stale_served", "origin_requests", "hit_ratio", "p99_ms")

Announce = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class FaultDemo:
    """What `cdn demo --faults` produced: faults.json's document and where it went."""

    doc: dict[str, Any]
    path: Path


def _origin_requests(url: str) -> int:
    with urllib.request.urlopen(url + "/_cdn/stats", timeout=2) as response:
        stats = json.loads(response.read())
    return int(sum(stats.get("targets", {}).values()))


async def _sample_origin(url: str, clock: Callable[[], float], into: list) -> None:
    """Append (``clock()``, origin requests) every SAMPLE_EVERY until cancelled; a failed read
    (the origin is down: its port is closed) is skipped."""
    loop = asyncio.get_running_loop()
    while True:
        with contextlib.suppress(OSError, ValueError):
            count = await loop.run_in_executor(None, _origin_requests, url)
            into.append((clock(), count))
        await asyncio.sleep(SAMPLE_EVERY)


def measured_phases(
    seconds: list[Any],
    samples: list[tuple[float, int]],
    window: tuple[float, float],
    duration: float,
) -> dict[str, dict[str, Any]]:
    """The live run's figures per phase from the load generator's seconds and origin samples.

    What completed after the run's ``duration`` (late answers) counts in the run's last phase.
    """
    from loadgen.stats import new_histogram, value_at_percentile

    last = max(duration - 0.5, 0.0)
    if window[1] >= duration:  # the window lasts to the end: nothing comes after it
        window = (window[0], math.inf)
    phases: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(PHASES):
        chosen = [s for i, s in enumerate(seconds) if phase_of(min(i + 0.5, last), window) == index]
        completed = sum(s.completed for s in chosen)
        errors = sum(s.errors for s in chosen)
        hits = sum(s.hits for s in chosen)
        merged = new_histogram()
        for second in chosen:
            histogram = second.histogram()
            if histogram.get_total_count():
                merged.add(histogram)
        p99 = value_at_percentile(merged, 99) / 1000.0 if merged.get_total_count() else 0.0
        phases[name] = {
            "requests": completed + errors,
            "errors": errors,
            "stale_served": sum(s.stale for s in chosen),
            "origin_requests": _origin_in_phase(samples, window, index),
            "hits": hits,
            "hit_ratio": hits / (completed + errors) if completed + errors else 0.0,
            "p99_ms": p99,
        }
    return phases


def _origin_in_phase(
    samples: list[tuple[float, int]], window: tuple[float, float], index: int
) -> int:
    """Origin requests between the samples nearest the phase's bounds."""
    if len(samples) < 2:
        return 0
    start, end = window
    bounds = [(-math.inf, start), (start, end), (end, math.inf)][index]

    def at(t: float) -> int:
        if t == -math.inf:
            return samples[0][1]
        if t == math.inf:
            return samples[-1][1]
        before = [count for when, count in samples if when <= t]
        return before[-1] if before else samples[0][1]

    return max(0, at(bounds[1]) - at(bounds[0]))


def fault_comparison_table(doc: dict[str, Any]) -> Table:
    """Measured vs predicted per phase: one row per figure and phase."""
    window = doc["window"]
    end = "end of run" if window["end_s"] is None else f"{window['end_s']:g} s"
    table = Table(
        title=f"faults: {'; '.join(doc['schedule'])} — measured vs predicted "
        f"(window {window['start_s']:g} s to {end})"
    )
    table.add_column("figure")
    for phase in PHASES:
        table.add_column(f"{phase}\nmeasured", justify="right")
        table.add_column(f"{phase}\npredicted", justify="right")
    for metric in METRICS:
        cells = []
        for phase in PHASES:
            for side in ("measured", "predicted"):
                value = doc[side][phase][metric]
                cells.append(f"{value:.3f}" if metric == "hit_ratio" else f"{value:,.0f}")
        table.add_row(metric.replace("_", " "), *cells)
    return table


def run_fault_demo(
    options: Any, faults: tuple[Fault, ...], *, announce: Announce | None = None
) -> FaultDemo:
    """Run the cluster under ``faults`` with load, simulate the same, write faults.json."""
    import uvloop

    from cluster import Cluster
    from cluster.faults import FaultActor
    from demo.run import NodeLog, choose_topology, settle_peers, signals_ignored, with_rate
    from loadgen.plan import LoadPlan
    from loadgen.runner import LoadRun

    say = announce or (lambda message: None)
    options.out.mkdir(parents=True, exist_ok=True)
    path, _ = choose_topology(options, say)
    topology = with_rate(load_topology(path), options.rate)
    seed = topology.workload.seed if options.seed is None else options.seed
    log = NodeLog(options.out / "cluster.log")
    samples: list[tuple[float, int]] = []
    try:
        cluster = Cluster(
            path,
            prometheus=False,
            state_dir=options.out,
            log_sink=log,
            health_timeout=options.health_timeout,
            announce=say,
        )
        try:
            cluster.start()
            settle_peers(cluster, options.settle, say)
            state = cluster.run_state()
            edge_urls = tuple((n.name, n.url) for n in state.nodes if n.role == "edge")
            plan = LoadPlan(
                topology=topology,
                edge_urls=edge_urls,
                rate=options.rate,
                duration=options.duration,
                seed=seed,
                arrival="poisson",
                labels={"run": "cdn demo --faults"},
            )
            run = LoadRun(plan)
            actor = FaultActor(state, state_path=cluster.state_path, announce=say)
            origin_url = cluster.urls[topology.origin.name]
            say(
                f"load for {options.duration:g} s with faults: {'; '.join(f.describe() for f in faults)}"
            )
            report = uvloop.run(_load(run, actor, faults, origin_url, samples))
        finally:
            say("stopping the cluster")
            with signals_ignored():
                cluster.stop()
    finally:
        log.close()
    say(f"simulating the same {options.duration:g} s with the same faults (seed {seed})")
    predicted = _predict(topology, seed, options.duration, faults)
    window = (predicted["window"]["start_s"], predicted["window"]["end_s"] or math.inf)
    measured = measured_phases(report.stats.seconds, samples, window, options.duration)
    doc = {
        "schedule": [fault.describe() for fault in faults],
        "window": predicted["window"],
        "seed": seed,
        "rate": topology.workload.rate,
        "duration_s": options.duration,
        "measured": measured,
        "predicted": predicted["phases"],
        "predicted_origins": predicted["origins"],
        "fault_actions": [
            {"at": a.at, "what": a.what, "ok": a.ok, "detail": a.detail} for a in actor.actions
        ],
        "measured_per_second": {
            "completed": [s.completed for s in report.stats.seconds],
            "errors": [s.errors for s in report.stats.seconds],
            "stale": [s.stale for s in report.stats.seconds],
            "origin_samples": samples,
        },
        "predicted_per_second": predicted["per_second"],
    }
    target = options.out / "faults.json"
    target.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return FaultDemo(doc, target)


async def _load(run: Any, actor: Any, faults: tuple[Fault, ...], origin_url: str, samples: list):
    from cluster.faults import load_with_faults

    sampler = asyncio.get_running_loop().create_task(_sample_origin(origin_url, run.clock, samples))
    try:
        return await load_with_faults(run, actor, faults)
    finally:
        await asyncio.sleep(SAMPLE_EVERY * 1.5)  # the last responses' origin fetches land
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        t0 = run.t0  # samples in seconds from the run's start, as the load generator counts
        samples[:] = [(when - t0, count) for when, count in samples]


def _predict(topology: Any, seed: int, duration: float, faults: tuple[Fault, ...]) -> dict:
    from sim.model import SimOptions, Simulation

    timed = dataclasses.replace(
        topology, workload=dataclasses.replace(topology.workload, duration=duration)
    )
    options = SimOptions(seed=seed, duration=duration, faults=faults)
    return Simulation(timed, options).run().report["faults"]
