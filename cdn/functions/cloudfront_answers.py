"""A CloudFront Function's return value (event format 1.0), validated and turned into typed values.

Rules (../shared/reference/edge-functions.md, "CloudFront Functions"):
- viewer-request returns the request (go on) or a response (an object with ``statusCode``:
  short-circuit, no cache lookup, no origin); viewer-response returns the response;
- only ``request.method`` is read-only; headers, query string and cookies come back as
  ``{name: {"value", "multiValue"?}}`` and are written out again (``multiValue`` wins);
- cookies become one ``Cookie`` header (request) or one ``Set-Cookie`` per cookie (response);
- the same header, uri, query string, status and size checks as Lambda@Edge; failures are
  FunctionFailed(INVALID) (502).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdn.functions.header_rules import is_disallowed, same_headers, visible
from cdn.functions.results import (
    ChangedResponse,
    ContinueRequest,
    FailureKind,
    FunctionFailed,
    GeneratedResponse,
    TriggerResult,
)
from cdn.functions.triggers import Trigger
from cdn.functions.validation import (
    InvalidAnswer,
    check_generated_size,
    check_headers,
    check_no_disallowed,
    check_querystring,
    check_status,
    check_uri,
    decode_body,
)
from cdn.functions.values import EdgeRequest, EdgeResponse, FunctionInput, Header

__all__ = [
    "check_method",
    "read_cloudfront_function_answer",
    "read_viewer_request_changes",
    "request_headers",
    "request_querystring",
    "unfold",
]


def unfold(folded: Any, what: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, item) pairs from ``{name: {"value", "multiValue"?}}``; ``multiValue`` wins."""
    if folded is None:
        return []
    if not isinstance(folded, Mapping):
        raise InvalidAnswer(f"{what} is not an object")
    pairs = []
    for name, entry in folded.items():
        if type(entry) is dict and "multiValue" not in entry and type(entry.get("value")) is str:
            pairs.append((str(name), dict(entry)))  # the common shape, checked at once
            continue
        if not isinstance(entry, Mapping):
            raise InvalidAnswer(f"{what} {name!r} is not an object with a value")
        items = entry.get("multiValue") or [entry]
        for item in items:
            if not isinstance(item, Mapping) or not isinstance(item.get("value"), str):
                raise InvalidAnswer(f"{what} {name!r} has no string value")
            pairs.append((str(name), dict(item)))
    return pairs


def _values(folded: Any, what: str) -> list[tuple[str, str]]:
    """(name, value) pairs of ``{name: {"value", "multiValue"?}}`` (``unfold`` without the
    items' other fields)."""
    if type(folded) is dict:
        pairs = []
        for name, entry in folded.items():
            if type(entry) is not dict or "multiValue" in entry:
                break
            value = entry.get("value")
            if type(value) is not str:
                break
            pairs.append((str(name), value))
        else:
            return pairs  # the common shape, checked at once
    return [(name, item["value"]) for name, item in unfold(folded, what)]


def _headers(folded: Any) -> tuple[Header, ...]:
    return tuple(_values(folded, "header"))


def _request(given: FunctionInput, answer: Mapping[str, Any]) -> ContinueRequest:
    request = given.request
    uri, querystring, headers = _request_parts(request, answer)
    return ContinueRequest(
        EdgeRequest(request.method, uri, querystring, headers, request.client_ip, request.body)
    )


def read_viewer_request_changes(
    given: FunctionInput, answer: Any
) -> tuple[str, str, tuple[Header, ...]] | None:
    """The (uri, querystring, headers) a viewer-request CloudFront Function's ``answer`` lets
    the request go on with, checked as ``read_cloudfront_function_answer`` checks them, without
    building its ContinueRequest (the edge's wire fast path); None when that would not be a
    ContinueRequest (a generated response, an invalid answer: the full path answers those)."""
    if type(answer) is not dict or "statusCode" in answer:
        return None
    try:
        return _request_parts(given.request, answer)
    except InvalidAnswer:
        return None


def _request_parts(
    request: EdgeRequest, answer: Mapping[str, Any]
) -> tuple[str, str, tuple[Header, ...]]:
    check_method(request, answer)
    uri = check_uri(answer.get("uri", request.uri))
    querystring = request_querystring(answer.get("querystring"), uri)
    headers = request_headers(request, answer.get("headers"), answer.get("cookies"))
    return uri, querystring, headers


def check_method(request: EdgeRequest, answer: Mapping[str, Any]) -> None:
    """Raise InvalidAnswer when ``answer`` changes the read-only ``method``."""
    if "method" in answer and answer["method"] != request.method:
        raise InvalidAnswer(
            f"method is read-only (was {request.method!r}, got {answer['method']!r})"
        )


