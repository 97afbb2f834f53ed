"""Cache behaviors: first match wins, TTL bounds, cache-key policies; and their topology tables."""

from __future__ import annotations

import tomllib

import pytest

from cdn.errors import ConfigError
from cdn.gateway.behaviors import Behavior, CacheKeyPolicy
from cdn.gateway.patterns import PathPattern
from cdn.topology import parse_topology

BASE = """
[origin]
name = "origin"
city = "Ashburn"

[[edge]]
name = "edge-par"
city = "Paris"
"""

GATEWAY = """
[[usage_plan]]
name = "gold"
throttle = { rate_limit = 10, burst_limit = 20 }
quota = { limit = 1000, period = "DAY" }

[[api_key]]
name = "partner"
value = "0123456789abcdefghij-partner"
usage_plan = "gold"

[[behavior]]
path_pattern = "/api/*"
allowed_methods = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
api_key_required = true
usage_plan = "gold"
max_ttl = 5
cache_key = { query_strings = ["page"], headers = ["Accept-Language"] }

[[behavior]]
path_pattern = "/static/*"
min_ttl = "1h"
compress = true

[[behavior]]
path_pattern = "*"
"""


def topology(extra: str):
    return parse_topology(tomllib.loads(BASE + extra), "t.toml")


def test_without_behaviors_one_default_behavior_keeps_the_edge_as_it_was() -> None:
    gateway = topology("").gateway
    assert gateway is not None
    behavior = gateway.behavior_for("/anything")
    assert behavior.path_pattern.is_default
    assert "POST" in behavior.allowed_methods
    assert behavior.ttl_bounds is None  # the origin's freshness, as before
    assert behavior.cache_key.key_target("/a", "b=1&a=2") == "/a?b=1&a=2"


def test_the_first_matching_behavior_wins() -> None:
    gateway = topology(GATEWAY).gateway
    assert gateway.behavior_for("/api/users").usage_plan == "gold"
    assert gateway.behavior_for("/static/app.js").compress
    assert gateway.behavior_for("/index.html").path_pattern.text == "*"


def test_ttls_bound_the_origins_freshness() -> None:
    behavior = Behavior(PathPattern("*"), "o", min_ttl=60, default_ttl=300, max_ttl=3600)
    bounds = behavior.ttl_bounds
    assert bounds is not None
    assert bounds.bound(10) == 60
    assert bounds.bound(86400) == 3600
    assert bounds.default_ttl == 300


def test_a_query_allowlist_keeps_only_the_named_parameters_sorted() -> None:
    policy = CacheKeyPolicy(query_strings=("page", "lang"), normalize_query=True)
    assert policy.key_target("/p", "utm=x&page=2&lang=fr") == "/p?lang=fr&page=2"
    assert policy.key_target("/p", "utm=x") == "/p"


def test_no_query_strings_in_the_key_drops_them_all() -> None:
    assert CacheKeyPolicy(query_strings="none").key_target("/p", "a=1") == "/p"


def test_only_allowlisted_headers_and_cookies_enter_the_key() -> None:
    policy = CacheKeyPolicy(headers=("accept-language",), cookies=("ab",))
    fr = policy.key_suffix({"accept-language": "fr", "user-agent": "x"}, {"ab": "b", "s": "1"})
    other_agent = policy.key_suffix({"accept-language": "fr", "user-agent": "y"}, {"ab": "b"})
    de = policy.key_suffix({"accept-language": "de"}, {"ab": "b"})
    assert fr == other_agent
    assert fr != de


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ('[[behavior]]\npath_pattern = "/a/*"\n', "behavior[0].path_pattern"),
        ('[[behavior]]\npath_pattern = "*"\n[[behavior]]\npath_pattern = "/a"\n', "behavior[0]"),
        ('[[behavior]]\npath_pattern = "*"\nusage_plan = "nope"\n', "behavior[0].usage_plan"),
        ('[[behavior]]\npath_pattern = "*"\ntarget_origin = "s3"\n', "behavior[0].target_origin"),
        ('[[behavior]]\npath_pattern = "*"\nallowed_methods = ["GET"]\n', "allowed_methods"),
        ('[[behavior]]\npath_pattern = "*"\nmin_ttl = 10\nmax_ttl = 5\n', "behavior[0].max_ttl"),
        ('[[behavior]]\npath_pattern = "*"\ncolour = "red"\n', "behavior[0].colour"),
        ('[[usage_plan]]\nname = "p"\nquota = { limit = 5, period = "YEAR" }\n', "quota.period"),
        ('[[api_key]]\nname = "k"\nvalue = "short"\nusage_plan = "p"\n', "api_key[0].value"),
        ('[[key_group]]\nname = "g"\nkeys = [{ id = "K", public_key = "x" }]\n', "public_key"),
        ('[[origin_group]]\nname = "g"\nmembers = ["origin"]\n', "origin_group[0].members"),
    ],
)
def test_a_wrong_gateway_table_names_its_key(extra: str, where: str) -> None:
    with pytest.raises(ConfigError, match=r"t\.toml:.*" + where.replace("[", r"\[")):
        topology(extra)
