"""Prometheus metrics of edge functions, per function and trigger, on a registry given or of their own.

Names (docs/metrics.md): ``cdnlab_function_invocations_total``, ``..._errors_total{kind}``,
``..._throttles_total``, ``..._cold_starts_total``, ``..._duration_seconds`` (histogram),
``..._concurrent_executions`` and ``..._warm_instances`` (gauges, per function).
The ``trigger`` label is the trigger name, or ``invoke`` for the Lambda invoke API.
Per-request paths may count into an ``InvokeTally`` (plain numbers, no lock) instead: the
tallies are added to the invocation counter and duration histogram at each scrape, before
those are read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

__all__ = ["FunctionMetrics", "InvokeTally"]

_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
)
_FIRST = _BUCKETS[0]


class InvokeTally:
    """One function's invocations on one trigger and their durations, as plain numbers.

    prometheus_client's Counter and Histogram take a lock and several calls per update; an
    invoke on the hit path only adds to numbers here, and ``flush`` (at each scrape) adds them
    to the counter and histogram children, as ``inc()`` and ``observe()`` would have.
    A Lambda-style invoke is counted as it starts (``count``; throttled ones too) and timed when
    it ends (``time``); a CloudFront Function run is both at once (``observe``)."""

    __slots__ = ("buckets", "count", "duration", "invocations", "seconds")

    def __init__(self, invocations: Any, duration: Any) -> None:
        self.invocations = invocations  # the Counter child
        self.duration = duration  # the Histogram child
        self.count = 0
        self.seconds = 0.0
        self.buckets = [0] * (len(_BUCKETS) + 1)

    def observe(self, seconds: float) -> None:
        """Count one invocation that took ``seconds``."""
        self.count += 1
        self.seconds += seconds
        if seconds <= _FIRST:  # a usual CloudFront Function run: the first bucket, no search
            self.buckets[0] += 1
        else:
            self.buckets[bisect_left(_BUCKETS, seconds)] += 1

    def time(self, seconds: float) -> None:
        """Add the duration of an invocation already counted (``count += 1`` at its start)."""
        self.seconds += seconds
        self.buckets[bisect_left(_BUCKETS, seconds)] += 1

    def flush(self) -> None:
        """Add what was counted since the last flush to the Prometheus children."""
        count, self.count = self.count, 0
        buckets = self.buckets
        if not count and not any(buckets):  # nothing counted nor timed since the last flush
            return
        seconds, self.seconds = self.seconds, 0.0
        self.buckets = [0] * (len(_BUCKETS) + 1)
        if count:
            self.invocations.inc(count)
        # Histogram.observe adds to one bucket and the sum; here many at once (its own values).
        self.duration._sum.inc(seconds)
        for bucket, added in zip(self.duration._buckets, buckets, strict=True):
            if added:
                bucket.inc(added)


class _FlushTallies(Collector):
    """Registered before the counters: flushes every tally when the registry is collected."""

    def __init__(self, tallies: list[InvokeTally]) -> None:
        self.tallies = tallies

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        for tally in self.tallies:
            tally.flush()
        return iter(())


class FunctionMetrics:
    """The function metrics of one process (one edge, or `cdn fn serve`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._tallies: list[InvokeTally] = []
        self.registry.register(_FlushTallies(self._tallies))  # first: flushed, then read
        labels = ("function", "trigger")
        self.invocations = Counter(
            "cdnlab_function_invocations",
            "Function invocations (throttled ones included).",
            labels,
            registry=self.registry,
        )
        self.errors = Counter(
            "cdnlab_function_errors",
            "Invocations without a usable answer, by kind (raised, crashed, out_of_memory,"
            " invalid, timeout, throttled, execution_error, over_budget).",
            (*labels, "kind"),
            registry=self.registry,
        )
        self.throttles = Counter(
            "cdnlab_function_throttles",
            "Invocations refused because `concurrency` instances were busy.",
            labels,
            registry=self.registry,
        )
        self.cold_starts = Counter(
            "cdnlab_function_cold_starts",
            "Invocations that had to start an instance first.",
            labels,
            registry=self.registry,
        )
        self.duration = Histogram(
            "cdnlab_function_duration_seconds",
            "Handler run time per invocation (init excluded).",
            labels,
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.concurrent = Gauge(
            "cdnlab_function_concurrent_executions",
            "Invocations running now.",
            ("function",),
            registry=self.registry,
        )
        self.warm = Gauge(
            "cdnlab_function_warm_instances",
            "Idle instances kept warm, ready for the next invocation.",
            ("function",),
            registry=self.registry,
        )

    def tally(self, function: str, trigger: str) -> InvokeTally:
        """A tally of ``function``'s invocations on ``trigger`` (one per caller and pair)."""
        tally = InvokeTally(
            self.invocations.labels(function, trigger), self.duration.labels(function, trigger)
        )
        self._tallies.append(tally)
        return tally

    def exposition(self) -> bytes:
        """The text exposition of every metric in the registry."""
        return generate_latest(self.registry)
