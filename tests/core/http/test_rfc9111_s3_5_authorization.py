"""RFC 9111 §3.5: responses to requests with Authorization in a shared cache."""

from __future__ import annotations

import pytest

from cdn.http import Miss, Pass, Store


def test_s3_5_authorized_request_response_is_not_stored_by_default(lab):
    request = lab.request({"Authorization": "Bearer x"})
    outcome = lab.fetch({"Cache-Control": "max-age=60"}, request=request)
    assert isinstance(outcome, Pass) and outcome.reason == "authorization"


def test_s3_5_authorization_pass_is_not_hit_for_pass(lab):
    request = lab.request({"Authorization": "Bearer x"})
    assert lab.fetch({"Cache-Control": "max-age=60"}, request=request).hit_for_pass is False


@pytest.mark.parametrize("cache_control", ["public", "must-revalidate, max-age=60", "s-maxage=60"])
def test_s3_5_public_must_revalidate_or_s_maxage_allow_storing(lab, cache_control):
    request = lab.request({"Authorization": "Bearer x"})
    outcome = lab.fetch({"Cache-Control": cache_control, "ETag": '"v"'}, request=request)
    assert isinstance(outcome, Store)


def test_s3_5_private_cache_may_store_authorized_responses(make_lab):
    lab = make_lab(shared=False)
    request = lab.request({"Authorization": "Bearer x"})
    assert isinstance(lab.fetch({"Cache-Control": "max-age=60"}, request=request), Store)


def test_authorized_misses_are_not_collapsed(lab):
    decision = lab.decide([], lab.T0, lab.request({"Authorization": "Bearer x"}))
    assert isinstance(decision, Miss) and decision.collapsible is False
