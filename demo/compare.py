"""Measured vs predicted under one definition of a hit, their difference, and compare.json.

Rules (the definitions are documented in docs/demo.md, and both sides are built from raw counts by
the same arithmetic, never from each other's ratios):
- A **hit** is docs/metrics.md's: a request served without a body fetch of its own, cache status
  ``hit``, ``stale``, ``revalidated`` or ``collapsed`` (the simulator's report.json, Grafana and
  load.json count hits so). ``hit_ratio_prometheus`` is the same figure (kept for readers of
  older compare.json files); ``hit_ratio_stored`` counts ``hit`` and ``stale`` only (answered
  from a stored copy without waiting for any upstream response), which depends less on how long
  fetches take. Every outcome count is kept in ``outcomes``.
- A cache's **lookups** are the requests it answered from its own cache or its upstream: the
  requests it received minus those it passed to the key's owner peer (peer sharding). Per node,
  ``hit_ratio = hits / lookups`` and ``byte_hit_ratio = hit bytes / bytes delivered for lookups``.
- The **edge tier** figures sum the edges: every user request is looked up exactly once in the
  edge tier (at the edge it reached, or at that edge's owner peer), so
  ``hit_ratio = sum(hits) / sum(lookups)`` over the edges, and the same for bytes.
- ``difference`` is predicted minus measured.
- With edge functions, each side has ``functions`` ({edge: {function: {invocations,
  cold_starts, throttles}}}) and ``difference.functions`` totals each function over the edges
  (demo.functions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cdn.reports import rounded
from demo.functions import function_notes, functions_difference, measured_functions
from demo.scrape import CacheCounters, ClusterReading

SCHEMA = "cdnlab-compare/1"
HIT_OUTCOMES = ("hit", "stale", "revalidated", "collapsed")  # docs/metrics.md
PROMETHEUS_HIT_OUTCOMES = HIT_OUTCOMES
STORED_HIT_OUTCOMES = ("hit", "stale")
OUTCOMES = ("hit", "stale", "revalidated", "miss", "collapsed", "bypass", "error")


def ratio(part: float, whole: float) -> float:
    """``part / whole``, or 0.0 when nothing happened."""
    return part / whole if whole else 0.0


@dataclass(frozen=True, slots=True)
class NodeFigures:
    """One cache's counts for a run (measured or predicted)."""

    role: str
    requests: int  # received: from users, from peers, from downstream caches
    forwarded_to_peer: int
    outcomes: Mapping[str, int]  # of its lookups, by cache status
    bytes: int  # body bytes delivered for its lookups
    hit_bytes: int
    upstream_requests: int  # fetches from its shield or the origin (not peers)

    @property
    def lookups(self) -> int:
        """Requests it answered itself (not passed to the owner peer)."""
        return self.requests - self.forwarded_to_peer

    @property
    def hits(self) -> int:
        """Lookups served without a body fetch of their own (hit, stale, revalidated, collapsed)."""
        return sum(self.outcomes.get(name, 0) for name in HIT_OUTCOMES)

    @property
    def stored_hits(self) -> int:
        """Lookups answered from a stored copy without waiting upstream (hit, stale)."""
        return sum(self.outcomes.get(name, 0) for name in STORED_HIT_OUTCOMES)

    @property
    def hit_ratio(self) -> float:
        """hits / lookups."""
        return ratio(self.hits, self.lookups)

    @property
    def prometheus_hits(self) -> int:
        """Lookups docs/metrics.md counts as hits (hit, stale, revalidated, collapsed)."""
        return sum(self.outcomes.get(name, 0) for name in PROMETHEUS_HIT_OUTCOMES)

    @property
    def byte_hit_ratio(self) -> float:
        """hit bytes / bytes delivered for lookups."""
        return ratio(self.hit_bytes, self.bytes)

    def to_json(self) -> dict[str, Any]:
        """This node's entry in compare.json."""
        return {
            "role": self.role,
            "requests": self.requests,
            "forwarded_to_peer": self.forwarded_to_peer,
            "lookups": self.lookups,
            "hits": self.hits,
            "hit_ratio": self.hit_ratio,
            "hit_ratio_prometheus": ratio(self.prometheus_hits, self.lookups),
            "hit_ratio_stored": ratio(self.stored_hits, self.lookups),
            "byte_hit_ratio": self.byte_hit_ratio,
            "bytes": self.bytes,
            "hit_bytes": self.hit_bytes,
            "upstream_requests": self.upstream_requests,
            "outcomes": {name: self.outcomes.get(name, 0) for name in OUTCOMES},
        }


