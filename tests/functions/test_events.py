"""Events in CloudFront's shapes: a golden file per trigger, compared field by field, and the shape rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from function_samples import SAMPLE_REQUEST, sample_input

from cdn.functions import (
    EdgeRequest,
    FunctionInput,
    Trigger,
    cloudfront_function_event,
    lambda_edge_event,
)

GOLDEN = Path(__file__).parent / "golden"


def field_differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every path where ``actual`` differs from ``expected`` (missing, extra, or other value)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = [f"{path}.{key}: missing" for key in expected if key not in actual]
        problems += [f"{path}.{key}: unexpected" for key in actual if key not in expected]
        for key in expected.keys() & actual.keys():
            problems += field_differences(expected[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(actual)} items, expected {len(expected)}"]
        problems = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            problems += field_differences(want, got, f"{path}[{index}]")
        return problems
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: {actual!r}, expected {expected!r}"]
    return []


@pytest.mark.parametrize("trigger", list(Trigger), ids=str)
def test_lambda_edge_event_matches_its_golden_file(trigger: Trigger) -> None:
    golden = json.loads((GOLDEN / f"lambda-edge-{trigger}.json").read_text())
    assert field_differences(golden, lambda_edge_event(trigger, sample_input(trigger))) == []


@pytest.mark.parametrize("trigger", [Trigger.VIEWER_REQUEST, Trigger.VIEWER_RESPONSE], ids=str)
def test_cloudfront_function_event_matches_its_golden_file(trigger: Trigger) -> None:
    golden = json.loads((GOLDEN / f"cloudfront-function-{trigger}.json").read_text())
    assert (
        field_differences(golden, cloudfront_function_event(trigger, sample_input(trigger))) == []
    )


def _cf(trigger: Trigger) -> dict[str, Any]:
    return lambda_edge_event(trigger, sample_input(trigger))["Records"][0]["cf"]


def test_lambda_headers_are_lower_case_names_with_original_keys() -> None:
    headers = _cf(Trigger.VIEWER_REQUEST)["request"]["headers"]
    assert headers["user-agent"] == [{"key": "User-Agent", "value": "curl/8.5.0"}]


def test_lambda_headers_keep_one_item_per_occurrence() -> None:
    request = EdgeRequest("GET", "/", headers=(("Accept", "a"), ("accept", "b")))
    event = lambda_edge_event(Trigger.VIEWER_REQUEST, FunctionInput(request, "r"))
    assert event["Records"][0]["cf"]["request"]["headers"]["accept"] == [
        {"key": "Accept", "value": "a"},
        {"key": "accept", "value": "b"},
    ]


def test_disallowed_headers_are_never_shown() -> None:
    headers = _cf(Trigger.ORIGIN_REQUEST)["request"]["headers"]
    assert "x-forwarded-proto" not in headers and "x-amz-cf-id" not in headers


def test_lambda_status_is_a_string() -> None:
    assert _cf(Trigger.ORIGIN_RESPONSE)["response"]["status"] == "200"


def test_lambda_querystring_is_empty_string_when_absent() -> None:
    event = lambda_edge_event(Trigger.VIEWER_REQUEST, FunctionInput(EdgeRequest("GET", "/"), "r"))
    assert event["Records"][0]["cf"]["request"]["querystring"] == ""


@pytest.mark.parametrize("trigger", list(Trigger), ids=str)
def test_origin_appears_only_in_origin_events(trigger: Trigger) -> None:
    assert ("origin" in _cf(trigger)["request"]) is (not trigger.is_viewer)


@pytest.mark.parametrize("trigger", list(Trigger), ids=str)
def test_response_appears_only_in_response_events(trigger: Trigger) -> None:
    assert ("response" in _cf(trigger)) is (not trigger.is_request)


def test_request_body_is_shown_base64_and_truncated_at_the_viewer_cap() -> None:
    request = EdgeRequest("POST", "/", body=b"x" * (40 * 1024 + 5))
    event = lambda_edge_event(Trigger.VIEWER_REQUEST, FunctionInput(request, "r"))
    body = event["Records"][0]["cf"]["request"]["body"]
    assert body["inputTruncated"] is True
    assert body["encoding"] == "base64" and body["action"] == "read-only"


def test_request_without_body_shows_no_body_field() -> None:
    assert "body" not in _cf(Trigger.VIEWER_REQUEST)["request"]


def test_response_event_without_response_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a response"):
        lambda_edge_event(Trigger.VIEWER_RESPONSE, FunctionInput(SAMPLE_REQUEST, "r"))


def test_cloudfront_function_event_has_version_1_0() -> None:
    event = cloudfront_function_event(Trigger.VIEWER_REQUEST, sample_input(Trigger.VIEWER_REQUEST))
    assert event["version"] == "1.0"


def test_cloudfront_function_duplicates_fold_into_multivalue() -> None:
    event = cloudfront_function_event(Trigger.VIEWER_REQUEST, sample_input(Trigger.VIEWER_REQUEST))
    assert event["request"]["querystring"]["tag"] == {
        "value": "a",
        "multiValue": [{"value": "a"}, {"value": "b"}],
    }


def test_cloudfront_function_cookies_are_split_out_of_headers() -> None:
    event = cloudfront_function_event(Trigger.VIEWER_REQUEST, sample_input(Trigger.VIEWER_REQUEST))
    assert "cookie" not in event["request"]["headers"]
    assert event["request"]["cookies"]["theme"] == {"value": "dark"}


def test_cloudfront_function_status_code_is_an_int() -> None:
    event = cloudfront_function_event(
        Trigger.VIEWER_RESPONSE, sample_input(Trigger.VIEWER_RESPONSE)
    )
    assert event["response"]["statusCode"] == 200


def test_cloudfront_function_set_cookie_attributes_are_kept() -> None:
    event = cloudfront_function_event(
        Trigger.VIEWER_RESPONSE, sample_input(Trigger.VIEWER_RESPONSE)
    )
    assert event["response"]["cookies"]["seen"] == {"value": "1", "attributes": "Path=/; Secure"}


def test_cloudfront_function_event_refuses_origin_triggers() -> None:
    with pytest.raises(ValueError, match="viewer triggers only"):
        cloudfront_function_event(Trigger.ORIGIN_REQUEST, sample_input(Trigger.ORIGIN_REQUEST))
