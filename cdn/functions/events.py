"""Events in CloudFront's shapes, built from typed values: Lambda@Edge records and CloudFront Functions 1.0.

Rules (../shared/reference/edge-functions.md):
- Lambda@Edge: ``{"Records": [{"cf": {"config", "request"[, "response"]}}]}``; headers are a
  map of lower-case name -> ``[{"key": "Original-Case", "value": ...}]``, one item per
  occurrence; ``status`` is a string; ``querystring`` is ``""`` when absent; ``origin`` only
  in origin events (a custom origin); ``body`` only when the request has one (shown base64,
  truncated at the trigger's cap with ``inputTruncated``).
- CloudFront Functions: version ``"1.0"``; headers, query string and cookies as
  ``{name: {"value", "multiValue"?}}`` (duplicates fold into ``multiValue``, the first value
  also in ``value``); Cookie / Set-Cookie appear only under ``cookies``; ``statusCode`` an int.
- Disallowed headers are never shown (header_rules.visible).
"""

from __future__ import annotations

import base64
from typing import Any

from cdn.functions.header_rules import is_disallowed, visible
from cdn.functions.triggers import LIMITS, Trigger
from cdn.functions.values import EdgeRequest, EdgeResponse, FunctionInput, Header, OriginTarget

__all__ = [
    "cloudfront_function_event",
    "cloudfront_headers",
    "lambda_edge_event",
    "lambda_headers",
    "parse_cookie_header",
    "parse_querystring",
    "parse_set_cookie",
]


def lambda_headers(headers: tuple[Header, ...]) -> dict[str, list[dict[str, str]]]:
    """Lambda@Edge's header map: lower-case name -> ``[{"key", "value"}]`` in arrival order.

    Keys and values are plain ``str`` (a server's header names may be a ``str`` subclass such
    as multidict's ``istr``): the event is plain data, whatever codec carries it."""
    result: dict[str, list[dict[str, str]]] = {}
    for name, value in visible(headers):
        result.setdefault(name.lower(), []).append({"key": str(name), "value": str(value)})
    return result


def _origin(origin: OriginTarget) -> dict[str, Any]:
    return {
        "custom": {
            "customHeaders": lambda_headers(origin.custom_headers),
            "domainName": origin.domain_name,
            "keepaliveTimeout": origin.keepalive_timeout,
            "path": origin.path,
            "port": origin.port,
            "protocol": origin.protocol,
            "readTimeout": origin.read_timeout,
            "sslProtocols": ["TLSv1.2"],
        }
    }


def _lambda_request(trigger: Trigger, request: EdgeRequest, origin: OriginTarget | None) -> dict:
    shown: dict[str, Any] = {
        "clientIp": request.client_ip,
        "headers": lambda_headers(request.headers),
        "method": request.method,
        "querystring": request.querystring,
        "uri": request.uri,
    }
    if origin is not None and not trigger.is_viewer:
        shown["origin"] = _origin(origin)
    if request.body is not None and trigger.is_request:
        cap = LIMITS[trigger].body_bytes
        shown["body"] = {
            "inputTruncated": len(request.body) > cap,
            "action": "read-only",
            "encoding": "base64",
            "data": base64.b64encode(request.body[:cap]).decode("ascii"),
        }
    return shown


def _lambda_response(response: EdgeResponse) -> dict[str, Any]:
    return {
        "headers": lambda_headers(response.headers),
        "status": str(response.status),
        "statusDescription": response.status_description,
    }


def lambda_edge_event(trigger: Trigger, given: FunctionInput) -> dict[str, Any]:
    """The Lambda@Edge event a function on ``trigger`` receives for ``given``."""
    cf: dict[str, Any] = {
        "config": {
            "distributionDomainName": given.distribution.domain_name,
            "distributionId": given.distribution.distribution_id,
            "eventType": trigger.value,
            "requestId": given.request_id,
        },
        "request": _lambda_request(trigger, given.request, given.origin),
    }
    if not trigger.is_request:
        if given.response is None:
            raise ValueError(f"a {trigger} event needs a response (FunctionInput.response)")
        cf["response"] = _lambda_response(given.response)
    return {"Records": [{"cf": cf}]}


def _fold(pairs: list[tuple[str, dict[str, str]]]) -> dict[str, dict[str, Any]]:
    """CloudFront Functions' ``{name: {"value", "multiValue"?}}`` from (name, item) pairs."""
    folded: dict[str, dict[str, Any]] = {}
    for name, item in pairs:
        entry = folded.get(name)
        if entry is None:
            folded[name] = dict(item)  # the first value, also the first of multiValue
        elif "multiValue" in entry:
            entry["multiValue"].append(item)
        else:
            first = {k: v for k, v in entry.items()}
            entry["multiValue"] = [first, item]
    return folded


