"""A behavior's min/default/max TTL bound the origin's freshness, in the core cache's config
(``CacheConfig.ttl_bounds``), so every shell's cache step applies them alike."""

from __future__ import annotations

import pytest

from cdn.gateway.behaviors import Behavior
from cdn.gateway.patterns import PathPattern
from cdn.http import CacheConfig, Headers, TtlBounds, freshness_lifetime, parse_cache_control

LAST_MODIFIED = {"Date": "Sun, 01 Jan 2023 00:00:00 GMT", "Last-Modified": "Sat, 31 Dec 2022 00:00:00 GMT"}  # fmt: skip


def lifetime(fields: dict[str, str], bounds: TtlBounds | None, status: int = 200) -> float:
    headers = Headers(fields)
    directives = parse_cache_control(headers.get("cache-control"))
    config = CacheConfig(ttl_bounds=bounds)
    return freshness_lifetime(status, headers, directives, 1_672_531_200.0, config)


def test_max_ttl_caps_the_origins_max_age() -> None:
    assert lifetime({"Cache-Control": "max-age=86400"}, TtlBounds(max_ttl=60)) == 60


def test_min_ttl_raises_the_origins_max_age() -> None:
    assert lifetime({"Cache-Control": "max-age=5"}, TtlBounds(min_ttl=30)) == 30


def test_s_maxage_is_bounded_too() -> None:
    assert lifetime({"Cache-Control": "s-maxage=900"}, TtlBounds(max_ttl=100)) == 100


def test_default_ttl_applies_when_the_origin_states_no_lifetime() -> None:
    assert lifetime({}, TtlBounds(default_ttl=120, max_ttl=300)) == 120
    assert lifetime(LAST_MODIFIED, TtlBounds(default_ttl=120)) == 120  # not the heuristic


def test_without_default_ttl_the_heuristic_is_bounded() -> None:
    assert lifetime(LAST_MODIFIED, None) == 8640  # 10% of one day
    assert lifetime(LAST_MODIFIED, TtlBounds(max_ttl=60)) == 60


def test_no_bounds_leave_rfc_9111_as_is() -> None:
    assert lifetime({"Cache-Control": "max-age=86400"}, None) == 86400


def test_bad_bounds_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="max_ttl 5 < min_ttl 10"):
        TtlBounds(min_ttl=10, max_ttl=5)
    with pytest.raises(ValueError, match="default_ttl 1 is outside"):
        TtlBounds(min_ttl=10, default_ttl=1)


def test_a_behavior_gives_its_bounds_to_the_nodes_config() -> None:
    base = CacheConfig(stale_if_error_seconds=60)
    plain = Behavior(PathPattern("*"), "origin")
    bounded = Behavior(PathPattern("/static/*"), "origin", min_ttl=60, max_ttl=3600)
    assert plain.cache_config(base) is base
    config = bounded.cache_config(base)
    assert config.ttl_bounds == TtlBounds(60, None, 3600)
    assert config.stale_if_error_seconds == 60
