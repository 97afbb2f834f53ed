"""KeyLimits.take, the admitted request's few steps (cdn.gateway.admission): ``Admission.limits``
and the edge's wire path take an API key's limits through it, so it must answer exactly
``ratelimit_fields`` of the throttle or the quota at every moment, and decline (taking nothing)
whenever a limit refuses or a quota period ends, leaving those to ``limits``' general steps."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

from cdn.gateway.admission import Admission, Answered, Pass, ViewerRequest
from cdn.gateway.throttling import QuotaCounter, TokenBucket, ratelimit_fields
from cdn.topology import parse_topology

NOW = datetime(2026, 12, 3, 23, 59, 58, tzinfo=UTC).timestamp()  # 2 s before a new day
KEYS = {
    "burst": "burst-key-0123456789",
    "quota": "quota-key-0123456789",
    "none": "none-key-01234567890",
}

TOPOLOGY = f"""
[origin]
name = "origin"
city = "Ashburn"

[[edge]]
name = "edge-par"
city = "Paris"

[[usage_plan]]
name = "throttle only"
ratelimit_fields = "always"
throttle = {{ rate_limit = 2, burst_limit = 3 }}

[[usage_plan]]
name = "both"
ratelimit_fields = "always"
throttle = {{ rate_limit = 2, burst_limit = 3 }}
quota = {{ limit = 4, period = "DAY" }}

[[usage_plan]]
name = "unlimited"
ratelimit_fields = "always"

[[api_key]]
name = "burst"
value = "{KEYS["burst"]}"
usage_plan = "throttle only"

[[api_key]]
name = "quota"
value = "{KEYS["quota"]}"
usage_plan = "both"

[[api_key]]
name = "none"
value = "{KEYS["none"]}"
usage_plan = "unlimited"

[[behavior]]
path_pattern = "/limited/*"
api_key_required = true
client_rate_limit = {{ rate_limit = 100, burst_limit = 100 }}

[[behavior]]
path_pattern = "/api/*"
api_key_required = true

[[behavior]]
path_pattern = "*"
"""


def admission() -> Admission:
    return Admission(parse_topology(tomllib.loads(TOPOLOGY), "t.toml").gateway, KEYS)


def passed(admission: Admission, key: str, path: str = "/api/x") -> Pass:
    request = ViewerRequest("GET", "http", "h", path, "", {"x-api-key": KEYS[key]}, "")
    checked = admission.check(request, NOW)
    assert isinstance(checked, Pass)
    return checked


# A burst, refills within a second, time standing still and going back, the next day.
MOMENTS = [0.0, 0.0, 0.0, 0.0, 0.1, 0.5, 0.5, 0.75, 1.2, 1.2, 1.9, 2.0, 2.01, 3.7, 3.1, 86_401.5]


def test_a_throttle_only_plan_gets_the_throttles_fields_at_every_moment() -> None:
    gate = admission()
    request = passed(gate, "burst")
    plan = gate.plans["throttle only"]
    assert plan.throttle is not None
    reference = TokenBucket(plan.throttle, NOW)
    for offset in MOMENTS:
        now = NOW + offset
        tokens = reference.refill(now)
        answered = gate.limits(request, "", now)
        if tokens >= 1.0:
            reference.commit()
            expected = ratelimit_fields("throttle only", 3, 1.5, int(tokens - 1.0), 0.0)
            assert answered == expected, offset
        else:
            assert isinstance(answered, Answered) and answered.category == "throttled", offset
        assert gate.key_buckets["burst"].tokens == reference.tokens, offset


def test_a_plan_with_both_gets_the_quotas_fields_and_takes_from_both() -> None:
    gate = admission()
    request = passed(gate, "quota")
    plan = gate.plans["both"]
    assert plan.throttle is not None and plan.quota is not None
    bucket, counter = TokenBucket(plan.throttle, NOW), QuotaCounter(plan.quota)
    for offset in MOMENTS:
        now = NOW + offset
        tokens, left = bucket.refill(now), counter.left(now)
        expected = ratelimit_fields(
            "both", 4, counter.ends - counter.starts, left - 1, counter.ends - now
        )
        answered = gate.limits(request, "", now)
        if tokens >= 1.0 and left > 0:
            bucket.commit()
            counter.commit()
            assert answered == expected, offset
        else:
            assert isinstance(answered, Answered), offset
        assert gate.key_buckets["quota"].tokens == bucket.tokens, offset
        assert gate.quotas["quota"].used == counter.used, offset


def test_take_declines_a_spent_quota_taking_nothing() -> None:
    gate = admission()
    request = passed(gate, "quota")
    for offset in (0.0, 0.5, 1.0, 1.5):  # the quota's 4, the bucket never empty
        assert isinstance(gate.limits(request, "", NOW + offset), tuple)
    limits = gate.key_limits(request, NOW + 1.9)
    assert limits is not None
    tokens = gate.key_buckets["quota"].tokens
    assert limits.take(NOW + 1.9) is None
    assert gate.key_buckets["quota"].tokens == tokens and gate.quotas["quota"].used == 4


def test_take_declines_an_empty_bucket_taking_nothing() -> None:
    gate = admission()
    request = passed(gate, "burst")
    for _ in range(3):
        assert isinstance(gate.limits(request, "", NOW), tuple)
    limits = gate.key_limits(request, NOW)
    assert limits is not None and limits.take(NOW) is None
    assert gate.key_buckets["burst"].tokens == 0.0


def test_take_leaves_a_new_quota_period_to_limits() -> None:
    gate = admission()
    request = passed(gate, "quota")
    assert isinstance(gate.limits(request, "", NOW), tuple)
    limits = gate.key_limits(request, NOW)
    assert limits is not None
    tokens = gate.key_buckets["quota"].tokens
    assert limits.take(NOW + 3.0) is None  # the next day: its policy is made by limits
    assert gate.key_buckets["quota"].tokens == tokens and gate.quotas["quota"].used == 1
    assert dict(gate.limits(request, "", NOW + 3.0))["RateLimit"].startswith('"both";r=3;')


def test_there_are_no_key_limits_to_take_alone_with_a_client_limit_or_a_plan_without_limits() -> (
    None
):
    gate = admission()
    assert gate.key_limits(passed(gate, "quota", "/limited/x"), NOW) is None
    assert gate.key_limits(passed(gate, "none"), NOW) is None
    assert gate.limits(passed(gate, "none"), "", NOW) == ()
