"""The comparison's arithmetic: one definition of a hit, each user request looked up once."""

from __future__ import annotations

import pytest

from demo.compare import NodeFigures, RunFigures, compare_doc, difference, measured_node
from demo.scrape import CacheCounters, ClusterReading, OriginCounters, parse_cache_metrics

EDGE_METRICS = """\
# HELP cdnlab_edge_requests_total client requests by outcome
# TYPE cdnlab_edge_requests_total counter
cdnlab_edge_requests_total{cache_status="hit",node="edge-par"} 60.0
cdnlab_edge_requests_total{cache_status="miss",node="edge-par"} 35.0
cdnlab_edge_requests_total{cache_status="collapsed",node="edge-par"} 5.0
# HELP cdnlab_edge_response_bytes_total body bytes sent to clients
# TYPE cdnlab_edge_response_bytes_total counter
cdnlab_edge_response_bytes_total{node="edge-par",source="cache"} 6000.0
cdnlab_edge_response_bytes_total{node="edge-par",source="upstream"} 4000.0
# HELP cdnlab_edge_upstream_requests_total fetches from upstream by response status (or error)
# TYPE cdnlab_edge_upstream_requests_total counter
cdnlab_edge_upstream_requests_total{node="edge-par",status="200",upstream="peer"} 20.0
cdnlab_edge_upstream_requests_total{node="edge-par",status="error",upstream="peer"} 1.0
cdnlab_edge_upstream_requests_total{node="edge-par",status="200",upstream="shield"} 15.0
# HELP cdnlab_edge_upstream_bytes_total body bytes received from upstream
# TYPE cdnlab_edge_upstream_bytes_total counter
cdnlab_edge_upstream_bytes_total{node="edge-par",upstream="peer"} 2500.0
cdnlab_edge_upstream_bytes_total{node="edge-par",upstream="shield"} 1500.0
"""


def test_metrics_text_is_read_into_counters_by_label():
    counters = parse_cache_metrics(EDGE_METRICS)
    assert counters.requests == {"hit": 60, "miss": 35, "collapsed": 5}
    assert counters.response_bytes == {"cache": 6000, "upstream": 4000}
    assert counters.upstream_requests[("peer", "200")] == 20
    assert counters.upstream_bytes == {"peer": 2500, "shield": 1500}


def test_requests_passed_to_the_owner_peer_are_not_lookups_of_the_edge():
    node = measured_node("edge", parse_cache_metrics(EDGE_METRICS))
    assert node.requests == 100
    assert node.forwarded_to_peer == 20  # the failed peer fetch fell back upstream: a lookup
    assert node.lookups == 80
    assert node.outcomes["miss"] == 15
    assert node.hit_ratio == pytest.approx(65 / 80)  # hit + collapsed (docs/metrics.md)
    assert node.bytes == 10000 - 2500
    assert node.byte_hit_ratio == pytest.approx(6000 / 7500)
    assert node.upstream_requests == 15


def test_collapsed_requests_are_hits_as_docs_metrics_defines_them():
    node = measured_node("edge", parse_cache_metrics(EDGE_METRICS))
    assert node.hits == node.prometheus_hits == 65
    assert node.stored_hits == 60


def test_two_readings_subtract_to_what_happened_between_them():
    before = ClusterReading({"edge-par": CacheCounters({"hit": 10.0})}, OriginCounters(4, 400))
    after = ClusterReading(
        {"edge-par": CacheCounters({"hit": 25.0, "miss": 5.0})}, OriginCounters(9, 900)
    )
    delta = after.minus(before)
    assert delta.caches["edge-par"].requests == {"hit": 15.0, "miss": 5.0}
    assert delta.origin == OriginCounters(5, 500)


def _edge(hits: int, misses: int, forwarded: int = 0) -> NodeFigures:
    return NodeFigures(
        role="edge",
        requests=hits + misses + forwarded,
        forwarded_to_peer=forwarded,
        outcomes={"hit": hits, "miss": misses},
        bytes=(hits + misses) * 10,
        hit_bytes=hits * 10,
        upstream_requests=misses,
    )


def test_the_edge_tier_ratio_sums_hits_and_lookups_over_the_edges():
    figures = RunFigures({"a": _edge(30, 10, 5), "b": _edge(10, 30, 7)}, 40, 400, 80)
    assert figures.hit_ratio == pytest.approx(40 / 80)
    assert figures.byte_hit_ratio == pytest.approx(400 / 800)


def test_difference_is_predicted_minus_measured():
    measured = RunFigures({"a": _edge(50, 50)}, 50, 500, 100)
    predicted = RunFigures({"a": _edge(60, 40)}, 40, 400, 100)
    diff = difference(measured, predicted)
    assert diff["hit_ratio"] == pytest.approx(0.10)
    assert diff["origin_requests"] == -10
    assert diff["edges"]["a"]["hit_ratio"] == pytest.approx(0.10)


def test_compare_json_rounds_floats_and_keeps_both_sides():
    measured = RunFigures({"a": _edge(1, 2)}, 2, 20, 3)
    doc = compare_doc(measured, measured, run={"seed": 7}, notes=["n"])
    assert doc["measured"]["hit_ratio"] == round(1 / 3, 6)
    assert doc["predicted"]["edges"]["a"]["lookups"] == 3
    assert doc["notes"] == ["n"] and doc["run"] == {"seed": 7}
