"""Prometheus metrics of one cdn kv app (a registry of its own: tests run several apps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["KvMetrics"]

_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class KvMetrics:
    """Operations by name and outcome, their duration, facade reads, pending purges."""

    def __init__(self, pending_purges: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.operations = Counter(
            "cdnlab_kv_operations",
            "DynamoDB API calls answered, by operation and outcome (ok or the error type).",
            ("operation", "outcome"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "cdnlab_kv_operation_duration_seconds",
            "Time from request to answer of DynamoDB API calls, by operation.",
            ("operation",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.facade = Counter(
            "cdnlab_kv_facade_requests",
            "Read facade requests (GET /tables/...), by status.",
            ("status",),
            registry=self.registry,
        )
        pending = Gauge(
            "cdnlab_kv_purges_pending",
            "Purge notifications queued for cache nodes and not yet delivered.",
            registry=self.registry,
        )
        pending.set_function(pending_purges)
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def observe(self, operation: str, outcome: str, seconds: float) -> None:
        """Count one answered API call and its duration."""
        children = self._children.get((operation, outcome))
        if children is None:
            children = (
                self.operations.labels(operation, outcome),
                self.duration.labels(operation),
            )
            self._children[(operation, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)
