"""Streaming statistics: latency histograms and per-time-bucket counters.

Rules: memory is independent of run length. Latencies go into HDR histograms (hdrhistogram
package) in microseconds; samples are buffered and folded in with numpy in bulk, because a
per-sample ``record_value`` costs about a microsecond. Counters are per time bucket of a fixed
width chosen from the run's expected duration (about 200 buckets); a run that lasts longer than
expected (a daily cycle thins arrivals, upstream tiers see requests later) grows more buckets, so
every bucket covers its own interval. The last bucket is usually partial: ``span_lengths`` gives
each bucket's real length up to the end of the run.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
SIGNIFICANT_FIGURES = 3
_FLUSH_AT = 1 << 16


class LatencyHistogram:
    """An HDR histogram of latencies in seconds (stored as µs), fed through a bulk buffer."""

    __slots__ = ("_buffer", "_counts", "hdr")

    def __init__(self) -> None:
        self.hdr = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
        self._counts = np.ctypeslib.as_array(self.hdr.counts)
        self._buffer = array("d")

    def record(self, seconds: float) -> None:
        """Add one latency sample in seconds."""
        buffer = self._buffer
        buffer.append(seconds)
        if len(buffer) >= _FLUSH_AT:
            self.flush()

    def record_many(self, seconds: np.ndarray) -> None:
        """Add many latency samples (seconds) at once."""
        self._buffer.frombytes(np.ascontiguousarray(seconds, dtype=np.float64).tobytes())
        if len(self._buffer) >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Fold buffered samples into the histogram (same bucketing as ``record_value``)."""
        if not self._buffer:
            return
        hdr = self.hdr
        values = np.frombuffer(self._buffer, dtype=np.float64) * 1e6
        values = np.clip(np.rint(values), LOWEST_US, HIGHEST_US).astype(np.int64)
        self._buffer = array("d")
        masked = values | hdr.sub_bucket_mask
        pow2ceiling = 64 - _count_leading_zeros(masked)
        bucket = pow2ceiling - hdr.unit_magnitude - (hdr.sub_bucket_half_count_magnitude + 1)
        sub_bucket = values >> (bucket + hdr.unit_magnitude)
        index = ((bucket + 1) << hdr.sub_bucket_half_count_magnitude) + (
            sub_bucket - hdr.sub_bucket_half_count
        )
        counts = np.bincount(index, minlength=hdr.counts_len)[: hdr.counts_len]
        self._counts += counts.astype(self._counts.dtype)
        hdr.total_count += len(values)
        hdr.min_value = min(hdr.min_value, int(values.min()))
        hdr.max_value = max(hdr.max_value, int(values.max()))

    @property
    def count(self) -> int:
        """Samples recorded so far."""
        return self.hdr.get_total_count() + len(self._buffer)

    def percentile_ms(self, percentile: float) -> float:
        """The latency at ``percentile`` (0-100) in milliseconds (0 when empty)."""
        self.flush()
        hdr = self.hdr
        total = hdr.get_total_count()
        if total == 0:
            return 0.0
        # hdrh's get_value_at_percentile, with numpy instead of its Python iterator.
        wanted = max(int(min(percentile, 100.0) / 100.0 * total + 0.5), 1)
        index = int(np.searchsorted(np.cumsum(self._counts), wanted))
        return hdr.get_highest_equivalent_value(hdr.get_value_from_index(index)) / 1000.0

    def mean_ms(self) -> float:
        """The mean latency in milliseconds (0 when empty)."""
        self.flush()
        hdr = self.hdr
        total = hdr.get_total_count()
        if total == 0:
            return 0.0
        # hdrh's get_mean_value (median-equivalent value of each bucket), vectorised.
        index = np.flatnonzero(self._counts)
        values = median_equivalent_values(hdr, index)
        return float(np.dot(values, self._counts[index].astype(np.float64)) / total) / 1000.0

    def cdf_ms(self) -> Iterator[tuple[float, float]]:
        """(latency ms, cumulative share) points of the recorded distribution."""
        self.flush()
        total = self.hdr.get_total_count()
        if total == 0:
            return
        seen = 0
        for index in np.flatnonzero(self._counts):
            seen += int(self._counts[index])
            value = self.hdr.get_highest_equivalent_value(self.hdr.get_value_from_index(index))
            yield value / 1000.0, seen / total

    def merge(self, other: LatencyHistogram) -> None:
        """Add ``other``'s samples to this histogram."""
        other.flush()
        self.flush()
        if other.hdr.get_total_count() == 0:
            return
        self._counts += other._counts
        hdr = self.hdr
        hdr.total_count += other.hdr.get_total_count()
        hdr.min_value = min(hdr.min_value, other.hdr.min_value)
        hdr.max_value = max(hdr.max_value, other.hdr.max_value)


