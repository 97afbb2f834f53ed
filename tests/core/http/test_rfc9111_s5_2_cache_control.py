"""RFC 9111 §5.2: Cache-Control parsing, including bad input read conservatively."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cdn.http import CacheControl, Headers, parse_cache_control, request_directives
from cdn.http.cache_control import DELTA_SECONDS_CAP


def test_s5_2_2_1_max_age_is_parsed():
    assert parse_cache_control("max-age=60").max_age == 60


def test_s5_2_directive_names_are_case_insensitive():
    cc = parse_cache_control("MAX-AGE=60, No-Store, PUBLIC")
    assert (cc.max_age, cc.no_store, cc.public) == (60, True, True)


def test_s5_2_spaces_around_members_and_equals_are_tolerated():
    cc = parse_cache_control("  max-age = 60 ,  s-maxage=30  ,must-revalidate ")
    assert (cc.max_age, cc.s_maxage, cc.must_revalidate) == (60, 30, True)


def test_s5_2_quoted_argument_is_accepted_for_token_form():
    assert parse_cache_control('max-age="60"').max_age == 60


def test_s5_2_empty_members_are_ignored():
    assert parse_cache_control(",,max-age=5,,").max_age == 5


def test_s5_2_3_unknown_directives_are_ignored_rfc_example():
    # RFC 9111 §5.2.3's own extension example.
    cc = parse_cache_control('private, community="UCI"')
    assert cc.private is True
    assert cc == CacheControl(private=True)


def test_s4_2_1_invalid_max_age_makes_the_response_stale():
    assert parse_cache_control("max-age=abc").max_age == 0


def test_s4_2_1_max_age_without_argument_is_invalid_and_stale():
    assert parse_cache_control("max-age").max_age == 0


def test_s1_2_2_negative_max_age_is_invalid_and_stale():
    assert parse_cache_control("max-age=-5").max_age == 0


def test_s1_2_2_fractional_max_age_is_invalid_and_stale():
    assert parse_cache_control("max-age=1.5").max_age == 0


def test_s1_2_2_overflowing_delta_seconds_is_capped_at_2_pow_31():
    assert parse_cache_control("max-age=99999999999999999999").max_age == DELTA_SECONDS_CAP
    assert parse_cache_control("max-age=2147483649").max_age == DELTA_SECONDS_CAP


def test_s4_2_1_conflicting_duplicate_max_age_is_treated_as_stale():
    assert parse_cache_control("max-age=60, max-age=3600").max_age == 0


def test_s4_2_1_identical_duplicate_max_age_is_kept():
    assert parse_cache_control("max-age=60, max-age=60").max_age == 60


def test_conflicting_duplicate_s_maxage_is_treated_as_stale():
    assert parse_cache_control("s-maxage=10, s-maxage=20").s_maxage == 0


def test_duplicates_across_field_lines_count_like_one_line():
    headers = Headers([("Cache-Control", "max-age=60"), ("Cache-Control", "max-age=10")])
    assert request_directives(headers).max_age == 0


def test_conflicting_stale_while_revalidate_takes_the_smallest():
    assert parse_cache_control("stale-while-revalidate=30, stale-while-revalidate=5") == (
        CacheControl(stale_while_revalidate=5)
    )


def test_invalid_stale_if_error_allows_no_stale():
    assert parse_cache_control("stale-if-error=soon").stale_if_error == 0


def test_s5_2_2_4_unqualified_no_cache_is_true():
    assert parse_cache_control("no-cache").no_cache is True


def test_s5_2_2_4_qualified_no_cache_lists_lowercased_field_names():
    cc = parse_cache_control('no-cache="Set-Cookie, X-Private"')
    assert cc.no_cache == frozenset({"set-cookie", "x-private"})
    assert cc.no_cache_fields == frozenset({"set-cookie", "x-private"})


def test_s5_2_2_7_qualified_private_lists_field_names():
    assert parse_cache_control('private="x-user"').private == frozenset({"x-user"})


def test_unqualified_private_wins_over_qualified_duplicate():
    assert parse_cache_control('private="x-user", private').private is True


def test_flags_count_whatever_argument_they_carry():
    assert parse_cache_control("no-store=0").no_store is True


def test_s5_2_1_2_max_stale_without_argument_means_any():
    assert parse_cache_control("max-stale").max_stale == "any"


def test_s5_2_1_2_max_stale_with_seconds():
    assert parse_cache_control("max-stale=30").max_stale == 30


def test_s5_2_1_3_min_fresh_duplicates_take_the_largest():
    assert parse_cache_control("min-fresh=5, min-fresh=20").min_fresh == 20


def test_s5_2_1_3_invalid_min_fresh_is_ignored():
    assert parse_cache_control("min-fresh=x").min_fresh is None


def test_s5_2_1_7_only_if_cached_flag():
    assert parse_cache_control("only-if-cached").only_if_cached is True


def test_s5_2_2_all_response_flags_are_recognised():
    cc = parse_cache_control(
        "must-revalidate, proxy-revalidate, must-understand, no-transform, immutable, public"
    )
    assert (
        cc.must_revalidate,
        cc.proxy_revalidate,
        cc.must_understand,
        cc.no_transform,
        cc.immutable,
        cc.public,
    ) == (True, True, True, True, True, True)


def test_comma_inside_quoted_argument_does_not_split_members():
    cc = parse_cache_control('no-cache="a, b", max-age=5')
    assert (cc.no_cache, cc.max_age) == (frozenset({"a", "b"}), 5)


def test_empty_or_missing_field_is_no_directives():
    assert parse_cache_control("") == CacheControl()
    assert parse_cache_control(None) == CacheControl()


def test_s5_4_pragma_no_cache_counts_without_cache_control():
    assert request_directives(Headers({"Pragma": "no-cache"})).no_cache is True


def test_s5_4_pragma_is_ignored_when_cache_control_is_present():
    headers = Headers({"Pragma": "no-cache", "Cache-Control": "max-age=5"})
    assert request_directives(headers).no_cache is False


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parser_never_raises_on_arbitrary_text(text):
    cc = parse_cache_control(text)
    assert isinstance(cc, CacheControl)
    for value in (cc.max_age, cc.s_maxage, cc.stale_if_error, cc.stale_while_revalidate):
        assert value is None or 0 <= value <= DELTA_SECONDS_CAP


_PIECES = st.sampled_from(
    ["max-age", "s-maxage", "no-cache", "private", "max-stale", "min-fresh", "no-store",
     "stale-if-error", "=", ",", '"', "\\", " ", "-1", "60", "9" * 30, "x", "\t", ";"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=20).map("".join))
def test_parser_never_raises_on_directive_shaped_garbage(text):
    assert isinstance(parse_cache_control(text), CacheControl)
