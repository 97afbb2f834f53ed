"""The whole demo: start the cluster, load it, simulate the same workload, stop, compare, write.

Order and why:
1. Ports: the topology's own ports (configs/local.toml: 8100-8123) unless ``free_ports`` is set or
   one of them is busy (e.g. a `cdn up` is running); then a copy of the topology on free ports is
   written into the output folder and used (cluster.relocate). Either way nothing else changes.
2. The cluster starts as `cdn up` starts it (cluster.Cluster: origin, shields, edges, each tier
   healthy before the next), without Prometheus and without a run-state file (so a `cdn up` of the
   same topology keeps its own). Then the demo waits (up to ``settle`` seconds) until every edge's
   /_cdn/health lists all its peers as up: edges of a group start together, so each first
   believes the others down until its next probe (every 2 s), and an edge that thinks a peer is
   down fetches and stores that peer's keys itself, which the simulator does not model.
3. Counters are read (each cache's /_cdn/metrics, the origin's /_cdn/stats), the load runs
   (loadgen, open loop, Poisson arrivals, the workload's seed), counters are read again: the
   difference is what the load caused.
4. The cluster stops (also on Ctrl-C or SIGTERM: the Cluster context manager stops every node).
5. The simulator runs the same topology, workload, seed and duration (demo.predict).
6. compare.json, the comparison PNG, both reports and their CSV/PNG files are written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from cdn.latency import LatencyModel
from cdn.topology import Topology, load_topology
from cluster import Cluster
from cluster.ports import port_is_free
from cluster.relocate import relocate_topology
from demo.compare import RunFigures, compare_doc, measured_figures
from demo.latency import latency_doc
from demo.scrape import ClusterReading, peers_down, read_cluster

SETTLE_SECONDS = 10.0  # at most this long for every edge to see its peers up (probes every 2 s)
SETTLE_FLOOR = 0.5  # a probe sent just before a peer listened may still be answering
DRAIN_SECONDS = 0.3  # responses are counted as they are sent; let the last ones land

Announce = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What one `cdn demo` does."""

    topology_file: Path
    out: Path
    duration: float = 20.0
    seed: int | None = None
    rate: float | None = None
    free_ports: bool = False
    settle: float = SETTLE_SECONDS
    plots: bool = True
    progress: bool = True
    health_timeout: float = 30.0
    processes: int | None = None  # load processes; None: auto (the cores the cluster leaves)
    scheduler: str | None = None  # send the load from this Dask cluster's workers instead
    calibrate: bool = True  # with emulated latency, measure the path's overheads (demo.calibrate)


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo produced: compare.json's document, the files written, timings."""

    doc: dict[str, Any]
    measured: RunFigures
    predicted: RunFigures
    files: list[Path]
    topology_file: Path
    relocated: bool
    seconds: dict[str, float]


class StopRequested(BaseException):
    """SIGTERM or SIGHUP arrived: stop the cluster and leave (Ctrl-C raises KeyboardInterrupt)."""


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into StopRequested (main thread only), so cleanup code runs."""
    if sys.platform == "win32" or not _main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise StopRequested(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore Ctrl-C, SIGTERM and SIGHUP for a while (main thread only)."""
    if sys.platform == "win32" or not _main_thread():
        yield
        return
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in stops}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def busy_ports(topology: Topology) -> list[str]:
    """``node host:port`` for each node whose port is taken now."""
    return [
        f"{node.name} {node.host}:{node.port}"
        for node in topology.nodes
        if not port_is_free(node.host, node.port)
    ]


def choose_topology(options: DemoOptions, announce: Announce) -> tuple[Path, bool]:
    """The topology file to start: the given one, or a copy on free ports in the output folder."""
    topology = load_topology(options.topology_file)
    reason = "--free-ports" if options.free_ports else None
    if reason is None:
        busy = busy_ports(topology)
        if busy:
            reason = f"busy port{'s' if len(busy) > 1 else ''} ({', '.join(busy)})"
    if reason is None:
        return options.topology_file, False
    folder = options.out / "topology"
    folder.mkdir(parents=True, exist_ok=True)
    moved = relocate_topology(options.topology_file, folder)
    announce(f"{reason}: running on free ports, topology copy in {moved}")
    return moved, True


def with_rate(topology: Topology, rate: float | None) -> Topology:
    """``topology`` with its workload's rate replaced (None: unchanged)."""
    if rate is None:
        return topology
    return dataclasses.replace(
        topology, workload=dataclasses.replace(topology.workload, rate=float(rate))
    )


def settle_peers(cluster: Cluster, timeout: float, say: Announce) -> list[str]:
    """Wait until every cache sees all its peers up (at most ``timeout`` s); notes if not."""
    urls = cluster.urls
    caches = {node.name: urls[node.name] for node in cluster.topology.caches}
    say("cluster healthy; waiting until every edge sees its peers up")
    time.sleep(SETTLE_FLOOR)
    deadline = time.monotonic() + max(0.0, timeout - SETTLE_FLOOR)
    while True:
        down = peers_down(caches)
        if not down:
            return []
        if time.monotonic() >= deadline:
            listed = "; ".join(f"{name} sees {', '.join(p)} down" for name, p in down.items())
            say(f"peers still down after {timeout:g} s ({listed}); running anyway")
            return [f"the load started while {listed}: those edges store keys they do not own"]
        time.sleep(0.2)


