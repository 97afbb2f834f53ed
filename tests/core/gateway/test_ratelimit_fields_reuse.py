"""Admission.limits makes the quota's RateLimit-Policy field once per period and the RateLimit
field's ``;t=`` part once a second (cdn.gateway.admission): the fields it answers must be exactly
``ratelimit_fields`` of the quota at every moment, across seconds, periods and plans."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

from cdn.gateway.admission import Admission, Pass, ViewerRequest
from cdn.gateway.throttling import QuotaCounter, ratelimit_fields
from cdn.topology import parse_topology

NOW = datetime(2026, 12, 3, 23, 59, 58, tzinfo=UTC).timestamp()  # 2 s before a new day
KEYS = {"partner": "partner-key-0123456789", "other": "other-key-0123456789"}

TOPOLOGY = f"""
[origin]
name = "origin"
city = "Ashburn"

[[edge]]
name = "edge-par"
city = "Paris"

[[usage_plan]]
name = "gold"
ratelimit_fields = "always"
throttle = {{ rate_limit = 1000, burst_limit = 1000 }}
quota = {{ limit = 5, period = "DAY" }}

[[usage_plan]]
name = "silver \\"beta\\""
ratelimit_fields = "always"
quota = {{ limit = 1000, period = "MONTH" }}

[[api_key]]
name = "partner"
value = "{KEYS["partner"]}"
usage_plan = "gold"

[[api_key]]
name = "other"
value = "{KEYS["other"]}"
usage_plan = "silver \\"beta\\""

[[behavior]]
path_pattern = "/api/*"
api_key_required = true

[[behavior]]
path_pattern = "*"
"""


def test_limits_answer_ratelimit_fields_of_the_quota_at_every_moment() -> None:
    gateway = parse_topology(tomllib.loads(TOPOLOGY), "t.toml").gateway
    admission = Admission(gateway, KEYS)
    plans = {plan.name: plan for plan in gateway.usage_plans}
    # The same moments for both keys: within a second, across seconds, into the next day
    # (gold's count starts again), and back in time (no new period, no tokens).
    moments = [0.0, 0.2, 0.9, 1.0, 1.01, 1.5, 1.99, 2.0, 2.3, 3.7, 3.1, 86_401.5]
    for name, plan_name in (("partner", "gold"), ("other", 'silver "beta"')):
        plan = plans[plan_name]
        assert plan.quota is not None
        reference = QuotaCounter(plan.quota)
        for offset in moments:
            now = NOW + offset
            request = ViewerRequest("GET", "http", "h", "/api/x", "", {"x-api-key": KEYS[name]}, "")
            passed = admission.check(request, now)
            assert isinstance(passed, Pass)
            left = reference.left(now)
            expected = ratelimit_fields(
                plan_name,
                plan.quota.limit,
                reference.ends - reference.starts,
                left - 1,
                reference.ends - now,
            )
            answered = admission.limits(passed, "", now)
            if left > 0:
                reference.commit()
                assert answered == expected, (name, offset)
            else:  # gold's 5 run out before the day ends: 429 with the same fields
                assert not isinstance(answered, tuple)
                assert answered.headers[2:] == expected, (name, offset)
