"""compare.png: measured vs predicted, as grouped bars for the edge tier and each edge.

Rules: matplotlib with the Agg backend (no display); reads only a compare.json document, so the
plot can be redrawn from the file alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

DPI = 110
MEASURED_COLOR = "#1f77b4"
PREDICTED_COLOR = "#ff7f0e"


def _bars(ax: Any, labels: list[str], measured: list[float], predicted: list[float]) -> None:
    width = 0.38
    xs = list(range(len(labels)))
    left = ax.bar(
        [x - width / 2 for x in xs], measured, width, label="measured (live)", color=MEASURED_COLOR
    )
    right = ax.bar(
        [x + width / 2 for x in xs],
        predicted,
        width,
        label="predicted (sim)",
        color=PREDICTED_COLOR,
    )
    for bars in (left, right):
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks(xs, labels)
    ax.set_ylim(0, 1.08)
    ax.grid(axis="y", alpha=0.3)


def comparison_plot(doc: Mapping[str, Any], path: Path) -> Path:
    """Write the grouped-bar comparison of ``doc`` (compare.json) to ``path``; return it."""
    measured, predicted = doc["measured"], doc["predicted"]
    edges = sorted(measured["edges"])
    labels = ["edge tier", *edges]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [3, 3, 1.4]})
    for ax, key, title in (
        (axes[0], "hit_ratio", "request hit ratio"),
        (axes[1], "byte_hit_ratio", "byte hit ratio"),
    ):
        _bars(
            ax,
            labels,
            [measured[key], *(measured["edges"][e][key] for e in edges)],
            [predicted[key], *(predicted["edges"].get(e, {}).get(key, 0.0) for e in edges)],
        )
        ax.set_title(title)
    axes[0].legend(loc="lower right", fontsize=8)
    origin = axes[2]
    bars = origin.bar(
        ["measured", "predicted"],
        [measured["origin_requests"], predicted["origin_requests"]],
        color=[MEASURED_COLOR, PREDICTED_COLOR],
    )
    origin.bar_label(bars, fontsize=8, padding=1)
    origin.set_title("origin requests")
    origin.grid(axis="y", alpha=0.3)
    run = doc.get("run", {})
    fig.suptitle(
        f"cdn demo: {run.get('topology', '?')}, {run.get('duration_s', 0):g} s at "
        f"{run.get('rate', 0):g} req/s, seed {run.get('seed', '?')}: live cluster vs simulator",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return path
