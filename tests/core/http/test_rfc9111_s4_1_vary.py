"""RFC 9111 §4.1: secondary keys from Vary, and choosing among stored variants."""

from __future__ import annotations

from cdn.http import Headers, Hit, Miss, Pass, secondary_key, select_variant, vary_names


def test_s4_1_vary_names_are_lowercased_sorted_and_combined():
    headers = Headers([("Vary", "Accept-Language, accept-encoding"), ("Vary", "Origin")])
    assert vary_names(headers) == ("accept-encoding", "accept-language", "origin")


def test_s4_1_no_vary_gives_the_empty_variant():
    assert secondary_key(vary_names(Headers()), Headers({"Accept": "x"})) == ()


def test_s4_1_secondary_key_holds_the_selecting_request_values():
    key = secondary_key(("accept-encoding",), Headers({"Accept-Encoding": "gzip"}))
    assert key == (("accept-encoding", "gzip"),)


def test_s4_1_absent_selecting_field_is_recorded_as_none():
    assert secondary_key(("accept-language",), Headers()) == (("accept-language", None),)


def test_s4_1_whitespace_and_multiple_lines_are_normalized():
    one = secondary_key(("accept-encoding",), Headers({"Accept-Encoding": "gzip,   br"}))
    two = secondary_key(
        ("accept-encoding",), Headers([("Accept-Encoding", "gzip"), ("Accept-Encoding", " br")])
    )
    assert one == two == (("accept-encoding", "gzip, br"),)


def test_s4_1_case_insensitive_fields_are_lowercased():
    upper = secondary_key(("accept-language",), Headers({"Accept-Language": "EN-GB"}))
    assert upper == (("accept-language", "en-gb"),)


def test_s4_1_case_sensitive_fields_keep_their_case():
    key = secondary_key(("cookie",), Headers({"Cookie": "Session=ABC"}))
    assert key == (("cookie", "Session=ABC"),)


def test_s4_1_matching_variant_is_a_hit(lab):
    gzip = lab.request({"Accept-Encoding": "gzip"})
    entry = lab.entry({"Cache-Control": "max-age=60", "Vary": "Accept-Encoding"}, request=gzip)
    assert isinstance(
        lab.decide([entry], lab.T0 + 1, lab.request({"Accept-Encoding": "gzip"})), Hit
    )


def test_s4_1_non_matching_variant_is_a_vary_miss(lab):
    gzip = lab.request({"Accept-Encoding": "gzip"})
    entry = lab.entry({"Cache-Control": "max-age=60", "Vary": "Accept-Encoding"}, request=gzip)
    decision = lab.decide([entry], lab.T0 + 1, lab.request({"Accept-Encoding": "br"}))
    assert isinstance(decision, Miss) and decision.fwd == "vary-miss"


def test_s4_1_field_absent_in_both_requests_matches(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "Vary": "Accept-Language"})
    assert isinstance(lab.decide([entry], lab.T0 + 1), Hit)


def test_s4_1_field_present_in_only_one_request_does_not_match(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "Vary": "Accept-Language"})
    decision = lab.decide([entry], lab.T0 + 1, lab.request({"Accept-Language": "fr"}))
    assert isinstance(decision, Miss)


def test_s4_1_each_variant_is_selected_by_its_own_request(lab):
    fr = lab.entry(
        {"Cache-Control": "max-age=60", "Vary": "Accept-Language"},
        request=lab.request({"Accept-Language": "fr"}),
    )
    de = lab.entry(
        {"Cache-Control": "max-age=60", "Vary": "Accept-Language"},
        request=lab.request({"Accept-Language": "de"}),
    )
    assert lab.decide([fr, de], lab.T0 + 1, lab.request({"Accept-Language": "de"})).entry is de
    assert lab.decide([fr, de], lab.T0 + 1, lab.request({"Accept-Language": "fr"})).entry is fr


def test_s4_1_most_recent_matching_variant_wins_by_date(lab):
    old = lab.entry({"Cache-Control": "max-age=600"}, date=lab.T0 - 100)
    new = lab.entry({"Cache-Control": "max-age=600"}, date=lab.T0)
    assert select_variant([old, new], Headers())[0] is new
    assert lab.decide([old, new], lab.T0 + 1).entry is new


def test_s4_1_same_date_falls_back_to_receipt_time(lab):
    first = lab.entry({"Cache-Control": "max-age=600"}, response_time=lab.T0)
    second = lab.entry(
        {"Cache-Control": "max-age=600"}, request_time=lab.T0 + 1, response_time=lab.T0 + 1
    )
    assert select_variant([second, first], Headers())[0] is second


def test_s4_1_vary_star_is_never_stored(lab):
    outcome = lab.fetch({"Cache-Control": "max-age=60", "Vary": "*"})
    assert isinstance(outcome, Pass) and outcome.reason == "vary-star"


def test_s4_1_vary_star_among_names_counts_as_star():
    assert vary_names(Headers({"Vary": "Accept, *"})) == ("*",)


def test_s4_1_variant_with_star_never_matches():
    from cdn.http.vary import VARY_STAR, variant_matches

    assert variant_matches(VARY_STAR, Headers()) is False
