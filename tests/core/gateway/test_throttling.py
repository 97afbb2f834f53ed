"""Usage-plan throttles (token buckets), quotas per UTC period, and the RateLimit header fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdn.gateway.throttling import (
    Quota,
    QuotaCounter,
    Throttle,
    TokenBucket,
    period_bounds,
    ratelimit_fields,
)


def epoch(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def test_a_full_bucket_admits_burst_requests_at_once_then_refuses() -> None:
    bucket = TokenBucket(Throttle(rate=10, burst=5), now=0.0)
    assert [bucket.take(0.0).admitted for _ in range(6)] == [True] * 5 + [False]


def test_a_refused_request_learns_when_the_next_token_is_due() -> None:
    bucket = TokenBucket(Throttle(rate=4, burst=1), now=0.0)
    bucket.take(0.0)
    assert bucket.take(0.1).retry_after == pytest.approx(0.15)


def test_tokens_refill_at_the_rate_and_never_above_burst() -> None:
    bucket = TokenBucket(Throttle(rate=2, burst=3), now=0.0)
    for _ in range(3):
        bucket.take(0.0)
    assert bucket.take(0.5).admitted  # one token after 0.5 s at 2/s
    assert not bucket.take(0.5).admitted
    assert bucket.take(100.0).remaining == 2  # full (3) minus this one


def test_a_clock_step_backwards_adds_no_tokens() -> None:
    bucket = TokenBucket(Throttle(rate=1, burst=1), now=10.0)
    bucket.take(10.0)
    assert not bucket.take(5.0).admitted


@given(
    rate=st.floats(0.5, 1000),
    burst=st.integers(1, 50),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200),
)
def test_admitted_requests_never_exceed_burst_plus_rate_times_elapsed(rate, burst, gaps) -> None:
    bucket = TokenBucket(Throttle(rate=rate, burst=burst), now=0.0)
    now = admitted = 0.0
    for gap in gaps:
        now += gap
        admitted += bucket.take(now).admitted
    assert admitted <= burst + rate * now + 1e-6


def test_a_throttle_without_a_positive_rate_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="rate_limit must be a positive"):
        Throttle(rate=0, burst=1)


def test_a_daily_quota_counts_to_its_limit_and_resets_at_midnight_utc() -> None:
    counter = QuotaCounter(Quota(limit=2, period="DAY"))
    noon = epoch(2026, 12, 3, 12)
    assert [counter.take(noon).admitted for _ in range(3)] == [True, True, False]
    assert counter.take(noon).resets_at == epoch(2026, 12, 4)
    assert counter.take(epoch(2026, 12, 4)).admitted


def test_a_weekly_period_starts_on_sunday() -> None:
    thursday = epoch(2026, 12, 3, 9)
    assert period_bounds("WEEK", thursday) == (epoch(2026, 11, 29), epoch(2026, 12, 6))


def test_a_monthly_period_runs_from_the_first_to_the_first() -> None:
    assert period_bounds("MONTH", epoch(2026, 12, 31, 23)) == (
        epoch(2026, 12, 1),
        epoch(2027, 1, 1),
    )


def test_an_unknown_quota_period_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="DAY"):
        Quota(limit=1, period="YEAR")


def test_ratelimit_fields_follow_the_structured_field_draft() -> None:
    assert ratelimit_fields("gold", 100, 1, 0, 0.25) == (
        ("RateLimit-Policy", '"gold";q=100;w=1'),
        ("RateLimit", '"gold";r=0;t=1'),
    )
