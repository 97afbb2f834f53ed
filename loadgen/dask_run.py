"""One load run over the workers of a Dask cluster (``--scheduler tcp://HOST:8786``).

Rules:
- One shard per worker (or ``shards``, spread over the workers in turn); shard plans are those of
  local processes (loadgen.processes.shard_plans), so together they send exactly one stream.
- Clocks: the offset of each worker's wall clock from this machine's is measured before the run
  (``client.run(time.time)`` round trips; the sample with the shortest round trip is kept, the
  offset is the worker's reading minus the midpoint of the round trip, uncertain by +- half of
  it).
- Aligned start, with a barrier: each task builds its schedule and warms its connections, then
  puts itself on a Dask ``Queue`` and waits on a Dask ``Variable``. When every shard is ready
  this machine sets the start (``now + lead`` on its clock); each task starts at that instant in
  its own clock (start + its offset), so schedules start together even when clocks differ.
- Each task returns load.json text; the reports are merged exactly (``merge_reports``). Offsets,
  round trips and the start are kept in the report's ``plan.cluster``.
- Progress (when asked for): each task puts a snapshot on a Dask ``Queue`` every half second,
  and this machine shows them combined as local processes' are (loadgen.processes).
- Dask is imported only here (the optional ``dask`` extra).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from loadgen.plan import LoadPlan
from loadgen.processes import shard_plans
from loadgen.report import LoadReport, merge_reports
from loadgen.runner import Progress

CLOCK_SAMPLES = 5
PROGRESS_SUFFIX = "-progress"
START_LEAD = 0.5  # seconds from the last shard being ready to the agreed start
READY_TIMEOUT = 300.0  # longest wait for every shard to be ready
READY_POLL = 0.05


class DaskUnavailable(RuntimeError):
    """Dask is not installed, or the scheduler cannot be reached."""


@dataclass(frozen=True, slots=True)
class WorkerClock:
    """A worker's wall-clock offset from this machine (worker - here) and the round trip used."""

    worker: str
    offset_s: float
    round_trip_s: float


def run_shard(plan: LoadPlan, offset_s: float, barrier: str, progress: bool = False) -> str:
    """Run one shard in this (worker) process and return its load.json text.

    Once warm, it says so on the Queue ``barrier`` and waits for the start set on the Variable
    ``barrier`` (this machine's clock; ``offset_s`` turns it into the worker's clock). With
    ``progress``, a snapshot goes to the Queue ``barrier + "-progress"`` every half second.
    """
    import asyncio

    import uvloop
    from dask.distributed import Queue, Variable, get_client

    from loadgen.runner import LoadRun

    client = get_client()

    def wait_for_start() -> float:
        Queue(barrier, client=client).put(plan.shard[0])
        return float(Variable(barrier, client=client).get(timeout=READY_TIMEOUT)) + offset_s

    async def ready() -> float | None:
        return await asyncio.get_running_loop().run_in_executor(None, wait_for_start)

    run = LoadRun(plan)
    # One thread puts the snapshots, in order (the Queue's API blocks: off the loop's thread).
    publisher = ThreadPoolExecutor(max_workers=1)
    if progress:
        snapshots = Queue(barrier + PROGRESS_SUFFIX, client=client)

        def publish(snapshot: Progress) -> None:
            with contextlib.suppress(Exception):  # a lost snapshot only delays the display
                snapshots.put([plan.shard[0], *dataclasses.astuple(snapshot)])

        run.on_progress = lambda snapshot: publisher.submit(publish, snapshot)  # type: ignore[assignment]
    try:
        return uvloop.run(run.run(ready)).dumps()
    finally:
        publisher.shutdown(wait=True)  # every snapshot is queued before the task ends


def measure_clock(client: Any, worker: str, samples: int = CLOCK_SAMPLES) -> WorkerClock:
    """The offset of ``worker``'s clock (see the module rules)."""
    best: WorkerClock | None = None
    for _ in range(samples):
        sent = time.time()
        theirs = client.run(time.time, workers=[worker])[worker]
        received = time.time()
        sample = WorkerClock(worker, theirs - (sent + received) / 2, received - sent)
        if best is None or sample.round_trip_s < best.round_trip_s:
            best = sample
    assert best is not None
    return best


