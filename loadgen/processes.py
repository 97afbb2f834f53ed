"""One load run over several local processes: shards of one stream, one display, one report.

Rules:
- Process j of n sends shard ``i + k*j`` of ``k*n`` when the plan itself is shard i of k (shards
  compose: the workload stream and traces shard by position modulo the count), so n processes
  send exactly the requests one process would have sent.
- Processes are new interpreters (``python -m loadgen.processes FD``, no fork: the parent may
  hold a progress display and threads; no multiprocessing spawn either, which would re-run the
  caller's main module), each talking to the parent over its own socket pair. Each builds its schedule and opens its connections, says it is ready, and waits for an agreed
  wall-clock start, so all of them start their schedule at the same instant.
- Each process sends a progress snapshot every ``progress_interval`` s; the parent combines them
  for one display (counts add; p50 is the response-weighted mean and p99 the maximum of the
  processes' figures, an approximation for display only).
- Each process returns its report as load.json text (counters and encoded HDR histograms), and the
  parent merges them exactly (``merge_reports``): the result counts what one process would have.
- ``stop()`` asks every process to stop sending; requests in flight still finish and the report
  covers what was sent. Children run in their own session (Ctrl-C reaches only the parent); an
  interrupted parent (KeyboardInterrupt, as a single process would raise it) terminates them, and
  a child whose parent went away stops sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from loadgen.plan import LoadPlan
from loadgen.report import LoadReport, merge_reports
from loadgen.runner import LoadRun, Progress

START_LEAD = 0.2  # seconds between the last process being ready and the agreed start
READY_TIMEOUT = 120.0


class LoadProcessError(RuntimeError):
    """A load process failed; the message carries its traceback."""


def shard_plans(plan: LoadPlan, count: int) -> list[LoadPlan]:
    """``count`` plans that together send what ``plan`` sends (see the module rules)."""
    index, shards = plan.shard
    return [
        dataclasses.replace(plan, shard=(index + shards * j, shards * count)) for j in range(count)
    ]


def combine_progress(snapshots: list[Progress]) -> Progress:
    """One display snapshot from the processes' snapshots (counts add; see the module rules)."""
    responses = sum(p.responses for p in snapshots)
    weight = responses or 1

    def weighted(attr: str) -> float:
        if not responses:
            return 0.0
        return sum(getattr(p, attr) * p.responses for p in snapshots) / weight

    return Progress(
        elapsed=max(p.elapsed for p in snapshots),
        window=max(p.window for p in snapshots),
        scheduled=sum(p.scheduled for p in snapshots),
        sent=sum(p.sent for p in snapshots),
        responses=responses,
        errors=sum(p.errors for p in snapshots),
        dropped=sum(p.dropped for p in snapshots),
        in_flight=sum(p.in_flight for p in snapshots),
        asked_rate=sum(p.asked_rate for p in snapshots),
        achieved_rate=sum(p.achieved_rate for p in snapshots),
        p50_ms=weighted("p50_ms"),
        p99_ms=max(p.p99_ms for p in snapshots),
        hit_ratio=weighted("hit_ratio"),
        lag_p99_ms=max(p.lag_p99_ms for p in snapshots),
    )


def child_main(fd: int) -> None:
    """A load process: receive the plan, prepare, say ready, wait for the start, run, report."""
    import uvloop

    conn = Connection(fd)
    try:
        plan, progress_interval, report_progress = conn.recv()
        run = LoadRun(plan, progress_interval=progress_interval)
        if report_progress:
            run.on_progress = lambda p: conn.send(("progress", p))

        async def ready() -> float | None:
            loop = asyncio.get_running_loop()
            started: asyncio.Future[float] = loop.create_future()

            def readable() -> None:
                if not conn.poll():
                    return
                try:
                    kind, value = conn.recv()
                except EOFError:
                    kind, value = "stop", None
                if kind == "start" and not started.done():
                    started.set_result(float(value))
                elif kind == "stop":
                    run.stop()
                    if not started.done():
                        started.set_result(time.time())

            loop.add_reader(conn.fileno(), readable)
            conn.send(("ready", run.warmed))
            return await started

        report = uvloop.run(run.run(ready))
        conn.send(("report", report.dumps()))
    except (ValueError, OSError) as exc:  # bad input (a trace file, a plan): the message says it
        conn.send(("error", str(exc)))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


class ProcessRun:
    """``count`` local processes sending ``plan`` together (see the module rules)."""

    def __init__(
        self,
        plan: LoadPlan,
        count: int,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        progress_interval: float = 0.5,
    ) -> None:
        self.plan = plan
        self.count = count
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.stopping = False
        self._conns: list[Connection] = []

    def stop(self) -> None:
        """Ask every process to stop sending (requests in flight still finish)."""
        self.stopping = True
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(("stop", None))

    def run(self) -> LoadReport:
        """Start the processes, wait until all are ready, start them together, merge reports."""
        processes: list[subprocess.Popen[bytes]] = []
        for shard_plan in shard_plans(self.plan, self.count):
            mine, theirs = socket.socketpair()
            process = subprocess.Popen(
                [sys.executable, "-m", "loadgen.processes", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
            theirs.close()
            conn = Connection(mine.detach())
            conn.send((shard_plan, self.progress_interval, self.on_progress is not None))
            self._conns.append(conn)
            processes.append(process)
        try:
            docs = self._collect()
        except BaseException:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            raise
        finally:
            for process in processes:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for conn in self._conns:
                conn.close()
        report = merge_reports(LoadReport.from_json(doc) for doc in docs)
        report.plan["shard"] = f"{self.plan.shard[0]}/{self.plan.shard[1]}"
        report.plan["processes"] = self.count
        return report

    def _receive(self, conn: Connection) -> tuple[str, Any]:
        try:
            return conn.recv()
        except EOFError:
            return "error", "a load process exited without a report"

    def _collect(self) -> list[dict[str, Any]]:
        conns = list(self._conns)
        index = {id(conn): i for i, conn in enumerate(conns)}
        ready: set[int] = set()
        deadline = time.monotonic() + READY_TIMEOUT
        while len(ready) < len(conns):
            left = deadline - time.monotonic()
            if left <= 0:
                raise LoadProcessError(f"load processes not ready after {READY_TIMEOUT:g} s")
            for conn in wait(conns, timeout=left):
                kind, value = self._receive(conn)  # type: ignore[arg-type]
                if kind == "error":
                    raise LoadProcessError(f"a load process failed: {value}")
                if kind == "ready":
                    ready.add(index[id(conn)])
        start_at = time.time() + START_LEAD
        for conn in conns:
            conn.send(("start", start_at))
        latest: dict[int, Progress] = {}
        docs: dict[int, dict[str, Any]] = {}
        pending = set(conns)
        while pending:
            for conn in wait(list(pending), timeout=1.0):
                kind, value = self._receive(conn)  # type: ignore[arg-type]
                i = index[id(conn)]
                if kind == "progress":
                    latest[i] = value
                    if self.on_progress is not None and len(latest) == len(conns):
                        self.on_progress(combine_progress(list(latest.values())))
                elif kind == "report":
                    docs[i] = json.loads(value)
                    pending.discard(conn)
                elif kind == "error":
                    raise LoadProcessError(f"a load process failed: {value}")
        return [docs[i] for i in sorted(docs)]


if __name__ == "__main__":
    child_main(int(sys.argv[1]))
