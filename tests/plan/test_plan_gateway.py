"""`cdn plan` over a topology with behaviors: an SLO on the share of throttled requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn.errors import ConfigError
from planner.plan import run_plan
from planner.planfile import load_plan

TOPOLOGY = """
name = "api"

[origin]
name = "origin"
city = "Ashburn"

[[edge]]
name = "edge"
city = "Paris"
cache_size = "16MiB"
upstream = "origin"

[workload]
objects = 100
rate = 20
seed = 3
path = "/api/{id}"
size = { dist = "fixed", value = "1KiB" }
users = { source = "regions", region = [{ name = "fr", city = "Paris" }] }

[[workload.paths]]
path = "/api/{id}"
api_keys = 2

[[usage_plan]]
name = "basic"
throttle = { rate_limit = 10, burst_limit = 20 }

[[api_key]]
name = "k"
value = "cdnlab-test-key-0123456789"
usage_plan = "basic"

[[behavior]]
path_pattern = "*"
api_key_required = true
usage_plan = "basic"
"""

PLAN = """
base = "api.toml"

[sweep]
rate_scale = [1, 4]

[slo]
throttled_share = {limit}

[run]
requests = 1000
seed = 5
workers = 1
"""


def _plan(tmp_path: Path, limit: str) -> Path:
    (tmp_path / "api.toml").write_text(TOPOLOGY, encoding="utf-8")
    path = tmp_path / "plan.toml"
    path.write_text(PLAN.format(limit=limit), encoding="utf-8")
    return path


def test_throttled_share_slo_passes_within_the_plan_and_fails_past_it(tmp_path: Path) -> None:
    outcome = run_plan(load_plan(_plan(tmp_path, "0.05")), tmp_path / "cache")
    by_growth = {r.params["rate_scale"]: r for r in outcome.results}
    # 20 req/s over two keys of 10 req/s each: nothing throttled; four times that: most is.
    assert by_growth[1.0].metrics["throttled_share"] < 0.05
    assert by_growth[4.0].metrics["throttled_share"] > 0.3
    assert by_growth[1.0].slo["throttled_share"]["pass"]
    assert not by_growth[4.0].slo["throttled_share"]["pass"]
    assert not outcome.recommendation.found


def test_a_throttled_share_over_one_is_refused_with_the_key_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="throttled_share"):
        load_plan(_plan(tmp_path, "2"))