def _reading(cluster: Cluster) -> ClusterReading:
    urls = cluster.urls
    caches = {node.name: urls[node.name] for node in cluster.topology.caches}
    return read_cluster(urls[cluster.topology.origin.name], caches)


def _run_load(topology: Topology, options: DemoOptions, seed: int, console: Any, say: Announce):
    from loadgen.console import LiveProgress
    from loadgen.launch import resolve_processes, run_spread
    from loadgen.plan import LoadPlan

    plan = LoadPlan(
        topology=topology,
        rate=options.rate,
        duration=options.duration,
        seed=seed,
        arrival="poisson",
        labels={"run": "cdn demo"},
    )
    if options.scheduler:
        say(f"load from the Dask workers of {options.scheduler}")
        return run_spread(plan, scheduler=options.scheduler, announce=say)
    choice = resolve_processes(plan, options.processes)
    say(f"load from {choice.count} process{'es' if choice.count > 1 else ''}: {choice.reason}")
    if not options.progress or console is None:
        return run_spread(plan, processes=choice.count)
    with LiveProgress(console, plan.duration, None) as live:
        return run_spread(plan, processes=choice.count, on_progress=live.update)


class NodeLog:
    """Keeps every node's output lines in a file (out/cluster.log) for after-the-fact reading."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("w", encoding="utf-8", buffering=1)  # line by line: tail -f works

    def __call__(self, name: str, line: str) -> None:
        with contextlib.suppress(ValueError):  # a pump thread may outlive close()
            self.handle.write(f"[{name}] {line}\n")

    def close(self) -> None:
        self.handle.close()


def run_demo(
    options: DemoOptions, *, console: Any = None, announce: Announce | None = None
) -> DemoResult:
    """Run the demo (see the module docstring); ``console`` (rich) shows progress bars."""
    say = announce or (lambda message: None)
    clock = time.perf_counter  # wall time only for the timings shown, never in the comparison
    started = clock()
    seconds: dict[str, float] = {}
    options.out.mkdir(parents=True, exist_ok=True)
    path, relocated = choose_topology(options, say)
    topology = with_rate(load_topology(path), options.rate)
    seed = topology.workload.seed if options.seed is None else options.seed
    roles = {node.name: node.role for node in topology.caches}
    log = NodeLog(options.out / "cluster.log")
    try:
        with stop_on_signals():
            cluster = Cluster(
                path,
                prometheus=False,
                write_state=False,
                log_sink=log,
                health_timeout=options.health_timeout,
                announce=say,
            )
            try:
                cluster.start()  # checks ports, starts each tier, waits until healthy
                seconds["start"] = clock() - started
                settle_notes = settle_peers(cluster, options.settle, say)
                topology = _calibrated(topology, cluster, options, say, settle_notes)
                before = _reading(cluster)
                mark = clock()
                load = _run_load(topology, options, seed, console, say)
                seconds["load"] = clock() - mark
                time.sleep(DRAIN_SECONDS)
                delta = _reading(cluster).minus(before)
            finally:
                say("stopping the cluster")
                mark = clock()
                with signals_ignored():  # a second Ctrl-C must not cut the stop short
                    cluster.stop()
            seconds["stop"] = clock() - mark
    finally:
        log.close()
    say("cluster stopped: every node exited")
    load_doc = load.to_json()
    measured = measured_figures(roles, delta, load_doc)

    mark = clock()
    say(f"simulating the same {options.duration:g} s (seed {seed})")
    prediction = _simulate(topology, seed, options.duration, options.progress, console)
    seconds["simulate"] = clock() - mark

    say(f"writing reports and plots to {options.out}")
    doc, files = _write(
        options, load, prediction, measured, topology, seed, relocated, path, load_doc, settle_notes
    )
    seconds["total"] = clock() - started
    return DemoResult(
        doc=doc,
        measured=measured,
        predicted=prediction.figures,
        files=files,
        topology_file=path,
        relocated=relocated,
        seconds=seconds,
    )


def _calibrated(
    topology: Topology, cluster: Cluster, options: DemoOptions, say: Announce, notes: list[str]
) -> Topology:
    """``topology`` with the live path's overheads measured on the cluster (demo.calibrate) when
    latency is emulated and calibration is on; unchanged otherwise. Adds a note when measured."""
    if not topology.network.emulate_latency or not options.calibrate:
        return topology
    from demo.calibrate import calibrate, with_overheads

    say("measuring the live path's overheads (demo.calibrate)")
    found = calibrate(topology, cluster.urls, warm_rate=topology.workload.rate)
    say(found.note)
    notes.extend(_purge_probes(topology, cluster, say))
    if found.overheads is None:
        notes.append(f"overheads not measured ({found.note}); the prediction charges none")
        return topology
    notes.append(f"latency: {found.note}, charged by the prediction")
    return with_overheads(topology, found.overheads)


def _purge_probes(topology: Topology, cluster: Cluster, say: Announce) -> list[str]:
    """Purge the calibration's probe objects from every cache (demo.calibrate): the load starts
    on empty caches, as the simulator's. Notes when a cache did not confirm."""
    from cluster.purge import PurgeRequest, purge_cluster
    from demo.calibrate import probe_prefix

    prefix = probe_prefix(topology)
    outcomes = purge_cluster(
        topology.caches, PurgeRequest(prefix=prefix), cluster.token, node_urls=cluster.urls
    )
    failed = [f"{o.node}: {o.error or o.status}" for o in outcomes if not o.confirmed]
    purged = sum(o.purged or 0 for o in outcomes)
    say(f"purged the calibration's {purged} stored probe objects (prefix {prefix})")
    if failed:
        return [f"the calibration's probe objects were not purged from {'; '.join(failed)}"]
    return []


