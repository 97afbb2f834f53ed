"""A CloudFront Function's answer (event 1.0): request changes, generated responses, refusals."""

from __future__ import annotations

import copy
from typing import Any

from function_samples import sample_input

from cdn.functions import (
    ChangedResponse,
    ContinueRequest,
    EdgeRequest,
    FunctionFailed,
    FunctionInput,
    GeneratedResponse,
    Trigger,
    cloudfront_function_event,
    read_cloudfront_function_answer,
)


def shown(trigger: Trigger) -> dict[str, Any]:
    return copy.deepcopy(cloudfront_function_event(trigger, sample_input(trigger)))


def answer(trigger: Trigger, returned: Any):
    return read_cloudfront_function_answer(trigger, sample_input(trigger), returned)


def test_unchanged_request_keeps_query_and_cookies() -> None:
    result = answer(Trigger.VIEWER_REQUEST, shown(Trigger.VIEWER_REQUEST)["request"])
    assert isinstance(result, ContinueRequest)
    assert result.request.querystring == "size=large&tag=a&tag=b"
    assert ("cookie", "session=abc; theme=dark") in result.request.headers


def test_querystring_object_is_written_back_in_its_order() -> None:
    request = shown(Trigger.VIEWER_REQUEST)["request"]
    request["querystring"] = {"b": {"value": "2"}, "a": {"value": "1"}}
    result = answer(Trigger.VIEWER_REQUEST, request)
    assert isinstance(result, ContinueRequest) and result.request.querystring == "b=2&a=1"


def test_status_code_object_is_a_generated_response() -> None:
    returned = {"statusCode": 302, "headers": {"location": {"value": "/x"}}}
    result = answer(Trigger.VIEWER_REQUEST, returned)
    assert isinstance(result, GeneratedResponse)
    assert result.response.status == 302 and ("location", "/x") in result.response.headers
    assert not result.cacheable


def test_changing_the_method_is_refused() -> None:
    request = shown(Trigger.VIEWER_REQUEST)["request"]
    request["method"] = "DELETE"
    result = answer(Trigger.VIEWER_REQUEST, request)
    assert isinstance(result, FunctionFailed) and result.status == 502


def test_adding_a_disallowed_header_is_refused() -> None:
    request = shown(Trigger.VIEWER_REQUEST)["request"]
    request["headers"]["x-real-ip"] = {"value": "1.2.3.4"}
    result = answer(Trigger.VIEWER_REQUEST, request)
    assert isinstance(result, FunctionFailed) and "disallowed" in result.message


def test_response_cookies_become_set_cookie_headers() -> None:
    response = shown(Trigger.VIEWER_RESPONSE)["response"]
    response["cookies"]["ab"] = {"value": "b", "attributes": "Path=/"}
    result = answer(Trigger.VIEWER_RESPONSE, response)
    assert isinstance(result, ChangedResponse)
    assert ("set-cookie", "ab=b; Path=/") in result.response.headers
    assert ("set-cookie", "seen=1; Path=/; Secure") in result.response.headers


def test_response_headers_hidden_from_the_function_travel_on() -> None:
    result = answer(Trigger.VIEWER_RESPONSE, shown(Trigger.VIEWER_RESPONSE)["response"])
    assert isinstance(result, ChangedResponse)
    assert ("X-Cache", "Miss from cloudfront") in result.response.headers


def test_generated_response_over_40kb_is_refused() -> None:
    result = answer(Trigger.VIEWER_REQUEST, {"statusCode": 200, "body": "x" * 41_000})
    assert isinstance(result, FunctionFailed) and result.status == 502


def test_origin_triggers_are_refused() -> None:
    result = read_cloudfront_function_answer(
        Trigger.ORIGIN_REQUEST, sample_input(Trigger.ORIGIN_REQUEST), {}
    )
    assert isinstance(result, FunctionFailed)


def test_headers_returned_as_shown_keep_the_names_the_viewer_sent() -> None:
    request = EdgeRequest("GET", "/a", "", (("Host", "cdn.example"), ("Accept", "*/*")))
    given = FunctionInput(request, "r1")
    returned = cloudfront_function_event(Trigger.VIEWER_REQUEST, given)["request"]
    result = read_cloudfront_function_answer(Trigger.VIEWER_REQUEST, given, returned)
    assert isinstance(result, ContinueRequest)
    assert result.request.headers == (("Host", "cdn.example"), ("Accept", "*/*"))


def test_a_changed_header_is_written_back_lower_cased() -> None:
    request = EdgeRequest("GET", "/a", "", (("Host", "cdn.example"), ("Accept", "*/*")))
    given = FunctionInput(request, "r1")
    returned = cloudfront_function_event(Trigger.VIEWER_REQUEST, given)["request"]
    returned["headers"]["accept"] = {"value": "text/html"}
    result = read_cloudfront_function_answer(Trigger.VIEWER_REQUEST, given, returned)
    assert isinstance(result, ContinueRequest)
    assert result.request.headers == (("host", "cdn.example"), ("accept", "text/html"))
