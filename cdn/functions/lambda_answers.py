"""A Lambda@Edge function's return value, validated and turned back into typed values.

Rules (../shared/reference/edge-functions.md):
- a request trigger returns the request (go on) or a response (an object with ``status``);
- ``method`` and ``clientIp`` are read-only; a changed ``origin`` (origin-request) selects
  another origin, but only one of ``known_origins`` (by domain name): the edge is never an
  open proxy;
- a request body is replaced only with ``body.action == "replace"``;
- a response trigger returns the response; viewer-response may not change the status;
  a ``body`` on the returned response replaces the body;
- every refusal is a FunctionFailed(INVALID) (502) whose message says what was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cdn.functions.header_rules import is_disallowed, visible
from cdn.functions.results import (
    ChangedResponse,
    ContinueRequest,
    FailureKind,
    FunctionFailed,
    GeneratedResponse,
    TriggerResult,
)
from cdn.functions.triggers import LIMITS, Trigger
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
from cdn.functions.values import EdgeResponse, FunctionInput, Header, OriginTarget

__all__ = ["header_pairs", "read_lambda_edge_answer"]


def header_pairs(headers: Any) -> tuple[Header, ...]:
    """Pairs from Lambda@Edge's header map; a missing ``key`` becomes the Title-Case name."""
    if headers is None:
        return ()
    if not isinstance(headers, Mapping):
        raise InvalidAnswer(f"headers {type(headers).__name__} is not an object")
    pairs: list[Header] = []
    for name, items in headers.items():
        if not isinstance(items, list):
            raise InvalidAnswer(f"header {name!r} is not a list of {{key, value}}")
        for item in items:
            if not isinstance(item, Mapping) or not isinstance(item.get("value"), str):
                raise InvalidAnswer(f"header {name!r} has an item without a string value")
            key = item.get("key") or "-".join(p.capitalize() for p in str(name).split("-"))
            if str(key).lower() != str(name).lower():
                raise InvalidAnswer(f"header key {key!r} does not match its name {name!r}")
            pairs.append((str(key), item["value"]))
    return tuple(pairs)


def _chosen_origin(
    answer: Any, shown: OriginTarget | None, known_origins: Mapping[str, OriginTarget]
) -> OriginTarget | None:
    if not isinstance(answer, Mapping) or shown is None:
        return None
    kind = "custom" if "custom" in answer else "s3" if "s3" in answer else None
    if kind is None or not isinstance(answer[kind], Mapping):
        raise InvalidAnswer("origin has neither a custom nor an s3 object")
    domain = answer[kind].get("domainName")
    if domain == shown.domain_name:
        return None
    if domain not in known_origins:
        names = ", ".join(sorted(known_origins)) or "none"
        raise InvalidAnswer(f"origin {domain!r} is not an origin of this topology (known: {names})")
    return known_origins[domain]


def _request(
    trigger: Trigger,
    given: FunctionInput,
    answer: Mapping[str, Any],
    known_origins: Mapping[str, OriginTarget],
    shown_headers: Mapping[str, Any] | None,
) -> ContinueRequest:
    request = given.request
    for field, before in (("method", request.method), ("clientIp", request.client_ip)):
        if field in answer and answer[field] != before:
            raise InvalidAnswer(f"{field} is read-only (was {before!r}, got {answer[field]!r})")
    uri = check_uri(answer.get("uri", request.uri))
    querystring = check_querystring(answer.get("querystring", request.querystring), uri)
    returned = answer.get("headers", {})
    if shown_headers is not None and returned == shown_headers:
        headers = request.headers  # unchanged: the viewer's fields as they came, in order
    else:
        changed_headers = header_pairs(returned)
        check_headers(trigger, visible(request.headers), changed_headers)
        headers = changed_headers + tuple(h for h in request.headers if is_disallowed(h[0]))
    body = request.body
    returned_body = answer.get("body")
    if isinstance(returned_body, Mapping) and returned_body.get("action") == "replace":
        body = decode_body(returned_body.get("data"), returned_body.get("encoding"))
        if len(body) > LIMITS[trigger].body_bytes:
            raise InvalidAnswer(f"the replaced body is over {LIMITS[trigger].body_bytes} bytes")
    origin = None
    if trigger is Trigger.ORIGIN_REQUEST and "origin" in answer:
        origin = _chosen_origin(answer["origin"], given.origin, known_origins)
    if (
        headers is request.headers
        and uri == request.uri
        and querystring == request.querystring
        and body is request.body
    ):
        return ContinueRequest(request, origin)  # the request goes on as it came
    changed = replace(request, uri=uri, querystring=querystring, headers=headers, body=body)
    return ContinueRequest(changed, origin)


def _generated(trigger: Trigger, answer: Mapping[str, Any]) -> GeneratedResponse:
    status = check_status(answer.get("status"))
    headers = header_pairs(answer.get("headers", {}))
    check_no_disallowed(headers)
    body = decode_body(answer.get("body"), answer.get("bodyEncoding")) if "body" in answer else None
    check_generated_size(trigger, status, headers, body)
    description = answer.get("statusDescription") or ""
    return GeneratedResponse(EdgeResponse(status, headers, str(description), body), trigger)


def _response(trigger: Trigger, given: FunctionInput, answer: Mapping[str, Any]) -> ChangedResponse:
    assert given.response is not None
    before = given.response
    status = check_status(answer.get("status", before.status))
    if trigger is Trigger.VIEWER_RESPONSE and status != before.status:
        raise InvalidAnswer(
            f"viewer-response may not change the status ({before.status} -> {status})"
        )
    headers = header_pairs(answer.get("headers", {}))
    check_headers(trigger, visible(before.headers), headers)
    hidden = tuple(h for h in before.headers if is_disallowed(h[0]))
    body = None
    if "body" in answer:
        body = decode_body(answer.get("body"), answer.get("bodyEncoding"))
        check_generated_size(trigger, status, headers, body)
    description = answer.get("statusDescription", before.status_description) or ""
    return ChangedResponse(EdgeResponse(status, headers + hidden, str(description), body))


def read_lambda_edge_answer(
    trigger: Trigger,
    given: FunctionInput,
    answer: Any,
    known_origins: Mapping[str, OriginTarget] | None = None,
    shown_headers: Mapping[str, Any] | None = None,
) -> TriggerResult:
    """The typed result of ``answer``, what a Lambda@Edge function on ``trigger`` returned.

    ``shown_headers`` is the request's header map as the event showed it (when the caller kept
    the event): a request trigger that returns it unchanged skips re-reading and re-checking
    the headers, and keeps the viewer's fields in their order."""
    try:
        if not isinstance(answer, Mapping):
            raise InvalidAnswer(f"the function returned {type(answer).__name__}, not an object")
        if trigger.is_request:
            if "status" in answer:
                return _generated(trigger, answer)
            return _request(trigger, given, answer, known_origins or {}, shown_headers)
        return _response(trigger, given, answer)
    except InvalidAnswer as exc:
        return FunctionFailed(FailureKind.INVALID, str(exc))
