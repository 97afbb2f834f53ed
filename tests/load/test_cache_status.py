"""Cache outcomes read from X-Cache and Cache-Status (RFC 9211), and the per-status split of a run."""

from __future__ import annotations

from collections import Counter

import pytest
from load_apps import LOG, cache_app, expected_outcome

from loadgen import LoadPlan, run_load_sync
from loadgen.cache_status import classify, parse_cache_status
from loadgen.report import LoadReport


@pytest.mark.parametrize(
    ("cache_status", "x_cache", "status", "origin_fetch"),
    [
        ("cdnlab-edge-par; hit", None, "hit", False),
        ("cdnlab-edge-par; fwd=miss; stored", None, "miss", True),
        ("cdnlab-edge-par; fwd=uri-miss", None, "miss", True),
        ("cdnlab-edge-par; hit; ttl=-3", None, "stale", False),
        ("cdnlab-edge-par; fwd=stale; fwd-status=304", None, "revalidated", True),
        ("cdnlab-edge-par; fwd=stale; fwd-status=200", None, "miss", True),
        ("cdnlab-edge-par; fwd=bypass", None, "bypass", True),
        ("cdnlab-edge-par; fwd=request", None, "bypass", True),
        ("cdnlab-edge-par; fwd=miss; collapsed", None, "collapsed", False),
        ("cdnlab-edge-par; fwd=miss; fwd-status=200; collapsed", "MISS", "collapsed", False),
        ("cdnlab-edge-par; fwd=stale; fwd-status=503; detail=stale-if-error", None, "stale", False),
        ("cdnlab-edge-par; fwd=stale; fwd-status=200; stored", "EXPIRED", "miss", True),
        (None, "HIT", "hit", False),
        (None, "MISS", "miss", True),
        (None, "STALE", "stale", False),
        (None, "REVALIDATED", "revalidated", True),
        (None, "BYPASS", "bypass", True),
        (None, None, "unknown", False),
    ],
)
def test_outcome_of_headers(cache_status, x_cache, status, origin_fetch) -> None:
    outcome = classify(cache_status, x_cache)
    assert (outcome.status, outcome.origin_fetch) == (status, origin_fetch)


def test_the_client_facing_member_is_the_last_one() -> None:
    # RFC 9211 §2: the cache closest to the user appends its member last.
    assert classify("cdnlab-shield-fra; fwd=miss, cdnlab-edge-par; hit", None).status == "hit"
    assert classify("cdnlab-shield-fra; hit, cdnlab-edge-par; fwd=miss", None).status == "miss"


def test_a_miss_answered_by_a_shield_hit_did_not_reach_the_origin() -> None:
    outcome = classify("cdnlab-shield-fra; hit, cdnlab-edge-par; fwd=miss; stored", "MISS")
    assert outcome.status == "miss"
    assert not outcome.origin_fetch


def test_x_cache_wins_over_cache_status_and_takes_its_last_token() -> None:
    assert classify("cdnlab-edge; hit", "STALE").status == "stale"
    assert classify(None, "MISS, HIT").status == "hit"


def test_cache_status_members_keep_quoted_commas() -> None:
    members = parse_cache_status('edge; fwd=miss; detail="a, b", edge2; hit')
    assert [m["name"] for m in members] == ["edge", "edge2"]
    assert members[0]["detail"] == "a, b"


def test_a_run_splits_latency_and_counts_by_cache_status(serve) -> None:
    served = serve(cache_app())
    report = run_load_sync(LoadPlan(targets=(served.url,), rate=400, requests=400))
    ids = [int(path.rsplit("/", 1)[1]) for path, _ in served.app[LOG]]
    expected = Counter()
    origin = 0
    for obj_id in ids:
        outcome = expected_outcome(obj_id)
        if outcome is None:
            expected["error"] += 1
        else:
            expected[outcome[0]] += 1
            origin += outcome[1]
    stats = report.stats
    assert {k: t.requests for k, t in stats.by_cache_status.items()} == dict(expected)
    assert stats.total.origin_requests == origin
    hits = sum(expected[s] for s in ("hit", "stale", "revalidated", "collapsed"))
    assert stats.total.hits == hits
    assert report.hit_ratio == pytest.approx(hits / stats.total.responses)
    for name, tally in stats.by_cache_status.items():
        if name != "error":
            assert tally.latency.get_total_count() == tally.responses
    doc = report.to_json()
    assert set(doc["histograms"]["by_cache_status"]) == set(expected)


def test_a_hit_at_the_owner_peer_is_an_edge_tier_hit() -> None:
    chain = 'cdnlab-edge-lon; hit; ttl=80, cdnlab-edge-par; fwd=miss; detail="peer-owned"'
    outcome = classify(chain, "MISS")
    assert outcome.status == "hit"
    assert not outcome.origin_fetch


def test_a_miss_at_the_owner_peer_that_reached_the_origin_is_a_miss() -> None:
    chain = (
        "cdnlab-shield-fra; fwd=uri-miss; stored, cdnlab-edge-lon; fwd=uri-miss; stored, "
        'cdnlab-edge-par; fwd=miss; detail="peer-owned"'
    )
    outcome = classify(chain, "MISS")
    assert outcome.status == "miss"
    assert outcome.origin_fetch


@pytest.mark.parametrize(
    ("cache_status", "x_cache", "path"),
    [
        ("cdnlab-edge-par; hit", "HIT", "edge hit"),
        ("cdnlab-edge-par; hit; ttl=-3", None, "edge hit"),
        ("cdnlab-edge-lon; hit, cdnlab-edge-par; fwd=miss; detail=peer-owned", "MISS", "peer hit"),
        ("cdnlab-shield-fra; hit, cdnlab-edge-par; fwd=miss; stored", "MISS", "shield hit"),
        (
            "cdnlab-shield-fra; hit, cdnlab-edge-lon; fwd=miss; stored, "
            "cdnlab-edge-par; fwd=miss; detail=peer-owned",
            "MISS",
            "shield hit",
        ),
        ("cdnlab-shield-fra; fwd=miss, cdnlab-edge-par; fwd=miss; stored", "MISS", "miss"),
        ("cdnlab-edge-par; fwd=miss; collapsed", None, None),
        ("cdnlab-shield-fra; fwd=miss; collapsed, cdnlab-edge-par; fwd=miss", "MISS", None),
        ("cdnlab-edge-par; fwd=stale; fwd-status=304", None, None),
    ],
)
def test_the_path_says_where_the_body_came_from(cache_status, x_cache, path) -> None:
    assert classify(cache_status, x_cache).path == path


def test_a_runs_path_slices_survive_load_json(serve) -> None:
    served = serve(cache_app())
    report = run_load_sync(LoadPlan(targets=(served.url,), rate=400, requests=200))
    paths = {name: tally.requests for name, tally in report.stats.by_path.items()}
    assert paths and set(paths) <= {"edge hit", "peer hit", "shield hit", "miss"}
    again = LoadReport.from_json(report.to_json()).stats.by_path
    assert {name: tally.requests for name, tally in again.items()} == paths
    assert {name: tally.latency.get_total_count() for name, tally in again.items()} == paths
