"""A function that returns what it was shown changes nothing: for every request and response.

Equivalences over generated inputs (Hypothesis): building the event and reading back the
unchanged answer gives the same request or response, headers compared per name in order
(HTTP gives no meaning to the order of different names), hidden headers kept.
"""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from cdn.functions import (
    ChangedResponse,
    ContinueRequest,
    EdgeRequest,
    EdgeResponse,
    FunctionInput,
    OriginTarget,
    Trigger,
    cloudfront_function_event,
    lambda_edge_event,
    read_cloudfront_function_answer,
    read_lambda_edge_answer,
)
from cdn.functions.events import parse_querystring

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
NAMES = st.sampled_from(
    [
        "Accept",
        "accept",
        "User-Agent",
        "X-Custom",
        "Cookie",
        "Host",
        "X-Forwarded-Proto",
        "X-Amz-Cf-Id",
        "Via",
    ]
)
VALUES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=;/,. ", max_size=20).map(str.strip)
HEADERS = st.lists(st.tuples(NAMES, VALUES), max_size=8).map(tuple)
QUERY = st.lists(st.tuples(TOKEN, st.text(alphabet="abc123%", max_size=5)), max_size=5).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)
REQUESTS = st.builds(
    EdgeRequest,
    method=st.sampled_from(["GET", "HEAD", "POST"]),
    uri=TOKEN.map(lambda t: "/" + t),
    querystring=QUERY,
    headers=HEADERS,
    client_ip=st.just("203.0.113.9"),
)
RESPONSE_NAMES = st.sampled_from(
    ["Content-Type", "Cache-Control", "Set-Cookie", "ETag", "X-Cache", "Via"]
)
RESPONSES = st.builds(
    EdgeResponse,
    status=st.integers(200, 599),
    headers=st.lists(st.tuples(RESPONSE_NAMES, VALUES), max_size=6).map(tuple),
    status_description=st.just("Status"),
)
ORIGIN = OriginTarget("origin", "origin", 8100)


def by_name(headers: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def grouped(querystring: str) -> dict[str, list[str]]:
    """Query parameters by (case-sensitive) name, values in order."""
    result: dict[str, list[str]] = {}
    for name, value in parse_querystring(querystring):
        result.setdefault(name, []).append(value)
    return result


@given(request=REQUESTS, trigger=st.sampled_from([Trigger.VIEWER_REQUEST, Trigger.ORIGIN_REQUEST]))
def test_lambda_edge_request_round_trips(request: EdgeRequest, trigger: Trigger) -> None:
    given_input = FunctionInput(request, "r", origin=ORIGIN)
    shown = lambda_edge_event(trigger, given_input)["Records"][0]["cf"]["request"]
    result = read_lambda_edge_answer(trigger, given_input, copy.deepcopy(shown), {"origin": ORIGIN})
    assert isinstance(result, ContinueRequest) and result.origin is None
    back = result.request
    assert (back.method, back.uri, back.querystring) == (
        request.method,
        request.uri,
        request.querystring,
    )
    assert by_name(back.headers) == by_name(request.headers)


@given(
    response=RESPONSES, trigger=st.sampled_from([Trigger.ORIGIN_RESPONSE, Trigger.VIEWER_RESPONSE])
)
def test_lambda_edge_response_round_trips(response: EdgeResponse, trigger: Trigger) -> None:
    given_input = FunctionInput(EdgeRequest("GET", "/"), "r", response=response, origin=ORIGIN)
    shown = lambda_edge_event(trigger, given_input)["Records"][0]["cf"]["response"]
    result = read_lambda_edge_answer(trigger, given_input, copy.deepcopy(shown))
    assert isinstance(result, ChangedResponse)
    assert result.response.status == response.status and result.response.body is None
    assert by_name(result.response.headers) == by_name(response.headers)


@given(request=REQUESTS)
def test_cloudfront_function_request_round_trips_up_to_grouping(request: EdgeRequest) -> None:
    given_input = FunctionInput(request, "r")
    shown = cloudfront_function_event(Trigger.VIEWER_REQUEST, given_input)["request"]
    result = read_cloudfront_function_answer(
        Trigger.VIEWER_REQUEST, given_input, copy.deepcopy(shown)
    )
    assert isinstance(result, ContinueRequest)
    back = result.request
    assert back.uri == request.uri
    assert grouped(back.querystring) == grouped(request.querystring)
    want = by_name(request.headers)
    got = by_name(back.headers)
    cookies_in = [
        part.strip()
        for value in want.pop("cookie", [])
        for part in value.split(";")
        if part.strip()
    ]
    cookies_out = [
        part.strip() for value in got.pop("cookie", []) for part in value.split(";") if part.strip()
    ]
    assert got == want
    # Cookie names are shown trimmed ("a =1" is cookie "a"), as parse_cookie_header reads them.
    assert sorted(c.partition("=")[0].strip() for c in cookies_out) == sorted(
        c.partition("=")[0].strip() for c in cookies_in
    )
