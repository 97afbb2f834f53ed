"""Terminal output of `cdn load`: the live progress line and the summary and SLO tables (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cdn.units import format_size
from loadgen.report import LoadReport
from loadgen.runner import Progress as LoadProgress


class LiveProgress:
    """A rich progress bar over the run's window with rate, p50/p99 and hit ratio so far."""

    def __init__(self, console: Console, total_seconds: float | None, total_requests: int | None):
        self.total_seconds = total_seconds
        self.total_requests = total_requests
        self.bar = Progress(
            TextColumn("[bold]cdn load"),
            BarColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            # No refresh thread: it would contend for the GIL with the dispatcher and delay
            # sends; the run's progress callback redraws from the event loop instead.
            auto_refresh=False,
        )
        total = total_seconds if total_seconds else float(total_requests or 1)
        self.task = self.bar.add_task("load", total=total, stats="starting")

    def __enter__(self) -> LiveProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def update(self, p: LoadProgress) -> None:
        """Show snapshot ``p``."""
        done = min(p.elapsed, self.total_seconds) if self.total_seconds else float(p.scheduled)
        stats = (
            f"{p.achieved_rate:7.0f}/{p.asked_rate:.0f} req/s  sent {p.sent}  "
            f"p50 {p.p50_ms:.1f} ms  p99 {p.p99_ms:.1f} ms  hit {p.hit_ratio:.1%}  "
            f"err {p.errors}  drop {p.dropped}  lag p99 {p.lag_p99_ms:.2f} ms"
        )
        self.bar.update(self.task, completed=done, stats=stats)
        self.bar.refresh()


def summary_table(report: LoadReport) -> Table:
    """Totals, rates, latency, lag, and one row per cache status, pop and region."""
    doc = report.to_json()
    table = Table(title="cdn load", show_header=True, header_style="bold")
    for column in (
        "slice",
        "requests",
        "errors",
        "hit ratio",
        "byte hit",
        "p50 ms",
        "p99 ms",
        "max ms",
    ):
        table.add_column(column, justify="left" if column == "slice" else "right")

    def row(label: str, view: dict[str, Any]) -> None:
        lat = view["latency_ms"]
        table.add_row(
            label,
            str(view["requests"]),
            str(view["errors"]["total"] if isinstance(view["errors"], dict) else view["errors"]),
            f"{view['hit_ratio']:.1%}",
            f"{view['byte_hit_ratio']:.1%}",
            f"{lat['p50']:.2f}",
            f"{lat['p99']:.2f}",
            f"{lat['max']:.2f}",
        )

    row("[bold]all", doc)
    slices = (
        ("by_cache_status", "status"),
        ("pops", "pop"),
        ("regions", "region"),
        ("behaviors", "behavior"),
    )
    for key, prefix in slices:
        for name, view in doc.get(key, {}).items():
            row(f"{prefix} {name}", view)
    return table


def run_lines(report: LoadReport) -> list[str]:
    """Rate, lag, origin and error lines under the table."""
    doc = report.to_json()
    lag = doc["lag_ms"]
    lines = [
        f"rate asked {doc['rate']['asked']:.1f}/s, achieved {doc['rate']['achieved']:.1f}/s; "
        f"scheduled {doc['scheduled']}, sent {doc['requests']}, responses {doc['responses']}, "
        f"errors {doc['errors']['total']}, dropped {doc['dropped']}",
        f"schedule lag p50 {lag['p50']:.3f} ms, p99 {lag['p99']:.3f} ms, max {lag['max']:.3f} ms; "
        f"service p99 {doc['service_ms']['p99']:.2f} ms",
        f"origin requests {doc['origin']['requests']} ({format_size(doc['origin']['bytes'])}), "
        f"received {format_size(doc['bytes'])}",
    ]
    if doc["throttled"] or doc["forbidden"]:
        lines.append(
            f"refused: throttled (429) {doc['throttled']} ({doc['throttled_share']:.2%}), "
            f"forbidden (403) {doc['forbidden']} ({doc['forbidden_share']:.2%})"
        )
    if doc.get("preflight"):
        lines.append(
            f"CORS preflights answered by the edge (204): {doc['preflight']} "
            f"({doc['preflight_share']:.2%})"
        )
    if doc["errors"]["by_kind"]:
        kinds = ", ".join(f"{k} {v}" for k, v in doc["errors"]["by_kind"].items())
        lines.append(f"errors by kind: {kinds}")
    return lines


def slo_table(results: list[dict[str, Any]]) -> Table:
    """One row per SLO: objective, measured value, pass/FAIL."""
    table = Table(title="SLOs", header_style="bold")
    table.add_column("objective")
    table.add_column("measured", justify="right")
    table.add_column("result")
    for result in results:
        ok = result["ok"]
        table.add_row(
            result["slo"],
            f"{result['value']:.4g}",
            "[green]pass" if ok else "[bold red]FAIL",
        )
    return table
