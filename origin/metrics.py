"""Prometheus metrics of one origin app, on a registry of its own (several apps share a process in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from origin.faults import FAULT_KINDS

__all__ = ["OriginMetrics"]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class OriginMetrics:
    """Requests by route and status, response bytes, request duration, injected faults."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "cdnlab_origin_requests",
            "Requests answered by the origin, by route template and status.",
            ("route", "status"),
            registry=self.registry,
        )
        self.response_bytes = Counter(
            "cdnlab_origin_response_bytes",
            "Body bytes the origin sent, by route template.",
            ("route",),
            registry=self.registry,
        )
        self.duration = Histogram(
            "cdnlab_origin_request_duration_seconds",
            "Time from request to response, injected latency included, by route template.",
            ("route",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.faults = Counter(
            "cdnlab_origin_faults_injected",
            "Faults injected on purpose, by kind (latency, error, stall, down).",
            ("kind",),
            registry=self.registry,
        )
        for kind in FAULT_KINDS:
            self.faults.labels(kind)  # show zeros so a scrape lists every kind

    def observe(self, route: str, status: int, body_bytes: int, seconds: float) -> None:
        """Record one answered request."""
        self.requests.labels(route, str(status)).inc()
        if body_bytes:
            self.response_bytes.labels(route).inc(body_bytes)
        self.duration.labels(route).observe(seconds)

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)
