"""The tallies of a load run: counters and HDR latency histograms that merge exactly.

Rules: latencies are recorded in integer microseconds into HdrHistogram(1 µs, 1 h, 3 significant
figures), the simulator's parameters, so histograms of shards, runs and the simulator add exactly.
Every counter is an integer; ratios and percentiles are derived when a report is written, never
stored as the source of truth, so merging adds counters and histograms and derives again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_FIGURES = 3
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}


def new_histogram() -> HdrHistogram:
    """An empty latency histogram with the shared parameters."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def record_seconds(histogram: HdrHistogram, seconds: float) -> None:
    """Add one latency of ``seconds`` (clipped into the histogram's range)."""
    histogram.record_value(to_us(seconds))


def to_us(seconds: float) -> int:
    """``seconds`` as the integer microseconds ``record_seconds`` records (clipped into range)."""
    return min(max(int(seconds * 1e6 + 0.5), LOWEST_US), HIGHEST_US)


def record_many(histogram: HdrHistogram, values_us: list[int] | np.ndarray) -> None:
    """Record every value (integer microseconds, in range) as ``record_value`` would, in one pass.

    The bucket arithmetic is hdrh's ``_counts_index_for`` in numpy: the bit length of
    ``value | sub_bucket_mask`` (``np.frexp``'s exponent, exact below 2**53) gives the bucket, the
    value shifted by the bucket and unit magnitude gives the sub-bucket.
    """
    values = np.asarray(values_us, dtype=np.int64)
    if not len(values):
        return
    bits = np.frexp((values | histogram.sub_bucket_mask).astype(np.float64))[1].astype(np.int64)
    bucket = bits - histogram.unit_magnitude - (histogram.sub_bucket_half_count_magnitude + 1)
    sub_bucket = values >> (bucket + histogram.unit_magnitude)
    index = (
        ((bucket + 1) << histogram.sub_bucket_half_count_magnitude)
        + sub_bucket
        - histogram.sub_bucket_half_count
    )
    np.add.at(_counts(histogram), index, 1)
    histogram.total_count += len(values)
    histogram.min_value = min(histogram.min_value, int(values.min()))
    histogram.max_value = max(histogram.max_value, int(values.max()))


class SampleBuffer:
    """Latencies waiting for their histograms, added in one numpy pass per histogram by flush().

    ``record_value`` costs microseconds in Python per call and a request records into up to eight
    histograms; appending to a list costs a fraction of that. Readers must ``flush()`` first.
    """

    def __init__(self) -> None:
        self._pending: dict[int, tuple[HdrHistogram, list[int]]] = {}

    def add(self, histogram: HdrHistogram, seconds: float) -> None:
        """Queue one latency of ``seconds`` for ``histogram``."""
        entry = self._pending.get(id(histogram))
        if entry is None:
            entry = self._pending[id(histogram)] = (histogram, [])
        entry[1].append(min(max(int(seconds * 1e6 + 0.5), LOWEST_US), HIGHEST_US))

    def flush(self) -> None:
        """Add every queued latency to its histogram."""
        for histogram, values in self._pending.values():
            record_many(histogram, values)
        self._pending.clear()


def encode(histogram: HdrHistogram) -> str:
    """The histogram as text (HdrHistogram's compressed base64 encoding)."""
    return histogram.encode().decode("ascii")


def decode(text: str) -> HdrHistogram:
    """A histogram from ``encode`` text; the result has the shared parameters."""
    decoded = HdrHistogram.decode(text.encode("ascii"))
    histogram = new_histogram()
    if decoded.get_total_count():
        histogram.add(decoded)
    return histogram


def _counts(histogram: HdrHistogram) -> np.ndarray:
    return np.ctypeslib.as_array(histogram.counts)[: histogram.counts_len]


def value_at_percentile(
    histogram: HdrHistogram, percentile: float, cumulative: np.ndarray | None = None
) -> int:
    """``histogram.get_value_at_percentile`` (same result) with numpy instead of a Python loop."""
    total = histogram.get_total_count()
    if not total:
        return 0
    if cumulative is None:
        cumulative = np.cumsum(_counts(histogram))
    target = max(int(min(percentile, 100.0) * total / 100 + 0.5), 1)
    index = int(np.searchsorted(cumulative, target, side="left"))
    value = histogram.get_value_from_index(min(index, histogram.counts_len - 1))
    if percentile:
        return histogram.get_highest_equivalent_value(value)
    return histogram.get_lowest_equivalent_value(value)


