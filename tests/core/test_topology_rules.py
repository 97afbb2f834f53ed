"""Cache rules: the longest prefix wins, and the fields the origin sends are derived from the rule."""

from cdn.topology import DEFAULT_RULE, CacheRule, rule_for, rule_headers, surrogate_keys

RULES = (
    CacheRule(
        prefix="/obj/", cache_control="public, max-age=60", surrogate_keys=("catalog", "obj-{id}")
    ),
    CacheRule(prefix="/obj/live/", cache_control="no-store"),
)


def test_the_longest_matching_prefix_wins():
    assert rule_for(RULES, "/obj/live/3").cache_control == "no-store"
    assert rule_for(RULES, "/obj/3").cache_control == "public, max-age=60"


def test_an_unmatched_path_gets_the_default_rule():
    assert rule_for(RULES, "/other") is DEFAULT_RULE
    assert DEFAULT_RULE.cache_control == "public, max-age=3600"


def test_surrogate_key_templates_take_the_object_id_or_are_dropped_without_one():
    assert surrogate_keys(RULES[0], 7) == ["catalog", "obj-7"]
    assert surrogate_keys(RULES[0], None) == ["catalog"]


def test_rule_headers_come_in_a_fixed_order_with_expires_from_now():
    rule = CacheRule(
        prefix="/a/",
        cache_control="max-age=5",
        expires_in=60,
        vary="Accept-Encoding",
        surrogate_keys=("a",),
        headers=(("X-Extra", "1"),),
    )
    assert rule_headers(rule, 1, now=0.0) == [
        ("Cache-Control", "max-age=5"),
        ("Expires", "Thu, 01 Jan 1970 00:01:00 GMT"),
        ("Vary", "Accept-Encoding"),
        ("Surrogate-Key", "a"),
        ("X-Extra", "1"),
    ]


def test_edge_defaults_give_negative_caching_for_404_and_410_and_the_stale_overrides():
    from cdn.topology import EdgeSettings

    config = EdgeSettings(negative_ttl=10, stale_if_error=60).cache_config()
    assert dict(config.negative_ttl) == {404: 10, 410: 10}
    assert config.stale_if_error_seconds == 60
    assert dict(EdgeSettings(negative_ttl=0).cache_config().negative_ttl) == {}