def connect(scheduler: str) -> Any:
    """A dask.distributed Client for ``scheduler``; DaskUnavailable with a fix otherwise."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise DaskUnavailable(
            "--scheduler needs Dask: install the optional extra with "
            "`pip install 'cdnlab[dask]'` (or `pip install 'dask[distributed]'`)"
        ) from None
    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None


PROGRESS_POLL = 0.5


def _show_progress(
    snapshots: Any, latest: dict[int, Progress], count: int, show: Callable[[Progress], None]
) -> None:
    """Read the snapshots waiting in the Queue and show them combined (every shard reported)."""
    from loadgen.processes import combine_progress

    # qsize first: a get that times out is logged as an error by the scheduler.
    items = snapshots.get(batch=True) if snapshots.qsize() else []
    for item in items:
        latest[int(item[0])] = Progress(*item[1:])
    if items and len(latest) == count:
        show(combine_progress(list(latest.values())))


def run_on_dask(
    plan: LoadPlan,
    scheduler: str | Any,
    *,
    shards: int | None = None,
    lead: float = START_LEAD,
    announce: Callable[[str], None] | None = None,
    on_shard_done: Callable[[int, int], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> LoadReport:
    """Send ``plan`` from the workers of the Dask cluster at ``scheduler`` (an address or a
    Client) and return the merged report."""
    say = announce or (lambda message: None)
    client = connect(scheduler) if isinstance(scheduler, str) else scheduler
    try:
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise DaskUnavailable(f"the Dask cluster at {client.scheduler.address} has no workers")
        count = shards or len(workers)
        threads = sum(client.nthreads().values())
        if count > threads:
            # Every shard waits for all the others before sending: they must run at once.
            raise DaskUnavailable(
                f"--shards {count} is more than the cluster's {threads} worker threads "
                f"(expected at most {threads})"
            )
        clocks = {worker: measure_clock(client, worker) for worker in workers}
        for clock in clocks.values():
            say(
                f"worker {clock.worker}: clock offset {clock.offset_s * 1000:+.3f} ms "
                f"(round trip {clock.round_trip_s * 1000:.3f} ms)"
            )
        from dask.distributed import Queue, Variable, wait

        barrier = f"cdn-load-{uuid.uuid4().hex}"
        ready_queue = Queue(barrier, client=client)
        start_variable = Variable(barrier, client=client)
        futures = []
        placed: list[str] = []
        for j, shard_plan in enumerate(shard_plans(plan, count)):
            worker = workers[j % len(workers)]
            placed.append(worker)
            futures.append(
                client.submit(
                    run_shard,
                    shard_plan,
                    clocks[worker].offset_s,
                    barrier,
                    on_progress is not None,
                    workers=[worker],
                    allow_other_workers=False,
                    pure=False,
                    key=f"{barrier}-{shard_plan.shard[0]}-of-{shard_plan.shard[1]}",
                )
            )
        say(f"{count} shards on {len(workers)} workers: preparing")
        ready = 0
        deadline = time.monotonic() + READY_TIMEOUT
        while ready < count:
            # qsize first: a get that times out is logged as an error by the scheduler.
            if ready_queue.qsize():
                ready += len(ready_queue.get(batch=True))
                continue
            for future in futures:
                if future.status == "error":
                    future.result()  # raises the shard's error here
            if time.monotonic() > deadline:
                raise DaskUnavailable(
                    f"{count - ready} of {count} shards not ready after {READY_TIMEOUT:g} s"
                )
            time.sleep(READY_POLL)
        start_at = time.time() + lead
        start_variable.set(start_at)
        say(f"every shard is ready; they start at {time.ctime(start_at)}")
        docs: dict[int, dict[str, Any]] = {}
        order = {future.key: j for j, future in enumerate(futures)}
        snapshots = Queue(barrier + PROGRESS_SUFFIX, client=client)
        latest: dict[int, Progress] = {}
        pending = set(futures)
        while pending:
            try:
                done, pending = wait(
                    list(pending), timeout=PROGRESS_POLL, return_when="FIRST_COMPLETED"
                )
            except TimeoutError:  # nothing finished in this poll
                done = set()
            if on_progress is not None:
                _show_progress(snapshots, latest, count, on_progress)
            for future in done:
                docs[order[future.key]] = json.loads(future.result())
                say(f"{len(docs)}/{count} shards reported")
                if on_shard_done is not None:
                    on_shard_done(len(docs), count)
        if on_progress is not None:  # the last snapshots were queued before their tasks ended
            _show_progress(snapshots, latest, count, on_progress)
        start_variable.delete()
        report = merge_reports(LoadReport.from_json(docs[j]) for j in sorted(docs))
        report.plan["shard"] = f"{plan.shard[0]}/{plan.shard[1]}"
        report.plan["cluster"] = {
            "scheduler": str(client.scheduler.address),
            "start_at": start_at,
            "shards": {f"{j}/{count}": worker for j, worker in enumerate(placed)},
            "clock_offsets_ms": {w: c.offset_s * 1000 for w, c in clocks.items()},
            "round_trips_ms": {w: c.round_trip_s * 1000 for w, c in clocks.items()},
        }
        return report
    finally:
        if isinstance(scheduler, str):
            client.close()
