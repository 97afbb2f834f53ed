"""The CloudFront Functions event, built in one pass, equals the rules written out plainly.

The model below folds each part from the reference's words (disallowed headers hidden, names
lower-cased, Cookie only under ``cookies``, duplicates in ``multiValue`` with the first value
also in ``value``); Hypothesis compares it with ``cloudfront_function_event`` field by field,
types included, over requests with duplicates, case variants, cookies and hidden headers.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from test_events import field_differences
from test_round_trip import REQUESTS, RESPONSES

from cdn.functions import EdgeRequest, EdgeResponse, FunctionInput, Trigger
from cdn.functions import cloudfront_function_event as event_of
from cdn.functions.events import parse_cookie_header, parse_querystring
from cdn.functions.header_rules import is_disallowed


def folded(pairs: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    by_name: dict[str, list[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name, []).append(value)
    result: dict[str, dict[str, Any]] = {}
    for name, values in by_name.items():
        result[name] = {"value": values[0]}
        if len(values) > 1:
            result[name]["multiValue"] = [{"value": value} for value in values]
    return result


def model_request(request: EdgeRequest) -> dict[str, Any]:
    shown = [(name.lower(), value) for name, value in request.headers if not is_disallowed(name)]
    cookies = [c for name, value in shown if name == "cookie" for c in parse_cookie_header(value)]
    return {
        "method": request.method,
        "uri": request.uri,
        "querystring": folded(parse_querystring(request.querystring)),
        "headers": folded([(name, value) for name, value in shown if name != "cookie"]),
        "cookies": folded(cookies),
    }


@given(REQUESTS)
def test_viewer_request_event_is_the_model_field_by_field(request: EdgeRequest) -> None:
    event = event_of(Trigger.VIEWER_REQUEST, FunctionInput(request, "r1"))
    assert field_differences(model_request(request), event["request"]) == []
    assert event["context"]["eventType"] == "viewer-request"
    assert type(event["context"]["eventType"]) is str


@given(REQUESTS, RESPONSES)
def test_viewer_response_event_request_is_the_model_too(
    request: EdgeRequest, response: EdgeResponse
) -> None:
    event = event_of(Trigger.VIEWER_RESPONSE, FunctionInput(request, "r1", response=response))
    assert field_differences(model_request(request), event["request"]) == []


def test_a_duplicate_s_first_value_is_not_shared_with_its_multi_value() -> None:
    request = EdgeRequest("GET", "/", headers=(("Accept", "a"), ("Accept", "b")))
    accept = event_of(Trigger.VIEWER_REQUEST, FunctionInput(request, "r1"))["request"]["headers"][
        "accept"
    ]
    accept["value"] = "changed"
    assert accept["multiValue"][0] == {"value": "a"}
