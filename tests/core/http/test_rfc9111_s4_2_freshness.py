"""RFC 9111 §4.2: freshness lifetime (§4.2.1), heuristics (§4.2.2), age (§4.2.3) and
serving stale responses (§4.2.4)."""

from __future__ import annotations

import pytest

from cdn.http import (
    CacheConfig,
    Headers,
    Hit,
    Miss,
    OnlyIfCachedMiss,
    Revalidate,
    corrected_initial_age,
    current_age,
    freshness_lifetime,
    parse_cache_control,
    response_age,
)

# ---- §4.2.1 freshness lifetime ---------------------------------------------------------


def _lifetime(fields, status=200, response_time=1000.0, config=None, **kw):
    headers = Headers(fields)
    directives = parse_cache_control(headers.get("cache-control"))
    return freshness_lifetime(
        status, headers, directives, response_time, config or CacheConfig(), **kw
    )


def test_s4_2_1_s_maxage_wins_over_max_age_in_a_shared_cache():
    assert _lifetime({"Cache-Control": "max-age=60, s-maxage=120"}) == 120


def test_s4_2_1_s_maxage_is_ignored_by_a_private_cache():
    assert (
        _lifetime({"Cache-Control": "max-age=60, s-maxage=120"}, config=CacheConfig(shared=False))
        == 60
    )


def test_s4_2_1_max_age_wins_over_expires(lab):
    fields = {
        "Cache-Control": "max-age=60",
        "Expires": lab.date(lab.T0 + 3600),
        "Date": lab.date(lab.T0),
    }
    assert _lifetime(fields) == 60


def test_s4_2_1_expires_minus_date(lab):
    # RFC 9111 §5.3 example value shape: "Expires: Thu, 01 Dec 1994 16:00:00 GMT".
    fields = {"Expires": "Thu, 01 Dec 1994 16:00:00 GMT", "Date": "Thu, 01 Dec 1994 15:00:00 GMT"}
    assert _lifetime(fields) == 3600


def test_s4_2_1_expires_without_date_uses_the_receipt_time(lab):
    assert _lifetime({"Expires": lab.date(lab.T0 + 90)}, response_time=lab.T0) == 90


def test_s5_3_invalid_expires_means_already_stale():
    assert _lifetime({"Expires": "0"}) == 0


def test_s4_2_1_expires_in_the_past_means_stale(lab):
    assert _lifetime({"Expires": lab.date(lab.T0 - 10), "Date": lab.date(lab.T0)}) == 0


def test_s4_2_1_conflicting_expires_lines_mean_stale(lab):
    fields = [
        ("Expires", lab.date(lab.T0 + 10)),
        ("Expires", lab.date(lab.T0 + 99)),
        ("Date", lab.date(lab.T0)),
    ]
    assert _lifetime(fields) == 0


def test_s4_2_1_invalid_max_age_is_stale_even_with_expires(lab):
    fields = {
        "Cache-Control": "max-age=soon",
        "Expires": lab.date(lab.T0 + 3600),
        "Date": lab.date(lab.T0),
    }
    assert _lifetime(fields) == 0


def test_s4_2_1_no_explicit_expiration_and_no_last_modified_is_zero():
    assert _lifetime({}) == 0


# ---- §4.2.2 heuristic freshness ----------------------------------------------------------


def test_s4_2_2_heuristic_is_ten_percent_of_time_since_last_modified(lab):
    fields = {"Last-Modified": lab.date(lab.T0 - 5000), "Date": lab.date(lab.T0)}
    assert _lifetime(fields) == 500


def test_s4_2_2_heuristic_is_capped(lab):
    fields = {"Last-Modified": lab.date(lab.T0 - 10 * 86400 * 10), "Date": lab.date(lab.T0)}
    assert _lifetime(fields) == 86400


def test_s4_2_2_fraction_and_cap_are_configurable(lab):
    config = CacheConfig(heuristic_fraction=0.5, heuristic_max_seconds=100)
    fields = {"Last-Modified": lab.date(lab.T0 - 100), "Date": lab.date(lab.T0)}
    assert _lifetime(fields, config=config) == 50
    fields = {"Last-Modified": lab.date(lab.T0 - 1000), "Date": lab.date(lab.T0)}
    assert _lifetime(fields, config=config) == 100


