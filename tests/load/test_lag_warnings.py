"""Schedule lag is worth a warning only when it matters to the figures measured (issue 18)."""

from __future__ import annotations

from loadgen.report import LoadReport
from loadgen.stats import LoadStats, record_seconds


def _report(rate: float, lag_ms: float, latency_ms: float, requests: int = 1000) -> LoadReport:
    stats = LoadStats(scheduled=requests)
    for _ in range(requests):
        record_seconds(stats.lag, lag_ms / 1000)
        record_seconds(stats.total.latency, latency_ms / 1000)
    stats.total.requests = stats.total.responses = requests
    return LoadReport(stats=stats, asked_rate=rate, achieved_rate=rate, window=5.0, elapsed=5.0)


def test_a_millisecond_of_lag_at_200_per_s_is_not_falling_behind() -> None:
    report = _report(rate=200, lag_ms=1.3, latency_ms=30.0)
    assert not report.behind
    assert report.warnings() == []


def test_lag_below_the_timer_floor_is_never_mentioned() -> None:
    report = _report(rate=20_000, lag_ms=0.6, latency_ms=0.8)
    assert report.warnings() == []


def test_lag_that_is_a_large_share_of_the_latency_is_explained() -> None:
    report = _report(rate=200, lag_ms=1.3, latency_ms=2.0)
    assert not report.behind
    [warning] = report.warnings()
    assert "of the latency p99" in warning
    assert "fell behind" not in warning


def test_lag_of_many_gaps_between_requests_is_falling_behind() -> None:
    report = _report(rate=5000, lag_ms=112.0, latency_ms=120.0)
    assert report.behind
    [warning] = report.warnings()
    assert warning.startswith("fell behind schedule")
    assert "--processes" in warning
