"""A Lambda@Edge function's answer: changes kept, responses generated, every CloudFront rule a 502."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from function_samples import SAMPLE_ORIGIN, SHIELD, sample_input

from cdn.functions import (
    ChangedResponse,
    ContinueRequest,
    FailureKind,
    FunctionFailed,
    GeneratedResponse,
    Trigger,
    lambda_edge_event,
    read_lambda_edge_answer,
)

KNOWN = {SAMPLE_ORIGIN.domain_name: SAMPLE_ORIGIN, SHIELD.domain_name: SHIELD}


def shown(trigger: Trigger, part: str = "request") -> dict[str, Any]:
    """A copy of the ``part`` the function was shown on ``trigger`` (to edit and return)."""
    cf = lambda_edge_event(trigger, sample_input(trigger))["Records"][0]["cf"]
    return copy.deepcopy(cf[part])


def answer(trigger: Trigger, returned: Any):
    return read_lambda_edge_answer(trigger, sample_input(trigger), returned, KNOWN)


def refused(trigger: Trigger, returned: Any) -> str:
    result = answer(trigger, returned)
    assert isinstance(result, FunctionFailed), result
    assert result.status == 502 and result.kind is FailureKind.INVALID
    return result.message


def test_unchanged_request_goes_on_unchanged() -> None:
    result = answer(Trigger.VIEWER_REQUEST, shown(Trigger.VIEWER_REQUEST))
    assert isinstance(result, ContinueRequest)
    assert result.request == sample_input(Trigger.VIEWER_REQUEST).request


def test_changed_uri_querystring_and_header_are_kept() -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["uri"] = "/new.jpg"
    request["querystring"] = "v=2"
    request["headers"]["x-added"] = [{"key": "X-Added", "value": "1"}]
    result = answer(Trigger.VIEWER_REQUEST, request)
    assert isinstance(result, ContinueRequest)
    assert (result.request.uri, result.request.querystring) == ("/new.jpg", "v=2")
    assert ("X-Added", "1") in result.request.headers


def test_headers_hidden_from_the_function_travel_on() -> None:
    result = answer(Trigger.VIEWER_REQUEST, shown(Trigger.VIEWER_REQUEST))
    assert isinstance(result, ContinueRequest)
    assert ("X-Forwarded-Proto", "https") in result.request.headers


def test_missing_header_key_is_filled_in_title_case() -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["headers"]["x-custom-thing"] = [{"value": "1"}]
    result = answer(Trigger.VIEWER_REQUEST, request)
    assert isinstance(result, ContinueRequest)
    assert ("X-Custom-Thing", "1") in result.request.headers


def test_generated_response_on_viewer_request_is_not_cacheable() -> None:
    result = answer(Trigger.VIEWER_REQUEST, {"status": "302", "headers": {}})
    assert isinstance(result, GeneratedResponse)
    assert result.response.status == 302 and not result.cacheable


def test_generated_response_on_origin_request_is_cacheable() -> None:
    result = answer(Trigger.ORIGIN_REQUEST, {"status": "200", "body": "hi"})
    assert isinstance(result, GeneratedResponse)
    assert result.cacheable and result.response.body == b"hi"


def test_generated_base64_body_is_decoded() -> None:
    result = answer(
        Trigger.VIEWER_REQUEST, {"status": 200, "body": "aGk=", "bodyEncoding": "base64"}
    )
    assert isinstance(result, GeneratedResponse) and result.response.body == b"hi"


@pytest.mark.parametrize("status", ["199", "600", "abc", None, True])
def test_status_outside_200_599_is_refused(status: Any) -> None:
    assert "status" in refused(Trigger.VIEWER_REQUEST, {"status": status})


def test_204_with_a_body_is_refused() -> None:
    assert "204" in refused(Trigger.VIEWER_REQUEST, {"status": "204", "body": "x"})


def test_generated_response_over_40kb_on_viewer_request_is_refused() -> None:
    assert "bytes" in refused(Trigger.VIEWER_REQUEST, {"status": "200", "body": "x" * 41_000})


def test_generated_response_of_41kb_fits_on_origin_request() -> None:
    result = answer(Trigger.ORIGIN_REQUEST, {"status": "200", "body": "x" * 41_000})
    assert isinstance(result, GeneratedResponse)


def test_generated_response_over_1mb_on_origin_request_is_refused() -> None:
    assert "bytes" in refused(Trigger.ORIGIN_REQUEST, {"status": "200", "body": "x" * 1_048_577})


def test_uri_not_starting_with_slash_is_refused() -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["uri"] = "picture.jpg"
    assert "uri" in refused(Trigger.VIEWER_REQUEST, request)


@pytest.mark.parametrize("querystring", ["a=1 2", "a=1#x", "a=\x01"])
def test_querystring_with_space_control_or_hash_is_refused(querystring: str) -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["querystring"] = querystring
    assert "querystring" in refused(Trigger.VIEWER_REQUEST, request)


def test_uri_and_querystring_of_8192_characters_are_refused() -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["uri"] = "/" + "a" * 4095
    request["querystring"] = "q=" + "b" * 4094
    assert "8191" in refused(Trigger.VIEWER_REQUEST, request)


@pytest.mark.parametrize("header", ["x-cache", "x-amz-cf-pop", "x-edge-location", "connection"])
def test_adding_a_disallowed_header_is_refused(header: str) -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["headers"][header] = [{"key": header, "value": "1"}]
    assert "disallowed" in refused(Trigger.VIEWER_REQUEST, request)


def test_disallowed_header_in_a_generated_response_is_refused() -> None:
    headers = {"x-cache": [{"key": "X-Cache", "value": "HIT"}]}
    assert "disallowed" in refused(Trigger.VIEWER_REQUEST, {"status": "200", "headers": headers})


@pytest.mark.parametrize(
    ("trigger", "header"),
    [
        (Trigger.VIEWER_REQUEST, "host"),
        (Trigger.ORIGIN_REQUEST, "if-none-match"),
        (Trigger.ORIGIN_RESPONSE, "via"),
        (Trigger.VIEWER_RESPONSE, "warning"),
    ],
)
def test_changing_a_read_only_header_is_refused(trigger: Trigger, header: str) -> None:
    part = shown(trigger, "request" if trigger.is_request else "response")
    part["headers"][header] = [{"key": header, "value": "changed"}]
    assert "read-only" in refused(trigger, part)


def test_removing_a_read_only_header_is_refused() -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    del request["headers"]["host"]
    assert "read-only" in refused(Trigger.VIEWER_REQUEST, request)


def test_header_key_not_matching_its_name_is_refused() -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["headers"]["x-a"] = [{"key": "X-B", "value": "1"}]
    assert "does not match" in refused(Trigger.VIEWER_REQUEST, request)


def test_changing_the_method_is_refused() -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["method"] = "POST"
    assert "read-only" in refused(Trigger.VIEWER_REQUEST, request)


def test_returning_nothing_is_refused() -> None:
    assert "NoneType" in refused(Trigger.VIEWER_REQUEST, None)


def test_origin_request_may_choose_a_known_origin() -> None:
    request = shown(Trigger.ORIGIN_REQUEST)
    request["origin"]["custom"]["domainName"] = "shield-fra"
    result = answer(Trigger.ORIGIN_REQUEST, request)
    assert isinstance(result, ContinueRequest) and result.origin == SHIELD


def test_origin_request_keeping_its_origin_chooses_none() -> None:
    result = answer(Trigger.ORIGIN_REQUEST, shown(Trigger.ORIGIN_REQUEST))
    assert isinstance(result, ContinueRequest) and result.origin is None


def test_origin_request_may_not_choose_an_unknown_origin() -> None:
    request = shown(Trigger.ORIGIN_REQUEST)
    request["origin"]["custom"]["domainName"] = "evil.example.com"
    assert "not an origin of this topology" in refused(Trigger.ORIGIN_REQUEST, request)


def test_s3_origin_with_an_unknown_bucket_is_refused() -> None:
    request = shown(Trigger.ORIGIN_REQUEST)
    request["origin"] = {"s3": {"domainName": "bucket.s3.amazonaws.com"}}
    assert "not an origin" in refused(Trigger.ORIGIN_REQUEST, request)


def test_replaced_request_body_is_decoded() -> None:
    request = shown(Trigger.VIEWER_REQUEST)
    request["body"] = {"action": "replace", "encoding": "text", "data": "new"}
    result = answer(Trigger.VIEWER_REQUEST, request)
    assert isinstance(result, ContinueRequest) and result.request.body == b"new"


def test_origin_response_may_change_status_and_add_headers() -> None:
    response = shown(Trigger.ORIGIN_RESPONSE, "response")
    response["status"] = "404"
    response["headers"]["x-frame-options"] = [{"key": "X-Frame-Options", "value": "DENY"}]
    result = answer(Trigger.ORIGIN_RESPONSE, response)
    assert isinstance(result, ChangedResponse)
    assert result.response.status == 404 and ("X-Frame-Options", "DENY") in result.response.headers
    assert result.response.body is None


def test_origin_response_body_replaces_the_body() -> None:
    response = shown(Trigger.ORIGIN_RESPONSE, "response")
    response["body"] = "replaced"
    result = answer(Trigger.ORIGIN_RESPONSE, response)
    assert isinstance(result, ChangedResponse) and result.response.body == b"replaced"


def test_viewer_response_may_not_change_the_status() -> None:
    response = shown(Trigger.VIEWER_RESPONSE, "response")
    response["status"] = "500"
    assert "may not change the status" in refused(Trigger.VIEWER_RESPONSE, response)
