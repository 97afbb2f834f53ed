"""Prometheus metrics of edge functions, per function and trigger, on a registry given or of their own.

Names (docs/metrics.md): ``cdnlab_function_invocations_total``, ``..._errors_total{kind}``,
``..._throttles_total``, ``..._cold_starts_total``, ``..._duration_seconds`` (histogram),
``..._concurrent_executions`` and ``..._warm_instances`` (gauges, per function).
The ``trigger`` label is the trigger name, or ``invoke`` for the Lambda invoke API.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["FunctionMetrics"]

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


class FunctionMetrics:
    """The function metrics of one process (one edge, or `cdn fn serve`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
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

    def exposition(self) -> bytes:
        """The text exposition of every metric in the registry."""
        return generate_latest(self.registry)
