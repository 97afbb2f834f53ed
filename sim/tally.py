"""What the user requests of a run add up to: counts, bytes, hits and latency, folded per batch.

Rules: streaming (HDR histograms per region and for the steady state, per-user and per-bucket
counters), vectorised per batch of the arrival stream, so memory does not grow with run length.
A request counts as steady state when it arrives at or after the warm-up time.
"""

from __future__ import annotations

import numpy as np

from cdn.workload import RequestBatch
from sim.stats import LatencyHistogram, TimeSeries


class RequestTally:
    """Totals of the user requests (edge-tier view), overall, per region, per user, steady state."""

    __slots__ = (
        "bytes",
        "bytes_hit",
        "end",
        "histograms",
        "hits",
        "region_of_user",
        "requests",
        "steady_bytes",
        "steady_bytes_hit",
        "steady_histogram",
        "steady_hits",
        "steady_requests",
        "user_bytes",
        "user_counts",
    )

    def __init__(self, regions: int, region_of_user: np.ndarray) -> None:
        self.region_of_user = region_of_user
        self.histograms = [LatencyHistogram() for _ in range(regions)]
        self.user_counts = np.zeros(len(region_of_user), dtype=np.int64)
        self.user_bytes = np.zeros(len(region_of_user), dtype=np.int64)
        self.requests = self.bytes = self.hits = self.bytes_hit = 0
        self.end = 0.0
        self.steady_requests = self.steady_bytes = self.steady_hits = self.steady_bytes_hit = 0
        self.steady_histogram = LatencyHistogram()

    def record(
        self,
        batch: RequestBatch,
        latencies: list[float],
        edge_hit: np.ndarray,
        warmup_t: float,
        series: TimeSeries,
    ) -> None:
        """Fold one batch in: per request its latency (s) and whether the edge tier hit."""
        lat = np.array(latencies)
        regions = self.region_of_user[batch.users]
        for region in np.unique(regions).tolist():
            self.histograms[region].record_many(lat[regions == region])
        users = len(self.user_counts)
        self.user_counts += np.bincount(batch.users, minlength=users)
        # float64 sums of whole bytes are exact below 2**53 (a batch is far below that)
        self.user_bytes += np.bincount(batch.users, weights=batch.sizes, minlength=users).astype(
            np.int64
        )
        hits = np.asarray(edge_hit, dtype=bool)
        if batch.times[-1] >= warmup_t:
            steady = batch.times >= warmup_t
            self.steady_histogram.record_many(lat[steady])
            steady_sizes = batch.sizes[steady]
            self.steady_requests += len(steady_sizes)
            self.steady_bytes += int(steady_sizes.sum())
            self.steady_hits += int(hits[steady].sum())
            self.steady_bytes_hit += int(batch.sizes[steady & hits].sum())
        index = (batch.times / series.bucket_width).astype(np.int64)
        series.grow(int(index[-1]) + 1)
        buckets = series.buckets
        for name, weights in (
            ("requests", None),
            ("hits", hits.astype(np.float64)),
            ("bytes", batch.sizes.astype(np.float64)),
            ("bytes_hit", np.where(hits, batch.sizes, 0).astype(np.float64)),
        ):
            counts = np.bincount(index, weights=weights, minlength=buckets)
            values = series.series[name]
            for j in np.flatnonzero(counts).tolist():
                values[j] += float(counts[j])
        self.requests += len(batch.times)
        self.bytes += int(batch.sizes.sum())
        self.hits += int(hits.sum())
        self.bytes_hit += int(batch.sizes[hits].sum())
        self.end = float(batch.times[-1])
