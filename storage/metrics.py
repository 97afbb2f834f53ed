"""Prometheus metrics of one storage node, on a registry of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["StorageMetrics"]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StorageMetrics:
    """Requests by S3 operation and status, bytes in and out, durations, pending purges."""

    def __init__(self, pending_purges: Callable[[], float], objects: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            "cdnlab_storage_requests",
            "Requests answered by the storage node, by S3 operation and status.",
            ("operation", "status"),
            registry=self.registry,
        )
        self.received_bytes = Counter(
            "cdnlab_storage_received_bytes",
            "Object body bytes stored (PUT, UploadPart).",
            registry=self.registry,
        )
        self.sent_bytes = Counter(
            "cdnlab_storage_sent_bytes",
            "Object body bytes sent (GET).",
            registry=self.registry,
        )
        self.duration = Histogram(
            "cdnlab_storage_request_duration_seconds",
            "Time from request to response, by S3 operation.",
            ("operation",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        pending = Gauge(
            "cdnlab_storage_pending_purge_notifications",
            "Purge notifications (and webhook calls) queued and not yet delivered.",
            registry=self.registry,
        )
        pending.set_function(pending_purges)
        stored = Gauge(
            "cdnlab_storage_objects",
            "Objects stored, all buckets.",
            registry=self.registry,
        )
        stored.set_function(objects)

    def observe(self, operation: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        children = self._children.get((operation, status))
        if children is None:
            children = (
                self.requests.labels(operation, str(status)),
                self.duration.labels(operation),
            )
            self._children[(operation, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)