@pytest.mark.parametrize("status", [302, 303, 307, 403, 500])
def test_s4_2_2_no_heuristic_for_statuses_not_heuristically_cacheable(lab, status):
    fields = {"Last-Modified": lab.date(lab.T0 - 5000), "Date": lab.date(lab.T0)}
    assert _lifetime(fields, status=status) == 0


@pytest.mark.parametrize("status", [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])
def test_s4_2_2_heuristic_for_heuristically_cacheable_statuses(lab, status):
    fields = {"Last-Modified": lab.date(lab.T0 - 5000), "Date": lab.date(lab.T0)}
    assert _lifetime(fields, status=status) == 500


def test_s4_2_2_public_allows_heuristic_for_other_statuses(lab):
    fields = {
        "Cache-Control": "public",
        "Last-Modified": lab.date(lab.T0 - 5000),
        "Date": lab.date(lab.T0),
    }
    assert _lifetime(fields, status=302) == 500


def test_s4_2_2_no_heuristic_when_explicit_expiration_present(lab):
    fields = {
        "Expires": "garbage",
        "Last-Modified": lab.date(lab.T0 - 5000),
        "Date": lab.date(lab.T0),
    }
    assert _lifetime(fields) == 0


def test_s4_2_2_last_modified_after_date_gives_no_heuristic(lab):
    fields = {"Last-Modified": lab.date(lab.T0 + 50), "Date": lab.date(lab.T0)}
    assert _lifetime(fields) == 0


# ---- §4.2.3 age ------------------------------------------------------------------------


def test_s4_2_3_formula_without_age_header_uses_apparent_age():
    # Date 10 s before receipt, 2 s round trip: apparent_age 10 > corrected_age_value 2.
    assert corrected_initial_age(0, 990.0, 998.0, 1000.0) == 10
    assert (
        current_age(age=0, date=990.0, request_time=998.0, response_time=1000.0, now=1030.0) == 40
    )


def test_s4_2_3_upstream_age_plus_response_delay():
    # Age: 100 from upstream, 2 s response delay, clocks agree: corrected_age_value = 102.
    assert corrected_initial_age(100, 1000.0, 998.0, 1000.0) == 102
    assert (
        current_age(age=100, date=1000.0, request_time=998.0, response_time=1000.0, now=1005.0)
        == 107
    )


def test_s4_2_3_origin_clock_in_the_future_gives_no_negative_apparent_age():
    assert corrected_initial_age(0, 2000.0, 1000.0, 1000.0) == 0


def test_s4_2_3_entry_age_uses_the_upstream_age_header(lab):
    entry = lab.entry(
        {"Cache-Control": "max-age=600", "Age": "100"},
        request_time=lab.T0 - 2,
        response_time=lab.T0,
        date=lab.T0 - 50,
    )
    assert entry.corrected_initial_age == 102
    assert entry.current_age(lab.T0 + 10) == 112
    assert response_age(entry, lab.T0 + 10) == 112


def test_s4_2_3_entry_goes_stale_when_age_reaches_lifetime(lab):
    entry = lab.entry({"Cache-Control": "max-age=600", "Age": "100"})
    assert entry.is_fresh(lab.T0 + 499.9)
    assert not entry.is_fresh(lab.T0 + 500)


def test_s5_1_invalid_age_header_is_ignored(lab):
    entry = lab.entry({"Cache-Control": "max-age=600", "Age": "-3"})
    assert entry.corrected_initial_age == 0


def test_s5_1_response_age_is_whole_seconds(lab):
    entry = lab.entry({"Cache-Control": "max-age=600"})
    assert response_age(entry, lab.T0 + 1.9) == 1


# ---- §4.2.4 serving stale ----------------------------------------------------------------


