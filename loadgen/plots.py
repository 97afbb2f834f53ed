"""PNG plots of a load report: latency percentiles over time, latency CDF by cache status."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from loadgen.stats import value_at_percentile


class LoadReport(Protocol):
    """What the plots read of a ``loadgen.report.LoadReport`` (not imported: no circle)."""

    asked_rate: Any
    stats: Any

    @property
    def requests(self) -> int: ...


def write_plots(report: LoadReport, out: Path) -> list[Path]:
    """Write latency_over_time.png and latency_cdf.png into ``out``; return their paths."""
    return [
        _over_time(report, out / "latency_over_time.png"),
        _cdf(report, out / "latency_cdf.png"),
    ]


def _over_time(report: LoadReport, path: Path) -> Path:
    seconds = report.stats.seconds
    xs, p50, p90, p99, rate = [], [], [], [], []
    for index, second in enumerate(seconds):
        histogram = second.histogram()
        rate.append(second.sent)
        xs.append(index)
        if histogram.get_total_count():
            p50.append(value_at_percentile(histogram, 50) / 1000.0)
            p90.append(value_at_percentile(histogram, 90) / 1000.0)
            p99.append(value_at_percentile(histogram, 99) / 1000.0)
        else:
            p50.append(float("nan"))
            p90.append(float("nan"))
            p99.append(float("nan"))
        second.seal()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    top.plot(xs, p50, label="p50")
    top.plot(xs, p90, label="p90")
    top.plot(xs, p99, label="p99")
    top.set_ylabel("latency from intended start (ms)")
    top.legend()
    top.grid(alpha=0.3)
    bottom.bar(xs, rate, width=0.9, color="tab:gray")
    bottom.set_ylabel("requests sent / s")
    bottom.set_xlabel("second of the run")
    bottom.grid(alpha=0.3)
    fig.suptitle(f"cdn load: {report.requests} requests, asked {report.asked_rate:.0f}/s")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _cdf(report: LoadReport, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    curves = [("all", report.stats.total.latency)] + [
        (name, tally.latency)
        for name, tally in sorted(report.stats.by_cache_status.items())
        if tally.latency.get_total_count()
    ]
    for name, histogram in curves:
        total = histogram.get_total_count()
        if not total:
            continue
        xs, ys = [], []
        seen = 0
        for item in histogram.get_recorded_iterator():
            seen += item.count_at_value_iterated_to
            xs.append(item.value_iterated_to / 1000.0)
            ys.append(seen / total)
        ax.step(xs, ys, where="post", label=f"{name} ({total})")
    ax.set_xscale("log")
    ax.set_xlabel("latency from intended start (ms)")
    ax.set_ylabel("share of responses")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    ax.set_title("latency CDF by cache status")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