def request_querystring(folded: Any, uri: str) -> str:
    """The query string a viewer-request answer's ``querystring`` object stands for (checked
    with ``uri``: characters and length)."""
    query_pairs = _values(folded, "querystring parameter")
    querystring = (
        "&".join([f"{name}={value}" if value != "" else name for name, value in query_pairs])
        if query_pairs
        else ""
    )
    return check_querystring(querystring, uri)


def request_headers(
    request: EdgeRequest, folded_headers: Any, folded_cookies: Any
) -> tuple[Header, ...]:
    """The header fields a viewer-request answer's ``headers`` and ``cookies`` objects stand
    for, checked against what ``request`` showed (the headers it hid kept, at the end)."""
    headers = _headers(folded_headers)
    shown_list: list[Header] = []
    hidden_list: list[Header] = []
    for pair in request.headers:  # one pass: what the function saw, what it never saw
        if is_disallowed(pair[0]):
            hidden_list.append(pair)
        elif pair[0].lower() != "cookie":
            shown_list.append(pair)
    if len(shown_list) == len(request.headers) and type(request.headers) is tuple:
        shown = request.headers  # nothing hidden, no cookie: the viewer's own tuple
    else:
        shown = tuple(shown_list)
    if same_headers(shown, headers):
        headers = shown  # returned as shown: the names as the viewer sent them
    else:
        check_headers(Trigger.VIEWER_REQUEST, shown, headers)
    if folded_cookies:
        cookies = unfold(folded_cookies, "cookie")
        if cookies:
            cookie = "; ".join([f"{name}={item['value']}" for name, item in cookies])
            headers += (("cookie", cookie),)
    elif (
        folded_cookies is not None
        and type(folded_cookies) is not dict  # the common {}: no ABC isinstance check
        and not isinstance(folded_cookies, Mapping)
    ):
        raise InvalidAnswer("cookie is not an object")
    return headers + tuple(hidden_list) if hidden_list else headers


def _response_headers(answer: Mapping[str, Any]) -> tuple[Header, ...]:
    headers = _headers(answer.get("headers", {}))
    for name, item in unfold(answer.get("cookies", {}), "cookie"):
        attributes = item.get("attributes")
        value = f"{name}={item['value']}" + (f"; {attributes}" if attributes else "")
        headers += (("set-cookie", value),)
    return headers


def _body(answer: Mapping[str, Any]) -> bytes | None:
    body = answer.get("body")
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode("utf-8")
    if not isinstance(body, Mapping):
        raise InvalidAnswer("body is neither a string nor {data, encoding}")
    return decode_body(body.get("data"), body.get("encoding", "text"))


def _generated(answer: Mapping[str, Any]) -> GeneratedResponse:
    status = check_status(answer.get("statusCode"))
    headers = _response_headers(answer)
    check_no_disallowed(headers)
    body = _body(answer)
    check_generated_size(Trigger.VIEWER_REQUEST, status, headers, body)
    description = str(answer.get("statusDescription") or "")
    return GeneratedResponse(
        EdgeResponse(status, headers, description, body), Trigger.VIEWER_REQUEST
    )


def _response(given: FunctionInput, answer: Mapping[str, Any]) -> ChangedResponse:
    assert given.response is not None
    before = given.response
    status = check_status(answer.get("statusCode", before.status))
    headers = _response_headers(answer)
    shown = visible(before.headers)
    check_headers(
        Trigger.VIEWER_RESPONSE,
        tuple(h for h in shown if h[0].lower() != "set-cookie"),
        tuple(h for h in headers if h[0].lower() != "set-cookie"),
    )
    body = _body(answer)
    if body is not None:
        check_generated_size(Trigger.VIEWER_RESPONSE, status, headers, body)
    hidden = tuple(h for h in before.headers if is_disallowed(h[0]))
    description = str(answer.get("statusDescription", before.status_description) or "")
    return ChangedResponse(EdgeResponse(status, headers + hidden, description, body))


def read_cloudfront_function_answer(
    trigger: Trigger, given: FunctionInput, answer: Any
) -> TriggerResult:
    """The typed result of ``answer``, what a CloudFront Function on viewer ``trigger`` returned."""
    try:
        if type(answer) is not dict and not isinstance(answer, Mapping):
            raise InvalidAnswer(f"the function returned {type(answer).__name__}, not an object")
        if trigger is Trigger.VIEWER_REQUEST:
            if "statusCode" in answer:
                return _generated(answer)
            return _request(given, answer)
        if trigger is Trigger.VIEWER_RESPONSE:
            return _response(given, answer)
        raise InvalidAnswer(f"CloudFront Functions do not run on {trigger}")
    except InvalidAnswer as exc:
        return FunctionFailed(FailureKind.INVALID, str(exc))
