"""RFC 9111 §4.4: invalidating stored responses after unsafe requests."""

from __future__ import annotations

import pytest

from cdn.http import Bypass, Headers, Pass, Response, absorb, invalidated_targets, is_unsafe


def _targets(method="POST", status=200, target="/a", fields=(), host="example.com", scheme="http"):
    return invalidated_targets(method, status, target, Headers(fields), scheme=scheme, host=host)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "PURGE"])
def test_s4_4_unsafe_methods_invalidate_the_target_uri(method):
    assert _targets(method=method) == ("/a",)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE"])
def test_s4_4_safe_methods_invalidate_nothing(method):
    assert not is_unsafe(method)
    assert _targets(method=method) == ()


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_s4_4_error_responses_invalidate_nothing(status):
    assert _targets(status=status) == ()


@pytest.mark.parametrize("status", [200, 201, 204, 301, 303])
def test_s4_4_non_error_responses_invalidate(status):
    assert _targets(status=status) == ("/a",)


def test_s4_4_same_origin_location_is_invalidated():
    assert _targets(fields={"Location": "http://example.com/b?x=1"}) == ("/a", "/b?x=1")


def test_s4_4_relative_location_and_content_location_are_resolved():
    fields = {"Location": "b", "Content-Location": "/c"}
    assert _targets(target="/dir/a", fields=fields) == ("/dir/a", "/dir/b", "/c")


def test_s4_4_default_port_and_host_case_count_as_same_origin():
    assert _targets(fields={"Location": "http://EXAMPLE.com:80/b"}) == ("/a", "/b")


def test_s4_4_other_host_location_is_not_invalidated():
    assert _targets(fields={"Location": "http://evil.example/b"}) == ("/a",)


def test_s4_4_other_scheme_location_is_not_invalidated():
    assert _targets(fields={"Location": "https://example.com/b"}) == ("/a",)


def test_s4_4_absorb_reports_targets_to_invalidate_for_a_bypassed_unsafe_request(lab):
    request = lab.request({"Content-Location": "x"}, method="PUT", target="/items/1")
    decision = lab.decide([], lab.T0, request)
    assert isinstance(decision, Bypass) and decision.fwd == "method"
    response = Response(201, Headers({"Location": "/items/2"}), 0)
    outcome = absorb(request, lab.key("/items/1"), decision, response, lab.T0, lab.T0, lab.config)
    assert outcome == Pass(reason="method", invalidate=("/items/1", "/items/2"))
