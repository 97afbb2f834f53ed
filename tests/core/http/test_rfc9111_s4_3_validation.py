"""RFC 9111 §4.3: conditional requests (§4.3.1), handling a validation response (§4.3.3),
freshening stored responses from 304 (§4.3.4), client conditionals (§4.3.2), HEAD (§4.3.5)."""

from __future__ import annotations

import pytest

from cdn.http import (
    Freshen,
    Headers,
    Hit,
    Miss,
    Refetch,
    Response,
    Revalidate,
    Store,
    absorb,
    client_not_modified,
    conditional_headers,
    not_modified_headers,
    select_for_freshening,
)
from cdn.http.conditional import strong_match, weak_match

# ---- §4.3.1 sending a validation request ---------------------------------------------------


def test_s4_3_1_revalidation_sends_if_none_match_with_the_stored_etag(lab):
    entry = lab.entry(
        {"Cache-Control": "max-age=60", "ETag": '"v1"', "Last-Modified": lab.date(lab.T0 - 99)}
    )
    decision = lab.decide([entry], lab.T0 + 61)
    assert decision.headers.get("if-none-match") == '"v1"'
    assert "if-modified-since" not in decision.headers


def test_s4_3_1_weak_etags_are_sent_too(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": 'W/"v1"'})
    assert lab.decide([entry], lab.T0 + 61).headers.get("if-none-match") == 'W/"v1"'


def test_s4_3_1_without_etag_if_modified_since_carries_last_modified(lab):
    modified = lab.date(lab.T0 - 99)
    entry = lab.entry({"Cache-Control": "max-age=60", "Last-Modified": modified})
    decision = lab.decide([entry], lab.T0 + 61)
    assert decision.headers.get("if-modified-since") == modified


def test_s4_3_1_all_selected_variants_etags_are_listed(lab):
    a = lab.entry({"Cache-Control": "max-age=60", "ETag": '"a"'}, date=lab.T0)
    b = lab.entry({"Cache-Control": "max-age=60", "ETag": '"b"'}, date=lab.T0 - 5)
    assert conditional_headers([a, b]) == {"If-None-Match": '"a", "b"'}


def test_s4_3_1_clients_own_conditionals_are_replaced_by_the_caches(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v1"'})
    request = lab.request({"If-None-Match": '"client"', "If-Modified-Since": lab.date(lab.T0)})
    decision = lab.decide([entry], lab.T0 + 61, request)
    assert decision.headers.get_all("if-none-match") == ('"v1"',)
    assert "if-modified-since" not in decision.headers


def test_miss_forwards_without_client_conditionals_so_the_full_response_can_be_stored(lab):
    decision = lab.decide([], lab.T0, lab.request({"If-None-Match": '"x"', "Range": "bytes=0-1"}))
    assert isinstance(decision, Miss)
    assert "if-none-match" not in decision.headers and "range" not in decision.headers


def test_request_no_store_miss_keeps_client_conditionals(lab):
    request = lab.request({"Cache-Control": "no-store", "If-None-Match": '"x"'})
    assert lab.decide([], lab.T0, request).headers.get("if-none-match") == '"x"'


def test_forwarded_headers_drop_hop_by_hop_fields(lab):
    request = lab.request({"Connection": "keep-alive, X-Hop", "X-Hop": "1", "TE": "trailers"})
    names = lab.decide([], lab.T0, request).headers.names()
    assert names.isdisjoint({"connection", "x-hop", "te"})


# ---- §4.3.3 / §4.3.4 handling the validation response ------------------------------------


def _revalidate(lab, fields, at):
    entry = lab.entry(fields)
    decision = lab.decide([entry], at)
    assert isinstance(decision, Revalidate)
    return entry, decision


def test_s4_3_4_304_freshens_the_stored_entry(lab):
    entry, decision = _revalidate(
        lab, {"Cache-Control": "max-age=60", "ETag": '"v1"'}, lab.T0 + 100
    )
    not_modified = Response(304, Headers({"ETag": '"v1"', "Date": lab.date(lab.T0 + 100)}), 0)
    outcome = absorb(
        lab.request(), lab.key(), decision, not_modified, lab.T0 + 100, lab.T0 + 101, lab.config
    )
    assert isinstance(outcome, Freshen)
    fresh = outcome.entry
    assert (fresh.request_time, fresh.response_time) == (lab.T0 + 100, lab.T0 + 101)
    assert fresh.is_fresh(lab.T0 + 150)
    assert fresh.size == entry.size and fresh.key == entry.key


def test_s4_3_4_304_fields_replace_stored_fields(lab):
    _, decision = _revalidate(
        lab, {"Cache-Control": "max-age=60", "ETag": '"v1"', "X-Version": "1"}, lab.T0 + 100
    )
    not_modified = Response(
        304, Headers({"ETag": '"v1"', "Cache-Control": "max-age=3600", "X-Version": "2"}), 0
    )
    outcome = absorb(
        lab.request(), lab.key(), decision, not_modified, lab.T0 + 100, lab.T0 + 100, lab.config
    )
    fresh = outcome.entry
    assert fresh.headers.get("x-version") == "2"
    assert fresh.headers.get_all("cache-control") == ("max-age=3600",)
    assert fresh.freshness_lifetime == 3600


def test_s3_2_304_content_length_does_not_replace_the_stored_one(lab):
    _, decision = _revalidate(
        lab, {"Cache-Control": "max-age=60", "ETag": '"v1"', "Content-Length": "100"}, lab.T0 + 100
    )
    not_modified = Response(304, Headers({"ETag": '"v1"', "Content-Length": "0"}), 0)
    outcome = absorb(
        lab.request(), lab.key(), decision, not_modified, lab.T0 + 100, lab.T0 + 100, lab.config
    )
    assert outcome.entry.headers.get("content-length") == "100"


def test_s4_3_4_304_without_age_resets_the_age(lab):
    _, decision = _revalidate(
        lab, {"Cache-Control": "max-age=60", "ETag": '"v1"', "Age": "30"}, lab.T0 + 100
    )
    not_modified = Response(304, Headers({"ETag": '"v1"'}), 0)
    outcome = absorb(
        lab.request(), lab.key(), decision, not_modified, lab.T0 + 200, lab.T0 + 200, lab.config
    )
    assert outcome.entry.current_age(lab.T0 + 200) == 0


def test_s4_3_4_strong_validator_selects_every_entry_with_it(lab):
    a = lab.entry({"Cache-Control": "max-age=1", "ETag": '"same"'})
    b = lab.entry({"Cache-Control": "max-age=1", "ETag": '"same"'})
    c = lab.entry({"Cache-Control": "max-age=1", "ETag": '"other"'})
    assert select_for_freshening([a, b, c], Headers({"ETag": '"same"'})) == [a, b]


def test_s4_3_4_weak_validator_selects_the_most_recent_match(lab):
    old = lab.entry({"Cache-Control": "max-age=1", "ETag": 'W/"w"'}, date=lab.T0 - 10)
    new = lab.entry({"Cache-Control": "max-age=1", "ETag": 'W/"w"'}, date=lab.T0)
    assert select_for_freshening([old, new], Headers({"ETag": 'W/"w"'})) == [new]


def test_s4_3_4_last_modified_selects_the_matching_entry(lab):
    modified = lab.date(lab.T0 - 500)
    a = lab.entry({"Cache-Control": "max-age=1", "Last-Modified": modified})
    b = lab.entry({"Cache-Control": "max-age=1", "Last-Modified": lab.date(lab.T0 - 9)})
    assert select_for_freshening([a, b], Headers({"Last-Modified": modified})) == [a]


def test_s4_3_4_no_validator_selects_the_single_entry_without_validator(lab):
    only = lab.entry({"Cache-Control": "max-age=1"})
    assert select_for_freshening([only], Headers()) == [only]


def test_s4_3_4_no_validator_selects_nothing_among_several_entries(lab):
    a = lab.entry({"Cache-Control": "max-age=1", "ETag": '"a"'})
    b = lab.entry({"Cache-Control": "max-age=1", "ETag": '"b"'})
    assert select_for_freshening([a, b], Headers()) == []


def test_s4_3_4_304_matching_no_entry_asks_for_an_unconditional_refetch(lab):
    _, decision = _revalidate(lab, {"Cache-Control": "max-age=60", "ETag": '"v1"'}, lab.T0 + 100)
    not_modified = Response(304, Headers({"ETag": '"v2"'}), 0)
    outcome = absorb(
        lab.request(), lab.key(), decision, not_modified, lab.T0 + 100, lab.T0 + 100, lab.config
    )
    assert isinstance(outcome, Refetch)
    assert "if-none-match" not in outcome.miss.headers


def test_s4_3_3_full_response_to_revalidation_replaces_the_entry(lab):
    _, decision = _revalidate(lab, {"Cache-Control": "max-age=60", "ETag": '"v1"'}, lab.T0 + 100)
    full = lab.response({"Cache-Control": "max-age=60", "ETag": '"v2"'}, date=lab.T0 + 100)
    outcome = absorb(
        lab.request(), lab.key(), decision, full, lab.T0 + 100, lab.T0 + 100, lab.config
    )
    assert isinstance(outcome, Store) and outcome.entry.etag == '"v2"'


def test_s4_3_4_freshened_entry_is_no_longer_invalidated(lab):
    import dataclasses

    entry = dataclasses.replace(
        lab.entry({"Cache-Control": "max-age=600", "ETag": '"v1"'}), invalidated=True
    )
    decision = lab.decide([entry], lab.T0 + 1)
    assert isinstance(decision, Revalidate)
    outcome = absorb(
        lab.request(),
        lab.key(),
        decision,
        Response(304, Headers({"ETag": '"v1"'}), 0),
        lab.T0 + 1,
        lab.T0 + 1,
        lab.config,
    )
    assert outcome.entry.invalidated is False
    assert isinstance(lab.decide([outcome.entry], lab.T0 + 2), Hit)


# ---- RFC 9110 §8.8.3.2 entity-tag comparison (the RFC's table) -----------------------------


@pytest.mark.parametrize(
    ("a", "b", "strong", "weak"),
    [
        ('W/"1"', 'W/"1"', False, True),
        ('W/"1"', 'W/"2"', False, False),
        ('W/"1"', '"1"', False, True),
        ('"1"', '"1"', True, True),
    ],
)
def test_rfc9110_s8_8_3_2_entity_tag_comparison_table(a, b, strong, weak):
    assert strong_match(a, b) is strong
    assert weak_match(a, b) is weak


# ---- §4.3.2 client conditional requests ----------------------------------------------------


def test_s4_3_2_if_none_match_with_stored_etag_gets_304(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v1"'})
    assert client_not_modified(Headers({"If-None-Match": '"v0", "v1"'}), entry)


def test_s4_3_2_if_none_match_uses_weak_comparison(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v1"'})
    assert client_not_modified(Headers({"If-None-Match": 'W/"v1"'}), entry)


def test_s4_3_2_if_none_match_star_matches_any_entry(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    assert client_not_modified(Headers({"If-None-Match": "*"}), entry)


def test_s4_3_2_if_none_match_mismatch_is_a_full_response_even_if_ims_would_match(lab):
    entry = lab.entry(
        {"Cache-Control": "max-age=60", "ETag": '"v1"', "Last-Modified": lab.date(lab.T0 - 100)}
    )
    request = Headers({"If-None-Match": '"v0"', "If-Modified-Since": lab.date(lab.T0)})
    assert not client_not_modified(request, entry)


def test_s4_3_2_if_modified_since_not_before_last_modified_gets_304(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "Last-Modified": lab.date(lab.T0 - 100)})
    assert client_not_modified(Headers({"If-Modified-Since": lab.date(lab.T0 - 100)}), entry)
    assert not client_not_modified(Headers({"If-Modified-Since": lab.date(lab.T0 - 101)}), entry)


def test_s4_3_2_if_modified_since_without_last_modified_uses_date(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    assert client_not_modified(Headers({"If-Modified-Since": lab.date(lab.T0)}), entry)
    assert not client_not_modified(Headers({"If-Modified-Since": lab.date(lab.T0 - 1)}), entry)


def test_s4_3_2_invalid_if_modified_since_is_ignored(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    assert not client_not_modified(Headers({"If-Modified-Since": "yesterday"}), entry)


def test_304_to_the_client_keeps_only_the_fields_rfc9110_lists(lab):
    entry = lab.entry(
        {
            "Cache-Control": "max-age=60",
            "ETag": '"v"',
            "Content-Type": "text/html",
            "Vary": "Accept",
        }
    )
    names = not_modified_headers(entry.headers).names()
    assert names == {"cache-control", "etag", "vary", "date"}


# ---- §4.3.5 HEAD -------------------------------------------------------------------------


def test_s4_3_5_head_is_answered_from_a_stored_get_response(lab):
    entry = lab.entry({"Cache-Control": "max-age=60"})
    assert isinstance(lab.decide([entry], lab.T0 + 1, lab.request(method="HEAD")), Hit)


def test_s4_3_5_head_miss_is_fetched_as_get_so_it_can_be_stored(lab):
    decision = lab.decide([], lab.T0, lab.request(method="HEAD"))
    assert isinstance(decision, Miss) and decision.method == "GET"
    outcome = lab.fetch({"Cache-Control": "max-age=60"}, request=lab.request(method="HEAD"))
    assert isinstance(outcome, Store)


def test_s4_3_5_head_revalidation_can_freshen_the_get_entry(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v"'})
    head = lab.request(method="HEAD")
    decision = lab.decide([entry], lab.T0 + 100, head)
    assert isinstance(decision, Revalidate) and decision.method == "GET"
    outcome = absorb(
        head,
        lab.key(),
        decision,
        Response(304, Headers({"ETag": '"v"'}), 0),
        lab.T0 + 100,
        lab.T0 + 100,
        lab.config,
    )
    assert isinstance(outcome, Freshen)
