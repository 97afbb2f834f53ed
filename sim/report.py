"""report.json and the CSV files next to it; the schema is documented in docs/report.md.

Rules: byte-for-byte reproducible for the same inputs and seed: keys sorted, floats rounded to
``cdn.reports.DIGITS`` decimals, no wall-clock times, hostnames or paths that differ between runs.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cdn.reports import rounded

SCHEMA_VERSION = 1

POP_COLUMNS = (
    "name",
    "role",
    "city",
    "region",
    "requests",
    "hits",
    "hit_ratio",
    "byte_hit_ratio",
    "bytes",
    "upstream_requests",
    "upstream_bytes",
    "peak_utilization",
    "cost_egress",
    "cost_requests",
    "cost_origin_egress",
    "cost_total",
)
REGION_COLUMNS = ("name", "requests", "bytes", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "mean_ms")
BEHAVIOR_COLUMNS = (
    "behavior",
    "requests",
    "served",
    "hits",
    "hit_ratio",
    "byte_hit_ratio",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "throttled",
    "throttled_share",
    "forbidden",
    "forbidden_share",
    "preflight",
    "preflight_share",
)


def ratio(part: float, whole: float) -> float:
    """``part / whole``, or 0.0 when nothing happened."""
    return part / whole if whole else 0.0


def dumps(report: Mapping[str, Any]) -> str:
    """The canonical JSON text of ``report``: sorted keys, rounded floats, newline-terminated."""
    return json.dumps(rounded(report), sort_keys=True, indent=2, allow_nan=False) + "\n"


def write_report(report: Mapping[str, Any], out: Path) -> list[Path]:
    """Write report.json, pops.csv, regions.csv (and behaviors.csv for a topology with
    behaviors) into ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "pops.csv", out / "regions.csv"]
    paths[0].write_text(dumps(report), encoding="utf-8")
    with paths[1].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(POP_COLUMNS)
        for name, pop in sorted(report.get("pops", {}).items()):
            cost = pop.get("cost", {})
            row = {**pop, "name": name}
            row.update({f"cost_{k}": v for k, v in cost.items()})
            writer.writerow([_cell(row.get(column, "")) for column in POP_COLUMNS])
    with paths[2].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REGION_COLUMNS)
        for name, region in sorted(report.get("regions", {}).items()):
            latency = region.get("latency_ms", {})
            row = {
                "name": name,
                "requests": region.get("requests", 0),
                "bytes": region.get("bytes", 0),
            }
            row.update({f"{k}_ms": v for k, v in latency.items()})
            writer.writerow([_cell(row.get(column, "")) for column in REGION_COLUMNS])
    if report.get("behaviors"):  # a topology with behaviors (sim.behaviors), in their order
        paths.append(out / "behaviors.csv")
        with paths[-1].open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(BEHAVIOR_COLUMNS)
            for name, behavior in report["behaviors"].items():
                latency = behavior.get("latency_ms", {})
                row = {**behavior, "behavior": name}
                row.update({f"{k}_ms": v for k, v in latency.items()})
                writer.writerow([_cell(row.get(column, "")) for column in BEHAVIOR_COLUMNS])
    return paths


def _cell(value: Any) -> Any:
    value = rounded(value)
    return "" if value is None else value
