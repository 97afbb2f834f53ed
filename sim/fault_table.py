"""The fault window's figures as a table for people (``cdn sim --faults``).

Rules: reads ``report["faults"]`` (sim.faults) only; no computing beyond formatting.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

__all__ = ["fault_table"]


def fault_table(faults: dict[str, Any]) -> Table:
    """Before / during / after the fault window: errors, stale served, origin requests, hit
    ratio and p99, one row per phase; the caption names the schedule and origins' shares."""
    window = faults["window"]
    end = "end of run" if window["end_s"] is None else f"{window['end_s']:g} s"
    table = Table(
        title=f"faults: {'; '.join(faults['schedule'])} (window {window['start_s']:g} s to {end})"
    )
    for column in (
        "phase",
        "requests",
        "errors",
        "stale served",
        "origin requests",
        "hit ratio",
        "p99 ms",
    ):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for name, phase in faults["phases"].items():
        table.add_row(
            name,
            f"{phase['requests']:,}",
            f"{phase['errors']:,}",
            f"{phase['stale_served']:,}",
            f"{phase['origin_requests']:,}",
            f"{phase['hit_ratio']:.3f}",
            f"{phase['p99_ms']:.1f}",
        )
    origins = ", ".join(f"{name}: {count:,}" for name, count in faults["origins"].items())
    table.caption = f"origin requests served by {origins}"
    return table