def test_s4_2_4_fresh_entry_is_a_hit(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    decision = lab.decide([entry], lab.T0 + 30)
    assert decision == Hit(entry, 30)


def test_s4_2_4_stale_entry_with_validator_is_revalidated(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v1"'})
    decision = lab.decide([entry], lab.T0 + 61)
    assert isinstance(decision, Revalidate) and decision.fwd == "stale"


def test_s4_2_4_stale_entry_without_validator_is_a_miss(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    decision = lab.decide([entry], lab.T0 + 61)
    assert isinstance(decision, Miss) and decision.fwd == "stale"
    assert decision.stale == (entry,)


def test_s5_2_1_2_client_max_stale_allows_a_stale_hit(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    decision = lab.decide([entry], lab.T0 + 80, lab.request({"Cache-Control": "max-stale=30"}))
    assert decision == Hit(entry, 80, stale=True)


def test_s5_2_1_2_max_stale_beyond_its_limit_is_not_served(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    decision = lab.decide([entry], lab.T0 + 100, lab.request({"Cache-Control": "max-stale=30"}))
    assert isinstance(decision, Miss)


def test_s5_2_1_2_max_stale_without_value_accepts_any_staleness(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    decision = lab.decide([entry], lab.T0 + 10**6, lab.request({"Cache-Control": "max-stale"}))
    assert isinstance(decision, Hit) and decision.stale


@pytest.mark.parametrize("directive", ["must-revalidate", "proxy-revalidate", "s-maxage=60"])
def test_s4_2_4_must_revalidate_family_forbids_serving_stale(lab, directive):
    entry = lab.entry({"Cache-Control": f"max-age=60, {directive}", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 80, lab.request({"Cache-Control": "max-stale"}))
    assert isinstance(decision, Revalidate)


def test_s5_2_2_4_response_no_cache_revalidates_even_when_fresh(lab):
    entry = lab.entry({"Cache-Control": "no-cache, max-age=600", "ETag": '"v"'})
    assert isinstance(lab.decide([entry], lab.T0 + 1), Revalidate)


def test_s5_2_1_4_request_no_cache_revalidates_a_fresh_entry(lab):
    entry = lab.entry({"Cache-Control": "max-age=600", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 1, lab.request({"Cache-Control": "no-cache"}))
    assert isinstance(decision, Revalidate) and decision.fwd == "request"


def test_s5_4_request_pragma_no_cache_revalidates(lab):
    entry = lab.entry({"Cache-Control": "max-age=600", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 1, lab.request({"Pragma": "no-cache"}))
    assert isinstance(decision, Revalidate)


def test_s5_2_1_1_request_max_age_refuses_older_responses(lab):
    entry = lab.entry({"Cache-Control": "max-age=600", "ETag": '"v"'})
    request = lab.request({"Cache-Control": "max-age=10"})
    assert isinstance(lab.decide([entry], lab.T0 + 10, request), Hit)
    assert isinstance(lab.decide([entry], lab.T0 + 11, request), Revalidate)


def test_s5_2_1_3_min_fresh_requires_remaining_freshness(lab):
    entry = lab.entry({"Cache-Control": "max-age=600", "ETag": '"v"'})
    request = lab.request({"Cache-Control": "min-fresh=100"})
    assert isinstance(lab.decide([entry], lab.T0 + 500, request), Hit)
    assert isinstance(lab.decide([entry], lab.T0 + 501, request), Revalidate)


def test_s5_2_1_7_only_if_cached_serves_fresh_entries(lab):
    entry = lab.entry({"Cache-Control": "max-age=600"})
    request = lab.request({"Cache-Control": "only-if-cached"})
    assert isinstance(lab.decide([entry], lab.T0 + 5, request), Hit)


def test_s5_2_1_7_only_if_cached_with_nothing_stored_is_504(lab):
    request = lab.request({"Cache-Control": "only-if-cached"})
    assert lab.decide([], lab.T0, request) == OnlyIfCachedMiss()


def test_s5_2_1_7_only_if_cached_with_only_a_stale_entry_is_504(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v"'})
    request = lab.request({"Cache-Control": "only-if-cached"})
    assert lab.decide([entry], lab.T0 + 61, request) == OnlyIfCachedMiss()


def test_s5_2_1_7_only_if_cached_with_max_stale_serves_stale(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    request = lab.request({"Cache-Control": "only-if-cached, max-stale"})
    assert isinstance(lab.decide([entry], lab.T0 + 61, request), Hit)