def parse_querystring(querystring: str) -> list[tuple[str, str]]:
    """``a=1&b&a=2`` as ``[("a", "1"), ("b", ""), ("a", "2")]`` (values kept as received)."""
    pairs = []
    for part in querystring.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


def parse_cookie_header(value: str) -> list[tuple[str, str]]:
    """``a=1; b=2`` as ``[("a", "1"), ("b", "2")]``."""
    pairs = []
    for part in value.split(";"):
        part = part.strip()
        if part:
            name, _, cookie = part.partition("=")
            pairs.append((name.strip(), cookie.strip()))
    return pairs


def parse_set_cookie(value: str) -> tuple[str, str, str]:
    """``a=1; Path=/; Secure`` as ``("a", "1", "Path=/; Secure")``."""
    first, _, attributes = value.partition(";")
    name, _, cookie = first.partition("=")
    return name.strip(), cookie.strip(), attributes.strip()


def cloudfront_headers(headers: tuple[Header, ...], skip: str) -> dict[str, dict[str, Any]]:
    """CloudFront Functions' header object: lower-case names, duplicates in ``multiValue``."""
    return _fold(
        [
            (name.lower(), {"value": value})
            for name, value in visible(headers)
            if name.lower() != skip
        ]
    )


def _fold_values(pairs: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """``_fold`` of (name, value) pairs as ``{"value": value}`` items (no copy per item)."""
    folded: dict[str, dict[str, Any]] = {}
    for name, value in pairs:
        entry = folded.get(name)
        if entry is None:
            folded[name] = {"value": value}
        elif "multiValue" in entry:
            entry["multiValue"].append({"value": value})
        else:
            entry["multiValue"] = [{"value": entry["value"]}, {"value": value}]
    return folded


# eventType per trigger, as plain strings (a Trigger is a StrEnum: the event holds str).
_EVENT_TYPES = {trigger: trigger.value for trigger in Trigger}
_VIEWER_TRIGGERS = (Trigger.VIEWER_REQUEST, Trigger.VIEWER_RESPONSE)


def cloudfront_function_event(trigger: Trigger, given: FunctionInput) -> dict[str, Any]:
    """The CloudFront Functions (1.0) event a function on viewer ``trigger`` receives."""
    if trigger not in _VIEWER_TRIGGERS:
        raise ValueError(f"CloudFront Functions run on viewer triggers only, not {trigger}")
    request = given.request
    headers: dict[str, dict[str, Any]] = {}
    cookies: list[tuple[str, str]] = []
    for name, value in request.headers:  # one pass: disallowed ones hidden, cookies apart
        if is_disallowed(name):
            continue
        lowered = name.lower()
        if lowered == "cookie":
            cookies += parse_cookie_header(value)
            continue
        entry = headers.get(lowered)  # _fold_values, inline: most requests have no duplicate
        if entry is None:
            headers[lowered] = {"value": value}
        elif "multiValue" in entry:
            entry["multiValue"].append({"value": value})
        else:
            entry["multiValue"] = [{"value": entry["value"]}, {"value": value}]
    querystring = request.querystring
    distribution = given.distribution
    event: dict[str, Any] = {
        "version": "1.0",
        "context": {
            "distributionDomainName": distribution.domain_name,
            "distributionId": distribution.distribution_id,
            "eventType": _EVENT_TYPES[trigger],
            "requestId": given.request_id,
        },
        "viewer": {"ip": request.client_ip},
        "request": {
            "method": request.method,
            "uri": request.uri,
            "querystring": _fold_values(parse_querystring(querystring)) if querystring else {},
            "headers": headers,
            "cookies": _fold_values(cookies) if cookies else {},
        },
    }
    if trigger is Trigger.VIEWER_RESPONSE:
        if given.response is None:
            raise ValueError("a viewer-response event needs a response (FunctionInput.response)")
        response = given.response
        set_cookies = []
        for name, value in response.headers:
            if name.lower() == "set-cookie":
                cookie, cookie_value, attributes = parse_set_cookie(value)
                set_cookies.append((cookie, {"value": cookie_value, "attributes": attributes}))
        event["response"] = {
            "statusCode": response.status,
            "statusDescription": response.status_description,
            "headers": cloudfront_headers(response.headers, skip="set-cookie"),
            "cookies": _fold(set_cookies),
        }
    return event
