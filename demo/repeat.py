"""`cdn demo --repeat N`: the demo N times (seeds SEED .. SEED+N-1), then the spread over runs.

Rules: each run is a whole demo (a fresh cluster, cold caches, its own output folder
``OUT/run-I``), so runs are independent; the seed moves on by one per run, so the runs replay
different request sequences and the spread covers both the live system's noise and the
workload's. ``repeat.json`` in OUT holds each run's hit ratios and the latency figures' median
and range over the runs (demo.latency.aggregate).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cdn.topology import load_topology
from demo.latency import aggregate, latency_table, within_goal
from demo.run import DemoOptions


def repeated_options(options: DemoOptions, runs: int) -> list[DemoOptions]:
    """The options of each run: ``options`` itself for one run, else seeds and folders per run."""
    if runs <= 1:
        return [options]
    seed = options.seed
    if seed is None:
        seed = load_topology(options.topology_file).workload.seed
    return [
        dataclasses.replace(options, seed=seed + i, out=options.out / f"run-{i + 1}")
        for i in range(runs)
    ]


def repeated_doc(docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """repeat.json: per run its seed and edge-tier hit ratios; latency median and range."""
    runs = [
        {
            "seed": doc["run"]["seed"],
            "hit_ratio_measured": doc["measured"]["hit_ratio"],
            "hit_ratio_predicted": doc["predicted"]["hit_ratio"],
            "hit_ratio_difference": doc["difference"]["hit_ratio"],
        }
        for doc in docs
    ]
    out: dict[str, Any] = {"schema": "cdnlab-demo-repeat/1", "runs": runs}
    latencies = [doc["latency"] for doc in docs if "latency" in doc]
    if len(latencies) == len(docs):
        out["latency"] = aggregate(latencies)
        out["latency_within_goal"] = within_goal(out["latency"])
    return out


def print_repeated(console: Any, docs: Sequence[Mapping[str, Any]], out: Path) -> Path:
    """Print the spread over runs and write ``OUT/repeat.json``; returns its path."""
    doc = repeated_doc(docs)
    console.print(f"[bold]over {len(docs)} runs[/]")
    for run in doc["runs"]:
        console.print(
            f"  seed {run['seed']}: hit ratio measured {run['hit_ratio_measured']:.4f}, "
            f"predicted {run['hit_ratio_predicted']:.4f}, "
            f"difference {run['hit_ratio_difference']:+.4f}"
        )
    latency = doc.get("latency")
    if latency is not None and latency["comparable"]:
        console.print(latency_table(latency, title=f"latency over {len(docs)} runs, median ms"))
        verdict = "within" if doc["latency_within_goal"] else "NOT within"
        console.print(
            f"latency: the median relative differences are {verdict} "
            f"{latency['goal_relative']:.0%} for every scope and percentile"
        )
    out.mkdir(parents=True, exist_ok=True)
    target = out / "repeat.json"
    target.write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {target}")
    return target