def median_equivalent_values(hdr: HdrHistogram, index: np.ndarray) -> np.ndarray:
    """hdrh's ``_hdr_median_equiv_value(get_value_from_index(i))`` for each count index, vectorised.

    The same integer arithmetic as hdrh's scalar methods (int64), one numpy pass instead of five
    Python calls per non-empty bucket.
    """
    index = index.astype(np.int64)
    half, half_magnitude, unit = (
        hdr.sub_bucket_half_count,
        hdr.sub_bucket_half_count_magnitude,
        hdr.unit_magnitude,
    )
    # get_value_from_index
    bucket = (index >> half_magnitude) - 1
    sub_bucket = (index & (half - 1)) + half
    first = bucket < 0
    sub_bucket = np.where(first, sub_bucket - half, sub_bucket)
    bucket = np.where(first, 0, bucket)
    value = sub_bucket << (bucket + unit)
    # get_lowest_equivalent_value + (_hdr_size_of_equiv_value_range >> 1)
    bucket = 64 - _count_leading_zeros(value | hdr.sub_bucket_mask) - unit - (half_magnitude + 1)
    sub_bucket = value >> (bucket + unit)
    lowest = sub_bucket << (bucket + unit)
    bucket = np.where(sub_bucket >= hdr.sub_bucket_count, bucket + 1, bucket)
    return lowest + ((np.int64(1) << (unit + bucket)) >> 1)


def _count_leading_zeros(values: np.ndarray) -> np.ndarray:
    """64-bit count of leading zeros of positive int64 values."""
    # float64 is exact for the exponent of any value below 2**53, far above one hour in µs.
    _, exponent = np.frexp(values.astype(np.float64))
    return 64 - exponent


PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def latency_summary(histogram: LatencyHistogram) -> dict[str, float]:
    """p50/p90/p95/p99 and mean in ms, as the report's ``latency_ms`` object."""
    summary = {f"p{int(p)}": histogram.percentile_ms(p) for p in PERCENTILES}
    summary["mean"] = histogram.mean_ms()
    return summary


class TimeSeries:
    """Named counters per fixed-width time bucket (requests, hits, origin bytes, ...)."""

    def __init__(self, names: tuple[str, ...], bucket_width: float, buckets: int) -> None:
        if bucket_width <= 0 or buckets < 1:
            raise ValueError(
                f"bucket width {bucket_width} s and {buckets} buckets must be positive"
            )
        self.bucket_width = bucket_width
        self.buckets = buckets
        self.series = {name: [0.0] * buckets for name in names}

    def index(self, now: float) -> int:
        """The bucket holding time ``now`` (buckets are added when ``now`` is past the last)."""
        index = int(now / self.bucket_width)
        if index >= self.buckets:
            self.grow(index + 1)
        return index

    def grow(self, buckets: int) -> None:
        """Have at least ``buckets`` buckets (new ones empty)."""
        if buckets > self.buckets:
            extra = buckets - self.buckets
            for values in self.series.values():
                values.extend([0.0] * extra)
            self.buckets = buckets

    def add(self, name: str, now: float, amount: float = 1.0) -> None:
        """Add ``amount`` to counter ``name`` in ``now``'s bucket."""
        self.series[name][self.index(now)] += amount

    def used(self) -> int:
        """How many leading buckets saw any activity."""
        last = 0
        for values in self.series.values():
            for i in range(len(values) - 1, -1, -1):
                if values[i]:
                    last = max(last, i + 1)
                    break
        return last


def bucket_layout(duration: float, target_buckets: int = 200) -> tuple[float, int]:
    """A bucket width (a round number of seconds when possible) and count covering ``duration``."""
    duration = max(duration, 1e-9)
    width = duration / target_buckets
    for step in (0.001, 0.01, 0.1, 1, 5, 10, 30, 60, 300, 600, 3600, 21600, 86400):
        if width <= step:
            width = float(step)
            break
    buckets = int(duration / width) + 1
    return width, buckets


def span_lengths(bucket_width: float, buckets: int, end: float) -> np.ndarray:
    """Each bucket's real length in seconds for a run ending at ``end``: the last may be partial."""
    starts = np.arange(buckets, dtype=np.float64) * bucket_width
    return np.clip(end - starts, 0.0, bucket_width)


def windowed_peak(counts: np.ndarray, lengths: np.ndarray, buckets_per_window: int) -> float:
    """The highest rate (counts per second) over any run of ``buckets_per_window`` buckets.

    Windows are sliding; a run shorter than one window is one window. Empty time is skipped.
    """
    n = min(len(counts), len(lengths))
    if n == 0:
        return 0.0
    counts = np.asarray(counts[:n], dtype=np.float64)
    lengths = lengths[:n]
    k = max(1, min(buckets_per_window, n))
    c = np.concatenate(([0.0], np.cumsum(counts)))
    s = np.concatenate(([0.0], np.cumsum(lengths)))
    total_counts = c[k:] - c[:-k]
    total_time = s[k:] - s[:-k]
    valid = total_time > 0
    if not valid.any():
        return 0.0
    return float((total_counts[valid] / total_time[valid]).max())
