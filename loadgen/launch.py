"""Where a load run's requests are sent from: this process, local processes, or a Dask cluster.

``cdn load`` and ``cdn demo`` call ``run_spread``; the report is the same whatever sends it (one
process, n processes, n Dask workers: shards of one stream, merged exactly).
"""

from __future__ import annotations

from collections.abc import Callable

from loadgen.cores import ProcessChoice, choose_processes
from loadgen.plan import LoadPlan
from loadgen.report import LoadReport
from loadgen.runner import Progress

MAX_PROCESSES = 256


def plan_urls(plan: LoadPlan) -> list[str]:
    """The base URLs the plan's load reaches: its targets, or every node of its topology."""
    if plan.targets:
        return list(plan.targets)
    moved = dict(plan.edge_urls)
    return [moved.get(node.name, node.url) for node in plan.resolved_topology().nodes]


def parse_processes(text: str) -> int | None:
    """``--processes``: ``auto`` -> None, or a count 1..MAX_PROCESSES; ValueError otherwise."""
    if text.strip().lower() == "auto":
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_PROCESSES:
        raise ValueError(
            f"--processes {text!r} is not a process count (expected auto or 1..{MAX_PROCESSES})"
        )
    return count


def resolve_processes(plan: LoadPlan, count: int | None) -> ProcessChoice:
    """The processes to run: ``count`` as asked, or the auto choice (cores the target leaves)."""
    if count is not None:
        return ProcessChoice(count, "as asked (--processes)")
    return choose_processes(plan_urls(plan))


def run_spread(
    plan: LoadPlan,
    *,
    processes: int = 1,
    scheduler: str | None = None,
    shards: int | None = None,
    start_lead: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    announce: Callable[[str], None] | None = None,
    on_run: Callable[[object], None] | None = None,
) -> LoadReport:
    """Run ``plan`` from ``processes`` local processes, or on the Dask cluster at ``scheduler``.

    ``on_run`` receives the run object (it has ``stop()``) before sending starts.
    """
    if scheduler:
        from loadgen.dask_run import START_LEAD, run_on_dask

        lead = START_LEAD if start_lead is None else start_lead
        return run_on_dask(
            plan, scheduler, shards=shards, lead=lead, announce=announce, on_progress=on_progress
        )
    if processes > 1:
        from loadgen.processes import ProcessRun

        run = ProcessRun(plan, processes, on_progress=on_progress)
        if on_run is not None:
            on_run(run)
        return run.run()
    import uvloop

    from loadgen.runner import LoadRun

    single = LoadRun(plan, on_progress=on_progress)
    if on_run is not None:
        on_run(single)
    report = uvloop.run(single.run())
    report.plan["processes"] = 1
    return report
