"""RFC 9111 §3: storing responses in a shared cache (and what of them is kept, §3.1)."""

from __future__ import annotations

import pytest

from cdn.http import Bypass, Pass, Store


def test_s3_response_with_max_age_is_stored(lab):
    assert isinstance(lab.fetch({"Cache-Control": "max-age=60"}), Store)


def test_s3_unsafe_method_is_bypassed_and_never_stored(lab):
    request = lab.request(method="POST")
    assert isinstance(lab.decide([], lab.T0, request), Bypass)
    outcome = lab.fetch({"Cache-Control": "max-age=60"}, request=request)
    assert isinstance(outcome, Pass) and outcome.reason == "method"


def test_s3_response_no_store_is_not_stored(lab):
    outcome = lab.fetch({"Cache-Control": "no-store, max-age=60"})
    assert isinstance(outcome, Pass) and outcome.reason == "no-store"


def test_s3_response_no_store_sets_hit_for_pass(lab):
    assert lab.fetch({"Cache-Control": "no-store"}).hit_for_pass is True


def test_s5_2_1_5_request_no_store_prevents_storing(lab):
    request = lab.request({"Cache-Control": "no-store"})
    outcome = lab.fetch({"Cache-Control": "max-age=60"}, request=request)
    assert isinstance(outcome, Pass) and outcome.reason == "request-no-store"
    assert outcome.hit_for_pass is False


def test_s5_2_2_3_must_understand_overrides_no_store_for_understood_status(lab):
    assert isinstance(lab.fetch({"Cache-Control": "must-understand, no-store, max-age=60"}), Store)


def test_s5_2_2_3_must_understand_with_unknown_status_is_not_stored(lab):
    outcome = lab.fetch({"Cache-Control": "must-understand, no-store, max-age=60"}, status=299)
    assert isinstance(outcome, Pass) and outcome.reason == "status"


def test_s3_private_is_not_stored_by_a_shared_cache(lab):
    outcome = lab.fetch({"Cache-Control": "private, max-age=60"})
    assert isinstance(outcome, Pass) and outcome.reason == "private"


def test_s3_private_may_be_stored_by_a_private_cache(make_lab):
    lab = make_lab(shared=False)
    assert isinstance(lab.fetch({"Cache-Control": "private, max-age=60"}), Store)


def test_s5_2_2_7_qualified_private_stores_the_rest_without_those_fields(lab):
    outcome = lab.fetch({"Cache-Control": 'private="X-User", max-age=60', "X-User": "ann"})
    assert isinstance(outcome, Store)
    assert "x-user" not in outcome.entry.headers


def test_s5_2_2_4_qualified_no_cache_fields_are_not_stored(lab):
    outcome = lab.fetch({"Cache-Control": 'no-cache="X-Token", max-age=60', "X-Token": "t"})
    assert isinstance(outcome, Store)
    assert "x-token" not in outcome.entry.headers


@pytest.mark.parametrize("status", [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])
def test_s3_heuristically_cacheable_statuses_are_storable_by_default(lab, status):
    outcome = lab.fetch({"ETag": '"v"'}, status=status)
    assert isinstance(outcome, Store)


@pytest.mark.parametrize("status", [302, 303, 307, 400, 403, 500, 502, 503])
def test_s3_other_statuses_need_explicit_freshness(lab, status):
    outcome = lab.fetch({"ETag": '"v"'}, status=status)
    assert isinstance(outcome, Pass) and outcome.reason == "no-freshness"
    assert isinstance(lab.fetch({"Cache-Control": "max-age=60"}, status=status), Store)


def test_s3_partial_content_is_not_stored(lab):
    outcome = lab.fetch({"Cache-Control": "max-age=60"}, status=206)
    assert isinstance(outcome, Pass) and outcome.reason == "status"


def test_s3_unknown_status_is_not_stored(lab):
    outcome = lab.fetch({"Cache-Control": "max-age=60"}, status=299)
    assert isinstance(outcome, Pass) and outcome.reason == "status"


def test_s3_public_makes_a_non_default_status_storable(lab):
    assert isinstance(lab.fetch({"Cache-Control": "public", "ETag": '"v"'}, status=302), Store)


def test_s3_expires_makes_a_response_storable(lab):
    assert isinstance(lab.fetch({"Expires": lab.date(lab.T0 + 60)}, status=302), Store)


def test_set_cookie_response_is_not_stored_by_default(lab):
    outcome = lab.fetch({"Cache-Control": "max-age=60", "Set-Cookie": "id=1"})
    assert isinstance(outcome, Pass) and outcome.reason == "set-cookie"
    assert outcome.hit_for_pass is True


def test_set_cookie_response_is_stored_when_configured_but_without_the_cookie(make_lab):
    lab = make_lab(store_set_cookie=True)
    outcome = lab.fetch({"Cache-Control": "max-age=60", "Set-Cookie": "id=1"})
    assert isinstance(outcome, Store)
    assert "set-cookie" not in outcome.entry.headers


def test_s3_1_hop_by_hop_and_connection_listed_fields_are_not_stored(lab):
    outcome = lab.fetch(
        {
            "Cache-Control": "max-age=60",
            "Connection": "close, X-Hop",
            "X-Hop": "1",
            "Keep-Alive": "timeout=5",
            "Transfer-Encoding": "chunked",
            "Proxy-Authenticate": "Basic",
            "X-Kept": "yes",
        }
    )
    names = outcome.entry.headers.names()
    assert names.isdisjoint({"connection", "x-hop", "keep-alive", "transfer-encoding"})
    assert "proxy-authenticate" not in names
    assert "x-kept" in names


def test_s3_response_with_no_freshness_and_no_validator_is_not_reusable(lab):
    outcome = lab.fetch({}, status=200)
    assert isinstance(outcome, Pass) and outcome.reason == "not-reusable"


def test_s3_zero_lifetime_response_with_validator_is_stored_for_revalidation(lab):
    outcome = lab.fetch({"Cache-Control": "no-cache", "ETag": '"v"'})
    assert isinstance(outcome, Store)


def test_negative_ttl_makes_a_404_storable_and_fresh(make_lab):
    lab = make_lab(negative_ttl={404: 10})
    outcome = lab.fetch({}, status=404)
    assert isinstance(outcome, Store) and outcome.entry.freshness_lifetime == 10


def test_negative_ttl_does_not_override_explicit_freshness(make_lab):
    lab = make_lab(negative_ttl={404: 10})
    assert lab.fetch({"Cache-Control": "max-age=300"}, status=404).entry.freshness_lifetime == 300


def test_5xx_uncacheable_response_does_not_set_hit_for_pass(lab):
    assert lab.fetch({}, status=503).hit_for_pass is False


def test_surrogate_keys_are_read_from_the_response(lab):
    entry = lab.fetch({"Cache-Control": "max-age=60", "Surrogate-Key": "home  product-7"}).entry
    assert entry.surrogate_keys == frozenset({"home", "product-7"})