def _simulate(topology: Topology, seed: int, duration: float, progress: bool, console: Any):
    from demo.predict import predict
    from sim.progress import SimProgress

    quiet = not progress or console is None
    with SimProgress(f"sim {topology.name}", duration, "seconds", quiet) as bar:
        return predict(
            topology, seed=seed, duration=duration, on_progress=lambda t, n: bar.update(t, n)
        )


def _notes(
    topology: Topology,
    load_doc: dict[str, Any],
    measured: RunFigures,
    ring_agrees: bool,
    settle_notes: list[str],
) -> list[str]:
    notes = list(settle_notes)
    if not ring_agrees:
        notes.append(
            "per-edge figures are not comparable: the simulator's peer ring assigns keys to "
            "other owners than the live edges' ring (the edge-tier figures still are)"
        )
    if not topology.network.emulate_latency:
        notes.append(
            "latency is not comparable: the live cluster runs on loopback without emulated "
            "propagation delay (network.emulate_latency = false); the simulator adds "
            "geographic delays"
        )
    else:
        notes.append(
            "latency: queueing is not emulated (live nodes queue on the machine's real CPU; "
            "the simulator draws service times from capacity_rps)"
        )
    errors = load_doc.get("errors", {}).get("total", 0)
    if errors:
        notes.append(f"the load run had {errors} errors: {load_doc['errors'].get('by_kind')}")
    if load_doc.get("behind"):
        notes.extend(load_doc.get("warnings", []))
    lookups = sum(n.lookups for n in measured.edges.values())
    responses = int(load_doc.get("responses", 0))
    if lookups != responses:
        notes.append(
            f"edge-tier lookups counted by the edges ({lookups}) differ from responses the load "
            f"generator received ({responses})"
        )
    return notes


def _write(
    options: DemoOptions,
    load: Any,
    prediction: Any,
    measured: RunFigures,
    topology: Topology,
    seed: int,
    relocated: bool,
    path: Path,
    load_doc: dict[str, Any],
    settle_notes: list[str],
) -> tuple[dict[str, Any], list[Path]]:
    """Both reports (load/, sim/), compare.json, compare.png and the topology used."""
    import json

    from demo.plot import comparison_plot
    from sim.output import write_outputs

    out = options.out
    files: list[Path] = []
    files += load.write(out / "load", plots=options.plots)
    files += write_outputs(prediction.result, out / "sim", plots=options.plots)
    latency = LatencyModel.from_network(topology.network)
    run = {
        "topology": topology.name,
        "topology_file": str(path),
        "relocated": relocated,
        "seed": seed,
        "rate": topology.workload.rate,
        "duration_s": options.duration,
        "arrival": "poisson",
        "emulate_latency": topology.network.emulate_latency,
        # The live path's overheads the prediction charged (cdn.latency, demo.calibrate).
        "overheads_ms": {
            "wakeup": round(topology.network.wakeup_ms, 3),
            "fetch": round(topology.network.fetch_overhead_ms, 3),
            "origin": round(topology.network.origin_overhead_ms, 3),
            "cached_fetch": round(latency.cached_fetch * 1000.0, 3),
            "relay_fetch": round(latency.relay_fetch * 1000.0, 3),
        },
        "ring_agrees": prediction.ring_agrees,
        "reports": {"load": "load/load.json", "sim": "sim/report.json"},
        # The machine's 1/5/15-minute load when the run ended: live latency depends on it.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    doc = compare_doc(
        measured,
        prediction.figures,
        run=run,
        notes=_notes(topology, load_doc, measured, prediction.ring_agrees, settle_notes),
    )
    if prediction.latencies is not None:  # p50/p90/p99 measured vs predicted (demo.latency)
        doc["latency"] = latency_doc(load, prediction.latencies, run["emulate_latency"])
    target = out / "compare.json"
    target.write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    files.append(target)
    if options.plots:
        files.append(comparison_plot(doc, out / "compare.png"))
    if not relocated:
        (out / "topology").mkdir(exist_ok=True)
        shutil.copyfile(path, out / "topology" / path.name)
    return doc, files
