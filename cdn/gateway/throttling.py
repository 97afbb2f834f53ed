"""Rate limits and quotas: API Gateway's usage-plan throttle (token bucket) and quota periods.

Rules: a ``TokenBucket`` starts full (``burst`` tokens) and refills at ``rate`` tokens per second
up to ``burst``; each admitted request takes one token, so ``burst`` requests pass at once and
then ``rate`` per second (API Gateway, Envoy's local rate limit and Varnish's vsthrottle work this
way). A throttled request takes nothing and learns when the next token is due (``Retry-After``).
A ``QuotaCounter`` counts requests per calendar period in UTC: DAY from 00:00, WEEK from Sunday
00:00 (API Gateway's offset 0), MONTH from the 1st; the count resets when a new period starts.
Time only ever moves forward for a bucket: a ``now`` earlier than the last one counts as no time.
``refill``/``left`` say what is available without taking (``commit`` then takes), so a request
checked against several limits takes from none of them unless all admit it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "QUOTA_PERIODS",
    "Quota",
    "QuotaCounter",
    "QuotaDecision",
    "RateDecision",
    "Throttle",
    "TokenBucket",
    "period_bounds",
    "policy_field",
    "ratelimit_field",
    "ratelimit_fields",
]

QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")


@dataclass(frozen=True, slots=True)
class Throttle:
    """A usage plan's steady-state ``rate`` (requests per second) and ``burst`` (bucket size)."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate_limit must be a positive number of requests/s, not {self.rate}")
        if self.burst < 1:
            raise ValueError(f"burst_limit must be at least 1, not {self.burst}")


@dataclass(frozen=True, slots=True)
class RateDecision:
    """A bucket's answer: admitted or not, tokens left, and seconds until the next token."""

    admitted: bool
    remaining: int
    retry_after: float


class TokenBucket:
    """The bucket of one key (an API key, a client address) under one ``Throttle``."""

    __slots__ = ("throttle", "tokens", "updated")

    def __init__(self, throttle: Throttle, now: float) -> None:
        self.throttle = throttle
        self.tokens = float(throttle.burst)
        self.updated = now

    def take(self, now: float) -> RateDecision:
        """Admit one request at ``now`` if a token is there; otherwise say when one will be."""
        tokens = self.refill(now)
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return RateDecision(True, int(tokens - 1.0), 0.0)
        return RateDecision(False, 0, self.wait(now))

    def refill(self, now: float) -> float:
        """The tokens in the bucket at ``now``, taking none: a request is admitted when there
        is at least one (``commit`` then takes it; else ``wait`` says for how long)."""
        if now > self.updated:
            throttle = self.throttle
            tokens = self.tokens + (now - self.updated) * throttle.rate
            # min(burst, tokens) without the builtin's call (it parses its arguments: slow)
            self.tokens = tokens = tokens if tokens < throttle.burst else throttle.burst
            self.updated = now
            return tokens
        return self.tokens

    def wait(self, now: float) -> float:
        """Seconds from ``now`` until the bucket holds a token (0 when it holds one)."""
        return max(0.0, (1.0 - self.refill(now)) / self.throttle.rate)

    def commit(self) -> None:
        """Take the token a ``refill`` of at least one promised."""
        self.tokens -= 1.0


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``limit`` requests per calendar ``period`` (DAY, WEEK or MONTH, in UTC)."""

    limit: int
    period: str

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"quota limit must be at least 1, not {self.limit}")
        if self.period not in QUOTA_PERIODS:
            raise ValueError(f"quota period must be one of {QUOTA_PERIODS}, not {self.period!r}")


def period_bounds(period: str, now: float) -> tuple[float, float]:
    """Start and end (epoch seconds) of the UTC calendar ``period`` that contains ``now``."""
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAY":
        start, end = day, day + timedelta(days=1)
    elif period == "WEEK":
        start = day - timedelta(days=(day.weekday() + 1) % 7)  # back to Sunday
        end = start + timedelta(days=7)
    elif period == "MONTH":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"quota period must be one of {QUOTA_PERIODS}, not {period!r}")
    return start.timestamp(), end.timestamp()


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    """A quota's answer: admitted or not, requests left this period, and when it resets."""

    admitted: bool
    remaining: int
    resets_at: float


class QuotaCounter:
    """The count of one key under one ``Quota``."""

    __slots__ = ("ends", "quota", "starts", "used")

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        self.used = 0
        self.starts = -math.inf  # the current period's bounds, once a request has counted
        self.ends = -math.inf

    def take(self, now: float) -> QuotaDecision:
        """Count one request at ``now`` unless the period's limit is reached."""
        left = self.left(now)
        if left > 0:
            self.used += 1
            return QuotaDecision(True, left - 1, self.ends)
        return QuotaDecision(False, 0, self.ends)

    def left(self, now: float) -> int:
        """Requests the quota still admits in the period of ``now`` (a new period starts the
        count again), counting none (``commit`` counts one)."""
        if now >= self.ends:
            self.starts, self.ends = period_bounds(self.quota.period, now)
            self.used = 0
        return self.quota.limit - self.used

    def commit(self) -> None:
        """Count the request a ``left`` above zero let through."""
        self.used += 1


def ratelimit_fields(
    policy: str, limit: int, window: float, remaining: int, reset: float
) -> tuple[tuple[str, str], ...]:
    """``RateLimit-Policy`` and ``RateLimit`` (IETF httpapi draft, structured fields), e.g.
    ``"plan";q=100;w=1`` and ``"plan";r=0;t=1``: the quota ``limit`` per ``window`` seconds,
    what ``remaining`` of it, and seconds until it ``reset``s (rounded up)."""
    name, stated = policy_field(policy, limit, window)
    return (stated, ratelimit_field(name, remaining, reset))


def ratelimit_field(name: str, remaining: int, reset: float) -> tuple[str, str]:
    """The ``RateLimit`` field of ``ratelimit_fields`` for the policy whose quoted ``name``
    ``policy_field`` gave."""
    reset = math.ceil(reset)
    return (
        "RateLimit",
        f"{name};r={remaining if remaining > 0 else 0};t={reset if reset > 0 else 0}",
    )


def policy_field(policy: str, limit: int, window: float) -> tuple[str, tuple[str, str]]:
    """The quoted name of ``policy`` and its ``RateLimit-Policy`` field (of
    ``ratelimit_fields``): the same object for every request of a plan within a period, so
    whoever renders it can do so once."""
    return _policy_field(policy, limit, max(1, math.ceil(window)))


@functools.lru_cache(maxsize=256)
def _policy_field(policy: str, limit: int, window: int) -> tuple[str, tuple[str, str]]:
    name = '"' + policy.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name, ("RateLimit-Policy", f"{name};q={limit};w={window}")
