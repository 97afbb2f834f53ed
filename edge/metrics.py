"""Prometheus metrics of one edge app (names and labels as docs/metrics.md lists them).

Rules: one CollectorRegistry per app (several apps may share a test process). The hit path
only adds to plain numbers (``RequestTally``); other metrics use label children resolved once.
Store occupancy and evictions are read from the core's Store at scrape time by a collector,
so serving a request never updates a gauge.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from cdn.cache import CacheStats

__all__ = ["CACHE_STATUSES", "GATEWAY_CATEGORIES", "EdgeMetrics"]

CACHE_STATUSES = ("hit", "miss", "stale", "revalidated", "bypass", "collapsed", "error")
UPSTREAM_KINDS = ("origin", "shield", "peer")
# Why the gateway answered a request itself (cdn.gateway.Answered.category).
GATEWAY_CATEGORIES = (
    "forbidden", "throttled", "quota", "unsigned", "method", "cors", "preflight",
    "redirect", "https-only",
)  # fmt: skip
_REQUEST_BUCKETS = (
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
    1.0,
    2.5,
    5.0,
    10.0,
)


class RequestTally(Collector):
    """Client request counts, durations and bytes as plain numbers (the hit path's metrics).

    prometheus_client's Counter/Histogram take a lock and several calls per update; a hit
    only adds to ints here and the collector turns them into the documented families.
    """

    def __init__(self, node: str) -> None:
        self.node = node
        self.counts = dict.fromkeys(CACHE_STATUSES, 0)
        self.sums = dict.fromkeys(CACHE_STATUSES, 0.0)
        self.buckets = {status: [0] * (len(_REQUEST_BUCKETS) + 1) for status in CACHE_STATUSES}
        self.bytes = {"cache": 0, "upstream": 0}

    def observe(self, status: str, seconds: float, body_bytes: int, source: str) -> None:
        """Count one request of ``status`` that took ``seconds`` and sent ``body_bytes``."""
        self.counts[status] += 1
        self.sums[status] += seconds
        self.buckets[status][bisect_left(_REQUEST_BUCKETS, seconds)] += 1
        self.bytes[source] += body_bytes

    def collect(self) -> Iterator[Metric]:
        node = self.node
        requests = CounterMetricFamily(
            "cdnlab_edge_requests", "client requests by outcome", labels=["node", "cache_status"]
        )
        duration = HistogramMetricFamily(
            "cdnlab_edge_request_duration_seconds",
            "time from request to the response handed to the server",
            labels=["node", "cache_status"],
        )
        for status in CACHE_STATUSES:
            requests.add_metric([node, status], self.counts[status])
            cumulative = 0
            buckets = []
            for bound, count in zip(
                (*_REQUEST_BUCKETS, float("inf")), self.buckets[status], strict=False
            ):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            duration.add_metric([node, status], buckets, self.sums[status])
        yield requests
        yield duration
        sent = CounterMetricFamily(
            "cdnlab_edge_response_bytes", "body bytes sent to clients", labels=["node", "source"]
        )
        for source, value in self.bytes.items():
            sent.add_metric([node, source], value)
        yield sent


class _StoreCollector(Collector):
    """Store gauges and the eviction counter, read from ``stats()`` at each scrape."""

    def __init__(self, node: str, stats: Callable[[], CacheStats]) -> None:
        self._node = node
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        node = self._node
        evictions = CounterMetricFamily(
            "cdnlab_edge_evictions", "entries evicted to make room", labels=["node"]
        )
        evictions.add_metric([node], stats.evictions)
        yield evictions
        for name, text, value in (
            ("cdnlab_edge_store_bytes", "bytes stored", stats.bytes_stored),
            ("cdnlab_edge_store_objects", "entries stored", stats.objects),
            ("cdnlab_edge_store_capacity_bytes", "configured capacity", stats.capacity),
        ):
            gauge = GaugeMetricFamily(name, text, labels=["node"])
            gauge.add_metric([node], value)
            yield gauge


class EdgeMetrics:
    """The edge's metrics; attributes hold label children resolved once."""

    def __init__(
        self, node: str, stats: Callable[[], CacheStats], upstream_kind: str = "origin"
    ) -> None:
        self.node = node
        registry = self.registry = CollectorRegistry(auto_describe=True)
        self.tally = RequestTally(node)
        registry.register(self.tally)
        self._upstream_requests = Counter(
            "cdnlab_edge_upstream_requests",
            "fetches from upstream by response status (or error)",
            ["node", "upstream", "status"],
            registry=registry,
        )
        upstream_duration = Histogram(
            "cdnlab_edge_upstream_duration_seconds",
            "upstream fetch latency to response headers",
            ["node", "upstream"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        upstream_bytes = Counter(
            "cdnlab_edge_upstream_bytes",
            "body bytes received from upstream",
            ["node", "upstream"],
            registry=registry,
        )
        self.upstream_duration = {k: upstream_duration.labels(node, k) for k in UPSTREAM_KINDS}
        self.upstream_bytes = {k: upstream_bytes.labels(node, k) for k in UPSTREAM_KINDS}
        self.collapsed = Counter(
            "cdnlab_edge_collapsed_requests",
            "requests that waited for another request's fetch",
            ["node"],
            registry=registry,
        ).labels(node)
        stale = Counter(
            "cdnlab_edge_stale_served",
            "stale responses served",
            ["node", "reason"],
            registry=registry,
        )
        self.stale_served = {
            reason: stale.labels(node, reason)
            for reason in ("stale-while-revalidate", "stale-if-error", "max-stale")
        }
        revalidations = Counter(
            "cdnlab_edge_revalidations",
            "conditional fetches by result",
            ["node", "result"],
            registry=registry,
        )
        self.revalidations = {
            result: revalidations.labels(node, result) for result in ("not-modified", "modified")
        }
        self._purges = Counter(
            "cdnlab_edge_purges",
            "purge requests",
            ["node", "kind", "mode"],
            registry=registry,
        )
        self.purged_objects = Counter(
            "cdnlab_edge_purged_objects",
            "objects removed or invalidated by purges",
            ["node"],
            registry=registry,
        ).labels(node)
        self._failovers = Counter(
            "cdnlab_edge_upstream_failovers",
            "fetches tried again elsewhere (next peer, or the upstream again) after a failure "
            "before the response head, by the tier that failed and why",
            ["node", "upstream", "reason"],
            registry=registry,
        )
        self._peer_ejections = Counter(
            "cdnlab_edge_peer_ejections",
            "times a peer was marked down (refused, failed in a row, or failed a health probe)",
            ["node", "peer"],
            registry=registry,
        )
        refusals = Counter(
            "cdnlab_edge_gateway_refusals",
            "requests the gateway answered itself (403, 429, 301, CORS preflight), by category",
            ["node", "category"],
            registry=registry,
        )
        self.gateway_refusals = {c: refusals.labels(node, c) for c in GATEWAY_CATEGORIES}
        registry.register(_StoreCollector(node, stats))
        # Zero samples up front, so dashboards and scrapes see every family from the start.
        self._upstream_requests.labels(node, upstream_kind, "200")
        for kind in ("url", "prefix", "tag"):
            for mode in ("hard", "soft"):
                self._purges.labels(node, kind, mode)

    def upstream_request(self, kind: str, status: int | str) -> None:
        """Count one upstream fetch of ``kind`` answered with ``status`` (or "error")."""
        self._upstream_requests.labels(self.node, kind, str(status)).inc()

    def failover(self, kind: str, reason: str) -> None:
        """Count one fetch from ``kind`` that failed for ``reason`` and is tried elsewhere."""
        self._failovers.labels(self.node, kind, reason).inc()

    def peer_down(self, peer: str) -> None:
        """Count one ejection of ``peer``."""
        self._peer_ejections.labels(self.node, peer).inc()

    def purge(self, kind: str, soft: bool, objects: int) -> None:
        """Count one purge request and the objects it affected."""
        self._purges.labels(self.node, kind, "soft" if soft else "hard").inc()
        self.purged_objects.inc(objects)

    def exposition(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
