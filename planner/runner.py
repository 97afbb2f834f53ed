"""Running sweep points: an on-disk cache per point, a local process pool, or a Dask cluster.

Rules: a point is computed at most once per id: results live in ``<cache dir>/<id>.json``
(written atomically), and a rerun only computes ids it has no file for. ``evaluate`` is a
module-level function of a picklable Job, so the same call runs in-process, in a
``ProcessPoolExecutor`` (spawned workers: no fork under the progress bar's thread) or on Dask
workers (``dask.distributed``, imported only when a scheduler is given). Results are the same
whichever runs them: every point is seeded by the plan alone. Wall time is kept beside the
metrics (``compute_s``), never inside them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdn.errors import UserError
from cdn.topology import Topology
from planner.points import CACHE_VERSION
from planner.simulate import TIMESERIES, report_metrics, simulate
from sim.model import SimOptions


@dataclass(frozen=True, slots=True)
class Job:
    """One point to compute: its id, parameters, variant topology and simulator options."""

    id: str
    params: dict[str, Any]
    topology: Topology
    options: SimOptions


def evaluate(job: Job) -> dict[str, Any]:
    """Simulate one point; the record stored in the cache (id, params, metrics, per-PoP summary)."""
    started = time.perf_counter()  # wall time for the record only; never in metrics
    report = simulate(job.topology, job.options)
    pops = {
        name: {
            "role": pop.get("role"),
            "requests": pop.get("requests"),
            "hit_ratio": pop.get("hit_ratio"),
            "peak_utilization": pop.get("peak_utilization"),
        }
        for name, pop in sorted((report.get("pops") or {}).items())
    }
    return {
        "version": CACHE_VERSION,
        "id": job.id,
        "params": job.params,
        "metrics": report_metrics(report, job.topology),
        "pops": pops,
        "timeseries": {
            "bucket_s": (report.get("timeseries") or {}).get("bucket_s"),
            **{name: (report.get("timeseries") or {}).get(name) for name in TIMESERIES},
        },
        "compute_s": time.perf_counter() - started,
    }


class PointCache:
    """Point records on disk, one JSON file per point id."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, point_id: str) -> Path:
        """Where the record of ``point_id`` lives."""
        return self.directory / f"{point_id}.json"

    def get(self, point_id: str) -> dict[str, Any] | None:
        """The stored record of ``point_id``, or None (also for unreadable or outdated files)."""
        try:
            record = json.loads(self.path(point_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("version") != CACHE_VERSION or record.get("id") != point_id:
            return None
        return record

    def put(self, record: dict[str, Any]) -> None:
        """Store ``record`` atomically (a half-written file is never read as a result)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(record["id"])
        temporary = target.with_suffix(f".tmp{os.getpid()}")
        temporary.write_text(json.dumps(record, sort_keys=True, indent=1), encoding="utf-8")
        os.replace(temporary, target)


@dataclass(frozen=True, slots=True)
class RunCounts:
    """How many points were computed now and how many came from the cache."""

    computed: int
    reused: int


OnResult = Callable[[dict[str, Any], bool], None]  # (record, was it computed now)


def _local(jobs: Sequence[Job], workers: int, done: Callable[[dict[str, Any]], None]) -> None:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            done(evaluate(job))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = [pool.submit(evaluate, job) for job in jobs]
        for future in as_completed(futures):
            done(future.result())


def _dask(jobs: Sequence[Job], scheduler: str, done: Callable[[dict[str, Any]], None]) -> None:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise UserError(
            "--scheduler needs Dask: install the optional extra with "
            "`pip install 'cdnlab[dask]'` (or `pip install 'dask[distributed]'`)"
        ) from None
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        futures = client.map(evaluate, list(jobs), key=[f"cdn-plan-{job.id}" for job in jobs])
        for future in dask_completed(futures):
            done(future.result())
    finally:
        client.close()


def run_points(
    jobs: Sequence[Job],
    cache: PointCache,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    on_result: OnResult | None = None,
) -> tuple[list[dict[str, Any]], RunCounts]:
    """Records of every job (in job order): cached ones read, the others computed and stored."""
    records: dict[str, dict[str, Any]] = {}
    missing: list[Job] = []
    for job in jobs:
        if job.id in records:
            continue
        record = cache.get(job.id)
        if record is None:
            missing.append(job)
            continue
        records[job.id] = record
        if on_result is not None:
            on_result(record, False)
    unique = list({job.id: job for job in missing}.values())

    def done(record: dict[str, Any]) -> None:
        cache.put(record)
        records[record["id"]] = record
        if on_result is not None:
            on_result(record, True)

    if unique:
        if scheduler:
            _dask(unique, scheduler, done)
        else:
            _local(unique, workers, done)
    reused = len({job.id for job in jobs}) - len(unique)
    return [records[job.id] for job in jobs], RunCounts(computed=len(unique), reused=reused)