_MEDIANS: dict[tuple[int, int, int], np.ndarray] = {}


def _median_values(histogram: HdrHistogram) -> np.ndarray:
    """The middle value of each bucket (what hdrh's mean weights counts by), cached per layout."""
    key = (
        histogram.counts_len,
        histogram.sub_bucket_half_count_magnitude,
        histogram.unit_magnitude,
    )
    found = _MEDIANS.get(key)
    if found is None:
        index = np.arange(histogram.counts_len, dtype=np.int64)
        half_magnitude = histogram.sub_bucket_half_count_magnitude
        half = histogram.sub_bucket_half_count
        bucket = (index >> half_magnitude) - 1
        sub_bucket = (index & (half - 1)) + half
        low = bucket < 0
        sub_bucket = np.where(low, sub_bucket - half, sub_bucket)
        bucket = np.where(low, 0, bucket)
        lowest = sub_bucket << (bucket + histogram.unit_magnitude)
        width = np.int64(1) << (bucket + histogram.unit_magnitude)
        found = (lowest + (width >> 1)).astype(np.float64)
        _MEDIANS[key] = found
    return found


def latency_ms(histogram: HdrHistogram) -> dict[str, float]:
    """p50, p90, p95, p99, p999, mean and max in milliseconds (zeros when empty).

    Computed from the counts array with numpy: hdrh's own percentile and mean walk every bucket
    in Python (tens of ms), which would stall the event loop when called during a run.
    """
    total = histogram.get_total_count()
    if total == 0:
        return {**dict.fromkeys(PERCENTILES, 0.0), "mean": 0.0, "max": 0.0}
    counts = _counts(histogram)
    cumulative = np.cumsum(counts)
    values: dict[str, float] = {
        name: value_at_percentile(histogram, p, cumulative) / 1000.0
        for name, p in PERCENTILES.items()
    }
    values["mean"] = float(np.dot(counts, _median_values(histogram))) / total / 1000.0
    values["max"] = histogram.get_max_value() / 1000.0
    return values


def ratio(part: float, whole: float) -> float:
    """``part / whole``, or 0.0 when nothing happened."""
    return part / whole if whole else 0.0


COUNTERS = (
    "requests",
    "responses",
    "errors",
    "hits",
    "bytes",
    "hit_bytes",
    "origin_requests",
    "origin_bytes",
    "throttled",
    "forbidden",
    "preflight",
)