@dataclass(frozen=True, slots=True)
class RunFigures:
    """One side of the comparison: the edge tier, each cache, the origin, latency as context."""

    caches: Mapping[str, NodeFigures]
    origin_requests: int
    origin_bytes: int
    user_requests: int
    latency_ms: Mapping[str, float | None] = field(default_factory=dict)
    # edge functions (demo.functions): {edge: {function: {counter: count}}}; empty without any
    functions: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)

    @property
    def edges(self) -> dict[str, NodeFigures]:
        """The edges, by name."""
        return {name: n for name, n in self.caches.items() if n.role == "edge"}

    @property
    def shields(self) -> dict[str, NodeFigures]:
        """The shields, by name."""
        return {name: n for name, n in self.caches.items() if n.role == "shield"}

    def _tier(self) -> tuple[int, int, int, int]:
        edges = self.edges.values()
        return (
            sum(n.hits for n in edges),
            sum(n.lookups for n in edges),
            sum(n.hit_bytes for n in edges),
            sum(n.bytes for n in edges),
        )

    @property
    def hit_ratio(self) -> float:
        """Edge-tier request hit ratio."""
        hits, lookups, _, _ = self._tier()
        return ratio(hits, lookups)

    @property
    def byte_hit_ratio(self) -> float:
        """Edge-tier byte hit ratio."""
        _, _, hit_bytes, total = self._tier()
        return ratio(hit_bytes, total)

    @property
    def hit_ratio_prometheus(self) -> float:
        """Edge-tier request hit ratio as docs/metrics.md counts hits."""
        edges = self.edges.values()
        return ratio(sum(n.prometheus_hits for n in edges), sum(n.lookups for n in edges))

    @property
    def hit_ratio_stored(self) -> float:
        """Edge-tier share of lookups answered from a stored copy (hit, stale)."""
        edges = self.edges.values()
        return ratio(sum(n.stored_hits for n in edges), sum(n.lookups for n in edges))

    def outcomes(self) -> dict[str, int]:
        """Edge-tier lookups by cache status."""
        return {
            name: sum(n.outcomes.get(name, 0) for n in self.edges.values()) for name in OUTCOMES
        }

    def to_json(self) -> dict[str, Any]:
        """One side of compare.json."""
        hits, lookups, hit_bytes, total = self._tier()
        functions = {"functions": dict(self.functions)} if self.functions else {}
        return {
            **functions,
            "requests": self.user_requests,
            "lookups": lookups,
            "hits": hits,
            "hit_ratio": self.hit_ratio,
            "hit_ratio_prometheus": self.hit_ratio_prometheus,
            "hit_ratio_stored": self.hit_ratio_stored,
            "byte_hit_ratio": self.byte_hit_ratio,
            "bytes": total,
            "hit_bytes": hit_bytes,
            "origin_requests": self.origin_requests,
            "origin_bytes": self.origin_bytes,
            "outcomes": self.outcomes(),
            "latency_ms": dict(self.latency_ms),
            "edges": {name: n.to_json() for name, n in sorted(self.edges.items())},
            "shields": {name: n.to_json() for name, n in sorted(self.shields.items())},
        }


# -- measured: from the cluster's counters -------------------------------------------------------


