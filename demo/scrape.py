"""Reading a running cluster's counters: each cache's /_cdn/metrics and the origin's /_cdn/stats.

Rules: counters only (never gauges or histograms), so two readings taken before and after a load
run subtract to exactly what that run caused. Admin routes are not counted by the servers, so
reading them does not change what is measured. Only the node URLs of the topology are contacted.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from demo.functions import parse_function_samples

READ_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class CacheCounters:
    """One shield's or edge's counters (docs/metrics.md), each a sum over the other labels."""

    requests: Mapping[str, float] = field(default_factory=dict)  # by cache_status
    response_bytes: Mapping[str, float] = field(default_factory=dict)  # by source: cache, upstream
    upstream_requests: Mapping[tuple[str, str], float] = field(
        default_factory=dict
    )  # (kind, status)
    upstream_bytes: Mapping[str, float] = field(default_factory=dict)  # by upstream kind
    # edge functions (demo.functions): (function, counter) -> count, summed over triggers
    functions: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def minus(self, earlier: CacheCounters) -> CacheCounters:
        """What happened between ``earlier`` and this reading."""
        return CacheCounters(
            _minus(self.requests, earlier.requests),
            _minus(self.response_bytes, earlier.response_bytes),
            _minus(self.upstream_requests, earlier.upstream_requests),
            _minus(self.upstream_bytes, earlier.upstream_bytes),
            _minus(self.functions, earlier.functions),
        )


@dataclass(frozen=True, slots=True)
class OriginCounters:
    """The origin's request and body-byte totals (GET /_cdn/stats)."""

    requests: int = 0
    body_bytes: int = 0

    def minus(self, earlier: OriginCounters) -> OriginCounters:
        """What happened between ``earlier`` and this reading."""
        return OriginCounters(
            self.requests - earlier.requests, self.body_bytes - earlier.body_bytes
        )


@dataclass(frozen=True, slots=True)
class ClusterReading:
    """Every cache's counters by node name, and the origin's."""

    caches: Mapping[str, CacheCounters]
    origin: OriginCounters

    def minus(self, earlier: ClusterReading) -> ClusterReading:
        """What happened between ``earlier`` and this reading (node by node)."""
        return ClusterReading(
            {
                name: counters.minus(earlier.caches.get(name, CacheCounters()))
                for name, counters in self.caches.items()
            },
            self.origin.minus(earlier.origin),
        )


def _minus(late: Mapping, early: Mapping) -> dict:
    return {key: value - early.get(key, 0.0) for key, value in late.items()}


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as response:
        return response.read().decode("utf-8")


def parse_cache_metrics(text: str) -> CacheCounters:
    """The counters of one cache's Prometheus text exposition."""
    requests: dict[str, float] = {}
    response_bytes: dict[str, float] = {}
    upstream_requests: dict[tuple[str, str], float] = {}
    upstream_bytes: dict[str, float] = {}
    samples = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.append((sample.name, sample.labels, sample.value))
            labels = sample.labels
            if sample.name == "cdnlab_edge_requests_total":
                key = labels["cache_status"]
                requests[key] = requests.get(key, 0.0) + sample.value
            elif sample.name == "cdnlab_edge_response_bytes_total":
                key = labels["source"]
                response_bytes[key] = response_bytes.get(key, 0.0) + sample.value
            elif sample.name == "cdnlab_edge_upstream_requests_total":
                pair = (labels["upstream"], labels["status"])
                upstream_requests[pair] = upstream_requests.get(pair, 0.0) + sample.value
            elif sample.name == "cdnlab_edge_upstream_bytes_total":
                key = labels["upstream"]
                upstream_bytes[key] = upstream_bytes.get(key, 0.0) + sample.value
    return CacheCounters(
        requests,
        response_bytes,
        upstream_requests,
        upstream_bytes,
        parse_function_samples(samples),
    )


def read_cache(base_url: str) -> CacheCounters:
    """GET ``base_url``/_cdn/metrics and keep the counters."""
    return parse_cache_metrics(_get(base_url + "/_cdn/metrics"))


def read_origin(base_url: str) -> OriginCounters:
    """GET ``base_url``/_cdn/stats and keep the totals."""
    doc = json.loads(_get(base_url + "/_cdn/stats"))
    return OriginCounters(int(doc["total"]), int(doc["body_bytes"]))


def peers_down(cache_urls: Mapping[str, str]) -> dict[str, list[str]]:
    """For each cache whose /_cdn/health lists a peer as down: those peers (empty: all up)."""
    down = {}
    for name, url in cache_urls.items():
        peers = json.loads(_get(url + "/_cdn/health")).get("peers") or {}
        missing = sorted(peer for peer, state in peers.items() if state != "up")
        if missing:
            down[name] = missing
    return down


def read_cluster(origin_url: str, cache_urls: Mapping[str, str]) -> ClusterReading:
    """One reading of the whole cluster: the origin and every cache (shields and edges)."""
    return ClusterReading(
        {name: read_cache(url) for name, url in cache_urls.items()}, read_origin(origin_url)
    )
