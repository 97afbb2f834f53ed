"""Trace replay through one cache store, no geography: `cdn sim --trace FILE`.

Rules: streams the trace (memory independent of its length), except for belady on a trace that
does not carry next-access indices, where one pass collects the request keys to compute them (an
offline bound needs the future). Capacity counts object bytes only; an object larger than the
cache is not admitted (the store's rule). The hot loop is ``Store.request`` and nothing else.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdn.cache.policies import NEEDS_FUTURE, POLICIES, next_access_indices
from cdn.cache.store import Store
from cdn.topology import Cost
from cdn.trace import iter_requests, iter_requests_with_future, open_trace
from sim.report import SCHEMA_VERSION, ratio

CHUNK = 8192


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """Counters of one policy's replay, plus a hit-ratio timeline sampled every CHUNK requests."""

    policy: str
    capacity: int
    requests: int
    hits: int
    bytes_requested: int
    bytes_hit: int
    evictions: int
    timeline: tuple[tuple[int, float], ...] = field(default=())

    @property
    def misses(self) -> int:
        """Requests not served from the cache."""
        return self.requests - self.hits

    @property
    def bytes_missed(self) -> int:
        """Bytes fetched from the origin."""
        return self.bytes_requested - self.bytes_hit

    @property
    def hit_ratio(self) -> float:
        """Hits over requests."""
        return ratio(self.hits, self.requests)

    @property
    def byte_hit_ratio(self) -> float:
        """Bytes hit over bytes requested."""
        return ratio(self.bytes_hit, self.bytes_requested)


def resolve_policies(text: str) -> list[str]:
    """Policy names from ``"lru"``, ``"lru,sieve"`` or ``"all"``; ValueError for unknown names."""
    if text.strip() == "all":
        return list(POLICIES)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in POLICIES]
    if unknown or not names:
        known = ", ".join(POLICIES)
        raise ValueError(f"unknown policy {', '.join(unknown) or text!r} (expected {known} or all)")
    return names


def _has_future(path: str | os.PathLike[str]) -> bool:
    """Whether the trace carries next-access indices (oracleGeneral, or a next_access column)."""
    if Path(path).suffix.lower() != ".csv":
        return True
    first = next(iter(open_trace(path)), None)
    return first is not None and first.next_access is not None


def _requests_with_future(
    path: str | os.PathLike[str],
) -> Iterator[tuple[Any, int, int | None]]:
    if _has_future(path):
        return iter_requests_with_future(path)
    keys = [key for key, _ in iter_requests(path)]
    future = next_access_indices(keys)
    del keys
    return ((key, size, nxt) for (key, size), nxt in zip(iter_requests(path), future, strict=True))


def replay(
    path: str | os.PathLike[str],
    capacity: int,
    policy: str,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Replay the trace at ``path`` through one ``capacity``-byte store evicting by ``policy``."""
    store = Store(capacity, policy)
    request = store.request
    timeline: list[tuple[int, float]] = []
    done = 0
    if policy in NEEDS_FUTURE:
        stream: Iterator[Any] = _requests_with_future(path)
        while chunk := list(itertools.islice(stream, CHUNK)):
            for key, size, nxt in chunk:
                request(key, size, nxt)
            done += len(chunk)
            timeline.append((done, store.stats().hit_ratio))
            if on_progress is not None:
                on_progress(done)
    else:
        stream = iter_requests(path)
        while chunk := list(itertools.islice(stream, CHUNK)):
            for key, size in chunk:
                request(key, size)
            done += len(chunk)
            timeline.append((done, store.stats().hit_ratio))
            if on_progress is not None:
                on_progress(done)
    stats = store.stats()
    return ReplayResult(
        policy=policy,
        capacity=capacity,
        requests=stats.requests,
        hits=stats.hits,
        bytes_requested=stats.bytes_hit + stats.bytes_missed,
        bytes_hit=stats.bytes_hit,
        evictions=stats.evictions,
        timeline=tuple(timeline),
    )


def replay_report(
    results: Sequence[ReplayResult], trace_name: str, seed: int, cost: Cost | None = None
) -> dict[str, Any]:
    """The report.json of a trace replay: the first policy at the top, every policy under ``policies``."""
    cost = cost or Cost()
    first = results[0]
    policies = {}
    for result in results:
        egress = result.bytes_requested / 1e9 * cost.egress_price("default")
        origin_egress = result.bytes_missed / 1e9 * cost.origin_egress_per_gb
        per_requests = result.requests / 10_000 * cost.per_10k_requests
        policies[result.policy] = {
            "capacity": result.capacity,
            "requests": result.requests,
            "hits": result.hits,
            "misses": result.misses,
            "bytes": result.bytes_requested,
            "bytes_hit": result.bytes_hit,
            "bytes_missed": result.bytes_missed,
            "hit_ratio": result.hit_ratio,
            "byte_hit_ratio": result.byte_hit_ratio,
            "evictions": result.evictions,
            "cost": {
                "egress": egress,
                "origin_egress": origin_egress,
                "requests": per_requests,
                "total": egress + origin_egress + per_requests,
            },
        }
    top = policies[first.policy]
    null_latency = {"p50": None, "p90": None, "p95": None, "p99": None, "mean": None}
    return {
        "schema_version": SCHEMA_VERSION,
        "mode": "trace",
        "scenario": trace_name,
        "seed": seed,
        "policy": first.policy,
        "requests": first.requests,
        "bytes": first.bytes_requested,
        "hits": first.hits,
        "hit_ratio": first.hit_ratio,
        "byte_hit_ratio": first.byte_hit_ratio,
        "origin": {"requests": first.misses, "bytes": first.bytes_missed},
        "origin_offload": first.byte_hit_ratio,
        "latency_ms": null_latency,
        "pops": {
            "cache": {
                "role": "edge",
                "city": "",
                "region": "default",
                "policy": first.policy,
                "capacity": first.capacity,
                "requests": first.requests,
                "hits": first.hits,
                "hit_ratio": first.hit_ratio,
                "byte_hit_ratio": first.byte_hit_ratio,
                "bytes": first.bytes_requested,
                "upstream_requests": first.misses,
                "upstream_bytes": first.bytes_missed,
                "peak_utilization": None,
                "cost": {
                    "egress": top["cost"]["egress"],
                    "requests": top["cost"]["requests"],
                    "origin_egress": top["cost"]["origin_egress"],
                    "total": top["cost"]["total"],
                },
            }
        },
        "regions": {},
        "cost": {
            "pops": {"cache": top["cost"]["total"]},
            **top["cost"],
        },
        "policies": policies,
        "timeseries": {
            "x": "requests",
            "requests": [done for done, _ in first.timeline],
            "hit_ratio": [hr for _, hr in first.timeline],
        },
    }