def measured_node(role: str, counters: CacheCounters) -> NodeFigures:
    """A cache's figures from the difference of two /_cdn/metrics readings.

    A request the edge passed to the owner peer is counted by the edge under ``miss`` (it looked
    in its own store first) and once more by the owner under its own outcome; it is taken out of
    the edge's misses and its bytes out of the edge's bytes, so each user request is looked up
    once. Peer fetches that failed (``status="error"``) fell back to the upstream: they stay.
    """
    forwarded = round(
        sum(
            value
            for (kind, status), value in counters.upstream_requests.items()
            if kind == "peer" and status != "error"
        )
    )
    outcomes = {name: round(value) for name, value in counters.requests.items()}
    outcomes["miss"] = max(0, outcomes.get("miss", 0) - forwarded)
    delivered = sum(counters.response_bytes.values()) - counters.upstream_bytes.get("peer", 0.0)
    upstream = sum(
        value for (kind, _), value in counters.upstream_requests.items() if kind != "peer"
    )
    return NodeFigures(
        role=role,
        requests=round(sum(counters.requests.values())),
        forwarded_to_peer=forwarded,
        outcomes=outcomes,
        bytes=max(0, round(delivered)),
        hit_bytes=round(counters.response_bytes.get("cache", 0.0)),
        upstream_requests=round(upstream),
    )


def measured_figures(
    roles: Mapping[str, str], delta: ClusterReading, load_doc: Mapping[str, Any]
) -> RunFigures:
    """The measured side: cache counters (``delta``), the origin's count, load.json's latency."""
    return RunFigures(
        caches={name: measured_node(roles[name], c) for name, c in delta.caches.items()},
        origin_requests=delta.origin.requests,
        origin_bytes=delta.origin.body_bytes,
        user_requests=int(load_doc.get("requests", 0)),
        latency_ms=dict(load_doc.get("latency_ms", {})),
        functions=measured_functions(
            {
                name: c.functions
                for name, c in delta.caches.items()
                if roles[name] == "edge" and c.functions
            }
        ),
    )


# -- the comparison ------------------------------------------------------------------------------


def _difference(predicted: float, measured: float) -> float:
    return predicted - measured


def difference(measured: RunFigures, predicted: RunFigures) -> dict[str, Any]:
    """Predicted minus measured: the tier's ratios and origin requests, and each edge's."""
    edges = {}
    for name in sorted(set(measured.edges) | set(predicted.edges)):
        m, p = measured.edges.get(name), predicted.edges.get(name)
        if m is None or p is None:
            continue
        edges[name] = {
            "hit_ratio": _difference(p.hit_ratio, m.hit_ratio),
            "hit_ratio_prometheus": _difference(
                ratio(p.prometheus_hits, p.lookups), ratio(m.prometheus_hits, m.lookups)
            ),
            "byte_hit_ratio": _difference(p.byte_hit_ratio, m.byte_hit_ratio),
            "requests": p.requests - m.requests,
            "lookups": p.lookups - m.lookups,
        }
    functions = (
        {"functions": functions_difference(measured.functions, predicted.functions)}
        if measured.functions or predicted.functions
        else {}
    )
    return {
        **functions,
        "hit_ratio": _difference(predicted.hit_ratio, measured.hit_ratio),
        "hit_ratio_prometheus": _difference(
            predicted.hit_ratio_prometheus, measured.hit_ratio_prometheus
        ),
        "hit_ratio_stored": _difference(predicted.hit_ratio_stored, measured.hit_ratio_stored),
        "byte_hit_ratio": _difference(predicted.byte_hit_ratio, measured.byte_hit_ratio),
        "origin_requests": predicted.origin_requests - measured.origin_requests,
        "origin_requests_relative": ratio(
            predicted.origin_requests - measured.origin_requests, measured.origin_requests
        ),
        "edges": edges,
    }


def compare_doc(
    measured: RunFigures,
    predicted: RunFigures,
    *,
    run: Mapping[str, Any],
    notes: Iterable[str] = (),
) -> dict[str, Any]:
    """The compare.json document (schema in docs/demo.md)."""
    return rounded(
        {
            "schema": SCHEMA,
            "hit_definition": {
                "hit_outcomes": list(HIT_OUTCOMES),
                "prometheus_hit_outcomes": list(PROMETHEUS_HIT_OUTCOMES),
                "stored_hit_outcomes": list(STORED_HIT_OUTCOMES),
                "edge_tier": "sum of edge hits / sum of edge lookups (requests not passed to the "
                "owner peer); bytes likewise",
            },
            "run": dict(run),
            "measured": measured.to_json(),
            "predicted": predicted.to_json(),
            "difference": difference(measured, predicted),
            "notes": [*notes, *function_notes(measured.functions, predicted.functions)],
        }
    )
