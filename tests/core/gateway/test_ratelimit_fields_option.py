"""A usage plan's ``ratelimit_fields`` (cdn.gateway.behaviors.UsagePlan): "throttled", the
default (API Gateway's way), sends the RateLimit fields on the plan's 429s only; "always" also on
admitted responses. The option changes which responses carry fields, never what the limits
admit or take: a "throttled" plan (``KeyLimits.admit``) must admit, refuse and take exactly as
the same plan with "always" (``KeyLimits.take``) at every moment."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

import pytest

from cdn.errors import ConfigError
from cdn.gateway.admission import Admission, Answered, Pass, ViewerRequest
from cdn.gateway.behaviors import UsagePlan
from cdn.topology import parse_topology

NOW = datetime(2026, 12, 3, 23, 59, 58, tzinfo=UTC).timestamp()  # 2 s before a new day
KEYS = {
    "burst": "burst-key-0123456789",
    "quota": "quota-key-0123456789",
    "daily": "daily-key-0123456789",
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
throttle = {{ rate_limit = 2, burst_limit = 3 }}

[[usage_plan]]
name = "both"
throttle = {{ rate_limit = 2, burst_limit = 3 }}
quota = {{ limit = 4, period = "DAY" }}

[[usage_plan]]
name = "quota only"
quota = {{ limit = 2, period = "DAY" }}

[[api_key]]
name = "burst"
value = "{KEYS["burst"]}"
usage_plan = "throttle only"

[[api_key]]
name = "quota"
value = "{KEYS["quota"]}"
usage_plan = "both"

[[api_key]]
name = "daily"
value = "{KEYS["daily"]}"
usage_plan = "quota only"

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

# A burst, refills within a second, time standing still and going back, the next day.
MOMENTS = [0.0, 0.0, 0.0, 0.0, 0.1, 0.5, 0.5, 0.75, 1.2, 1.2, 1.9, 2.0, 2.01, 3.7, 3.1, 86_401.5]


def admission(fields: str | None = None) -> Admission:
    """An Admission of TOPOLOGY, every plan with ``ratelimit_fields = fields`` (None: unset)."""
    text = TOPOLOGY
    if fields is not None:
        text = text.replace("[[usage_plan]]\n", f'[[usage_plan]]\nratelimit_fields = "{fields}"\n')
    return Admission(parse_topology(tomllib.loads(text), "t.toml").gateway, KEYS)


def passed(admission: Admission, key: str, path: str = "/api/x") -> Pass:
    request = ViewerRequest("GET", "http", "h", path, "", {"x-api-key": KEYS[key]}, "")
    checked = admission.check(request, NOW)
    assert isinstance(checked, Pass)
    return checked


def test_a_plan_sends_its_fields_on_429s_only_by_default() -> None:
    plans = parse_topology(tomllib.loads(TOPOLOGY), "t.toml").gateway.usage_plans
    assert {plan.ratelimit_fields for plan in plans} == {"throttled"}


@pytest.mark.parametrize("key", ["burst", "quota", "daily"])
def test_a_throttled_plan_admits_and_refuses_as_the_same_plan_with_always(key: str) -> None:
    quiet, loud = admission(), admission("always")
    quiet_pass, loud_pass = passed(quiet, key), passed(loud, key)
    for offset in MOMENTS:
        now = NOW + offset
        answered, expected = quiet.limits(quiet_pass, "", now), loud.limits(loud_pass, "", now)
        if isinstance(expected, Answered):
            assert answered == expected, offset  # the same 429, fields and all
        else:
            assert expected and answered == (), offset  # admitted: fields only with "always"
        assert quiet.key_buckets.keys() == loud.key_buckets.keys()
        if key in loud.key_buckets:
            assert quiet.key_buckets[key].tokens == loud.key_buckets[key].tokens, offset
        if key in loud.quotas:
            assert quiet.quotas[key].used == loud.quotas[key].used, offset


def test_a_throttled_plan_behind_a_client_limit_admits_without_fields() -> None:
    quiet, loud = admission(), admission("always")
    quiet_pass, loud_pass = (
        passed(quiet, "quota", "/limited/x"),
        passed(loud, "quota", "/limited/x"),
    )
    for offset in MOMENTS:
        now = NOW + offset
        answered, expected = quiet.limits(quiet_pass, "", now), loud.limits(loud_pass, "", now)
        if isinstance(expected, Answered):
            assert answered == expected, offset
        else:
            assert expected and answered == (), offset
        assert quiet.quotas["quota"].used == loud.quotas["quota"].used, offset


def test_admit_declines_an_empty_bucket_taking_nothing() -> None:
    gate = admission()
    request = passed(gate, "quota")
    for _ in range(3):
        assert gate.limits(request, "", NOW) == ()
    limits = gate.key_limits(request, NOW)
    assert limits is not None and not limits.admit(NOW)
    assert gate.key_buckets["quota"].tokens == 0.0 and gate.quotas["quota"].used == 3


def test_admit_declines_a_spent_quota_taking_nothing() -> None:
    gate = admission()
    request = passed(gate, "daily")
    assert gate.limits(request, "", NOW) == () and gate.limits(request, "", NOW) == ()
    limits = gate.key_limits(request, NOW)
    assert limits is not None and not limits.admit(NOW + 1.0)
    assert gate.quotas["daily"].used == 2


def test_admit_leaves_a_new_quota_period_to_limits() -> None:
    gate = admission()
    request = passed(gate, "daily")
    assert gate.limits(request, "", NOW) == ()
    limits = gate.key_limits(request, NOW)
    assert limits is not None and not limits.admit(NOW + 3.0)  # the next day
    assert gate.quotas["daily"].used == 1
    assert gate.limits(request, "", NOW + 3.0) == ()  # limits starts the day's count
    assert gate.quotas["daily"].used == 1 and limits.admit(NOW + 3.0)
    assert gate.quotas["daily"].used == 2


def test_an_unknown_ratelimit_fields_value_names_the_table_and_key() -> None:
    text = TOPOLOGY.replace(
        '[[usage_plan]]\nname = "both"\n',
        '[[usage_plan]]\nname = "both"\nratelimit_fields = "never"\n',
    )
    with pytest.raises(ConfigError, match=r"t\.toml:usage_plan\[1\]\.ratelimit_fields") as error:
        parse_topology(tomllib.loads(text), "t.toml")
    assert "throttled, always" in str(error.value)


def test_a_usage_plan_refuses_an_unknown_ratelimit_fields_value() -> None:
    with pytest.raises(ValueError, match="ratelimit_fields must be one of"):
        UsagePlan("gold", ratelimit_fields="sometimes")
