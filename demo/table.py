"""The side-by-side rich table of a compare.json document: measured, predicted, difference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from demo.functions import function_rows


def _ratio_row(label: str, measured: float, predicted: float) -> tuple[str, str, str, str]:
    diff = predicted - measured
    style = "green" if abs(diff) <= 0.03 else "yellow" if abs(diff) <= 0.06 else "red"
    return label, f"{measured:.4f}", f"{predicted:.4f}", f"[{style}]{diff:+.4f}[/]"


def _count_row(label: str, measured: int, predicted: int) -> tuple[str, str, str, str]:
    diff = predicted - measured
    relative = f" ({diff / measured:+.1%})" if measured else ""
    return label, f"{measured:,}", f"{predicted:,}", f"{diff:+,}{relative}"


def comparison_table(doc: Mapping[str, Any]) -> Table:
    """Rows: the edge tier, the origin, each edge (and shield), then latency as context."""
    measured, predicted = doc["measured"], doc["predicted"]
    run = doc.get("run", {})
    table = Table(
        title=(
            f"cdn demo: {run.get('topology', '?')}, {run.get('duration_s', 0):g} s at "
            f"{run.get('rate', 0):g} req/s, seed {run.get('seed', '?')}"
        ),
        header_style="bold",
    )
    table.add_column("figure")
    table.add_column("measured (live)", justify="right")
    table.add_column("predicted (sim)", justify="right")
    table.add_column("predicted - measured", justify="right")
    table.add_row(*_count_row("user requests", measured["requests"], predicted["requests"]))
    table.add_row(
        *_ratio_row("hit ratio (edge tier)", measured["hit_ratio"], predicted["hit_ratio"])
    )
    table.add_row(
        *_ratio_row(
            "  of which from a stored copy (hit|stale)",
            measured.get("hit_ratio_stored", 0.0),
            predicted.get("hit_ratio_stored", 0.0),
        )
    )
    table.add_row(
        *_ratio_row(
            "byte hit ratio (edge tier)", measured["byte_hit_ratio"], predicted["byte_hit_ratio"]
        )
    )
    table.add_row(
        *_count_row("origin requests", measured["origin_requests"], predicted["origin_requests"])
    )
    for group in ("edges", "shields"):
        for name, m in measured[group].items():
            p = predicted[group].get(name)
            if p is None:
                continue
            table.add_section()
            table.add_row(*_count_row(f"{name} requests", m["requests"], p["requests"]))
            table.add_row(*_ratio_row(f"{name} hit ratio", m["hit_ratio"], p["hit_ratio"]))
            table.add_row(
                *_ratio_row(f"{name} byte hit ratio", m["byte_hit_ratio"], p["byte_hit_ratio"])
            )
    rows = function_rows(doc)
    if rows:
        table.add_section()
        for label, m_count, p_count in rows:
            table.add_row(*_count_row(label, m_count, p_count))
    comparable = bool(run.get("emulate_latency"))
    note = "" if comparable else " [dim](not comparable: loopback)[/]"
    table.add_section()
    for key in ("p50", "p99"):
        m_lat = measured.get("latency_ms", {}).get(key)
        p_lat = predicted.get("latency_ms", {}).get(key)
        table.add_row(
            f"latency {key} ms{note}",
            "-" if m_lat is None else f"{m_lat:.2f}",
            "-" if p_lat is None else f"{p_lat:.2f}",
            "",
        )
    return table
