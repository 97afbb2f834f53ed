"""The files of a geographic run: report.json, pops.csv, regions.csv and the PNG plots.

Rules: one writer for every caller (`cdn sim --out`, `cdn demo`'s sim/ folder), so their files
are the same for the same result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.report import write_report


def write_outputs(
    result: Any, out: Path, top_regions: int = 8, *, plots: bool = True
) -> list[Path]:
    """Write report.json, the CSVs and (``plots``) the four PNG plots of ``result`` into ``out``.

    ``result`` is a ``sim.model.SimResult``; returns the paths written.
    """
    report = result.report
    written = write_report(report, out)
    if not plots:
        return written
    from sim.plots import hit_ratio_plot, latency_cdf_plot, origin_load_plot, world_map_plot

    name = report["scenario"]
    written.append(
        hit_ratio_plot(report["timeseries"], out / "hit_ratio.png", f"{name}: hit ratio")
    )
    written.append(
        latency_cdf_plot(
            result.region_histograms,
            out / "latency_cdf.png",
            f"{name}: latency by region",
            top_regions,
        )
    )
    written.append(
        world_map_plot(
            result.user_points,
            result.pop_points,
            out / "world_map.png",
            f"{name}: PoPs and users",
            origin=getattr(result, "origin_point", None),
        )
    )
    written.append(
        origin_load_plot(report["timeseries"], out / "origin_load.png", f"{name}: origin load")
    )
    return written