@dataclass(slots=True)
class Tally:
    """Counters and a latency histogram for one slice: all, a pop, a region or a cache status.

    ``requests`` = ``responses`` + ``errors``: requests sent, answered below 500, failed
    (transport errors and 5xx). ``hits`` and ``hit_bytes`` count responses served by a cache
    (hit, stale, revalidated, collapsed); ``bytes`` are body bytes received. ``throttled`` (429)
    and ``forbidden`` (403) count those responses (refusals of a behavior, docs/gateway.md),
    ``preflight`` the 204s of CORS preflights answered by the edge.
    """

    requests: int = 0
    responses: int = 0
    errors: int = 0
    hits: int = 0
    bytes: int = 0
    hit_bytes: int = 0
    origin_requests: int = 0
    origin_bytes: int = 0
    throttled: int = 0
    forbidden: int = 0
    preflight: int = 0
    latency: HdrHistogram = field(default_factory=new_histogram)

    def add(self, other: Tally) -> None:
        """Add ``other``'s counters and histogram into this tally."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.latency.get_total_count():
            self.latency.add(other.latency)

    def summary(self) -> dict[str, Any]:
        """Counters plus derived ratios and latency percentiles (the report's view)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in COUNTERS}
        out["hit_ratio"] = ratio(self.hits, self.responses)
        out["byte_hit_ratio"] = ratio(self.hit_bytes, self.bytes)
        out["error_ratio"] = ratio(self.errors, self.requests)
        out["throttled_share"] = ratio(self.throttled, self.requests)
        out["forbidden_share"] = ratio(self.forbidden, self.requests)
        out["preflight_share"] = ratio(self.preflight, self.requests)
        out["latency_ms"] = latency_ms(self.latency)
        return out

    def counters(self) -> dict[str, int]:
        """The raw counters (what a merge adds)."""
        return {name: getattr(self, name) for name in COUNTERS}

    @classmethod
    def from_parts(cls, counters: dict[str, Any], histogram: str | None) -> Tally:
        """A tally from ``counters()`` and an ``encode``d histogram."""
        tally = cls(**{name: int(counters.get(name, 0)) for name in COUNTERS})
        if histogram:
            tally.latency = decode(histogram)
        return tally


@dataclass(slots=True)
class Second:
    """One second of the run: sends by send time, completions by completion time."""

    sent: int = 0
    completed: int = 0
    errors: int = 0
    dropped: int = 0
    hits: int = 0
    stale: int = 0  # answered stale (Cache-Status says stale); not in the JSON/CSV report
    latency: HdrHistogram | None = None
    encoded: str | None = None

    def histogram(self) -> HdrHistogram:
        """This second's latency histogram (decoded again if it was already encoded)."""
        if self.latency is None:
            self.latency = decode(self.encoded) if self.encoded else new_histogram()
        return self.latency

    def seal(self) -> None:
        """Encode the histogram and free its counts array (a closed second is not written again)."""
        if self.latency is not None:
            self.encoded = encode(self.latency) if self.latency.get_total_count() else None
            self.latency = None


@dataclass(slots=True)
class LoadStats:
    """All tallies of a run (or of merged runs)."""

    scheduled: int = 0
    dropped: int = 0
    total: Tally = field(default_factory=Tally)
    service: HdrHistogram = field(default_factory=new_histogram)
    lag: HdrHistogram = field(default_factory=new_histogram)
    by_cache_status: dict[str, Tally] = field(default_factory=dict)
    by_path: dict[str, Tally] = field(default_factory=dict)  # loadgen.cache_status.PATHS
    pops: dict[str, Tally] = field(default_factory=dict)
    regions: dict[str, Tally] = field(default_factory=dict)
    locations: dict[str, Tally] = field(default_factory=dict)
    behaviors: dict[str, Tally] = field(default_factory=dict)  # by behavior (loadgen.behaviors)
    error_kinds: dict[str, int] = field(default_factory=dict)
    status_codes: dict[str, int] = field(default_factory=dict)
    seconds: list[Second] = field(default_factory=list)

    def second(self, index: int) -> Second:
        """The tally of second ``index`` of the run (created, with earlier ones, on demand)."""
        seconds = self.seconds
        while len(seconds) <= index:
            if len(seconds) >= 2:
                seconds[-2].seal()
            seconds.append(Second())
        return seconds[index]

    def add(self, other: LoadStats) -> None:
        """Add every counter and histogram of ``other`` (exact: counts add, HDR buckets add)."""
        self.scheduled += other.scheduled
        self.dropped += other.dropped
        self.total.add(other.total)
        for mine, theirs in ((self.service, other.service), (self.lag, other.lag)):
            if theirs.get_total_count():
                mine.add(theirs)
        for table, others in (
            (self.by_cache_status, other.by_cache_status),
            (self.by_path, other.by_path),
            (self.pops, other.pops),
            (self.regions, other.regions),
            (self.locations, other.locations),
            (self.behaviors, other.behaviors),
        ):
            for name, tally in others.items():
                table.setdefault(name, Tally()).add(tally)
        for table, others in (
            (self.error_kinds, other.error_kinds),
            (self.status_codes, other.status_codes),
        ):
            for name, count in others.items():
                table[name] = table.get(name, 0) + count
        for index, theirs in enumerate(other.seconds):
            mine = self.second(index)
            mine.sent += theirs.sent
            mine.completed += theirs.completed
            mine.errors += theirs.errors
            mine.dropped += theirs.dropped
            mine.hits += theirs.hits
            hist = theirs.histogram()
            if hist.get_total_count():
                mine.histogram().add(hist)
        for second in self.seconds:
            second.seal()


def merged(stats: Iterable[LoadStats]) -> LoadStats:
    """A new LoadStats with the sum of ``stats``."""
    total = LoadStats()
    for item in stats:
        total.add(item)
    return total
