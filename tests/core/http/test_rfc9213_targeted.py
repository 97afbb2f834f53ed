"""RFC 9213: targeted cache control (CDN-Cache-Control and cdnlab's own field)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cdn.http import (
    CacheConfig,
    CacheControl,
    Headers,
    Pass,
    Store,
    absorb,
    decide,
    parse_targeted,
    response_directives,
    targeted_cache_control,
)


def test_s3_1_example_cdn_gets_600_while_cache_control_says_60_and_120(lab):
    # RFC 9213 §3.1, first example.
    entry = lab.entry(
        {"Cache-Control": "max-age=60, s-maxage=120", "CDN-Cache-Control": "max-age=600"}
    )
    assert entry.freshness_lifetime == 600
    assert entry.targeted is True


def test_s3_1_example_cdn_stores_what_cache_control_forbids(lab):
    # RFC 9213 §3.1: "Cache-Control: no-store" + "CDN-Cache-Control: max-age=600".
    entry = lab.entry({"Cache-Control": "no-store", "CDN-Cache-Control": "max-age=600"})
    assert entry.freshness_lifetime == 600


def test_s3_1_example_without_targeted_field_no_store_applies(lab):
    request = lab.request()
    response = lab.response({"Cache-Control": "no-store"})
    decision = decide(request, lab.key(), [], lab.T0, lab.config)
    outcome = absorb(request, lab.key(), decision, response, lab.T0, lab.T0, lab.config)
    assert isinstance(outcome, Pass) and outcome.reason == "no-store"


def test_s3_1_example_cdn_cache_control_none_overrides_no_store(lab):
    # "CDN-Cache-Control: none" is a valid field with an unknown directive: Cache-Control is
    # ignored, so the CDN may store (here with a heuristic lifetime from Last-Modified).
    entry = lab.entry(
        {
            "Cache-Control": "no-store",
            "CDN-Cache-Control": "none",
            "Last-Modified": lab.date(lab.T0 - 1000),
        }
    )
    assert entry.directives == CacheControl()
    assert entry.freshness_lifetime == 100


def test_s2_1_targeted_field_ignores_expires_too(lab):
    entry = lab.entry(
        {"CDN-Cache-Control": "must-revalidate", "Expires": lab.date(lab.T0 + 3600), "ETag": '"v"'}
    )
    assert entry.freshness_lifetime == 0


def test_s2_1_first_field_in_target_list_wins():
    headers = Headers({"CDN-Cache-Control": "max-age=10", "cdnlab-Cache-Control": "max-age=99"})
    assert targeted_cache_control(headers).max_age == 99


def test_s2_1_target_list_is_configurable(make_lab):
    lab = make_lab(targeted_fields=("CDN-Cache-Control",))
    entry = lab.entry({"CDN-Cache-Control": "max-age=10", "cdnlab-cache-control": "max-age=99"})
    assert entry.freshness_lifetime == 10


def test_s2_1_invalid_targeted_field_is_ignored_and_cache_control_applies(lab):
    entry = lab.entry({"Cache-Control": "max-age=30", "CDN-Cache-Control": "max-age=60;;"})
    assert entry.freshness_lifetime == 30
    assert entry.targeted is False


def test_s2_1_invalid_first_field_falls_back_to_the_next_valid_one():
    headers = Headers({"cdnlab-cache-control": "MAX-AGE=5", "CDN-Cache-Control": "max-age=60"})
    assert targeted_cache_control(headers).max_age == 60


def test_s2_1_empty_targeted_field_is_ignored():
    headers = Headers({"CDN-Cache-Control": "", "Cache-Control": "max-age=7"})
    assert response_directives(headers) == (CacheControl(max_age=7), False)


def test_s2_1_uppercase_keys_are_a_structured_field_error():
    assert parse_targeted("Max-Age=60") is None


def test_s2_1_parameters_are_ignored():
    assert parse_targeted("max-age=60;foo=bar").max_age == 60


def test_s2_1_boolean_false_flag_is_absent():
    assert parse_targeted("no-store=?0, max-age=5") == CacheControl(max_age=5)


def test_s2_1_private_with_string_lists_field_names():
    assert parse_targeted('private="x-user"').private == frozenset({"x-user"})


def test_same_rules_invalid_max_age_type_is_stale():
    assert parse_targeted("max-age=?1").max_age == 0


def test_same_rules_negative_max_age_is_stale():
    assert parse_targeted("max-age=-5").max_age == 0


def test_same_rules_conflicting_duplicates_are_treated_as_stale():
    headers = Headers([("CDN-Cache-Control", "max-age=60"), ("CDN-Cache-Control", "max-age=5")])
    assert targeted_cache_control(headers).max_age == 0


def test_s2_1_quoted_number_is_a_wrong_type_and_not_consumed():
    # RFC 9213 §2.1: "Implementations SHOULD NOT consume values that violate these inferred
    # constraints": max-age is an sf-integer, so the sf-string "60" reads as invalid (stale).
    assert parse_targeted('max-age="60"').max_age == 0


def test_s2_1_decimal_max_age_is_not_coerced():
    assert parse_targeted("max-age=60.0").max_age == 0


def test_s2_1_wrong_type_max_age_with_cache_control_no_store_is_not_reused(lab):
    # cache-tests cdn-cc-invalid-sh-type-wrong: the targeted field governs (Cache-Control is
    # ignored) but its max-age is not consumed, so nothing fresh is served.
    outcome = lab.fetch({"CDN-Cache-Control": 'max-age="10000"', "Cache-Control": "no-store"})
    assert not (isinstance(outcome, Store) and outcome.entry.is_fresh(lab.T0))


def test_targeted_private_is_refused_by_a_shared_cache(lab):
    request = lab.request()
    response = lab.response({"Cache-Control": "public, max-age=60", "CDN-Cache-Control": "private"})
    decision = decide(request, lab.key(), [], lab.T0, lab.config)
    outcome = absorb(request, lab.key(), decision, response, lab.T0, lab.T0, lab.config)
    assert isinstance(outcome, Pass) and outcome.reason == "private"


def test_no_targeted_fields_configured_uses_cache_control(make_lab):
    lab = make_lab(targeted_fields=())
    request = lab.request()
    response = lab.response({"Cache-Control": "max-age=5", "CDN-Cache-Control": "max-age=500"})
    decision = decide(request, lab.key(), [], lab.T0, lab.config)
    outcome = absorb(request, lab.key(), decision, response, lab.T0, lab.T0, lab.config)
    assert isinstance(outcome, Store) and outcome.entry.freshness_lifetime == 5


def test_default_config_targets_cdnlab_then_cdn_fields():
    assert CacheConfig().targeted_fields == ("cdnlab-cache-control", "cdn-cache-control")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_targeted_parser_never_raises(text):
    result = parse_targeted(text)
    assert result is None or isinstance(result, CacheControl)
