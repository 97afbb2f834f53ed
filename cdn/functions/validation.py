"""CloudFront's checks on what a function returns; each failure is a 502 (InvalidAnswer).

Rules (../shared/reference/edge-functions.md, "Validation"):
- ``uri`` starts with ``/``; the query string has no spaces, control characters or ``#``;
  uri + query string stay under 8,192 characters;
- a status is a whole number from 200 to 599; a 204 carries no body;
- a generated response (headers + body) fits the trigger's cap: 40 KB viewer, 1 MB origin;
- disallowed and read-only headers: header_rules.header_change_problem.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cdn.functions.header_rules import added_disallowed_problem, header_change_problem
from cdn.functions.triggers import LIMITS, Trigger
from cdn.functions.values import Header

__all__ = [
    "URI_QUERY_MAX",
    "InvalidAnswer",
    "check_generated_size",
    "check_headers",
    "check_no_disallowed",
    "check_querystring",
    "check_status",
    "check_uri",
    "decode_body",
    "headers_size",
]

URI_QUERY_MAX = 8192
# Spaces, control characters and '#' are refused in a query string.
_BAD_QUERY = re.compile(r"[\x00-\x20#\x7f]")


class InvalidAnswer(ValueError):
    """The function's answer breaks a CloudFront rule (the viewer gets a 502)."""


def check_uri(uri: Any) -> str:
    """``uri`` when it is a string starting with ``/``."""
    if not isinstance(uri, str) or not uri.startswith("/"):
        raise InvalidAnswer(f"uri {uri!r} does not start with '/'")
    return uri


def check_querystring(querystring: Any, uri: str) -> str:
    """``querystring`` when it has no spaces, control characters or '#', and fits with ``uri``."""
    if not isinstance(querystring, str):
        raise InvalidAnswer(f"querystring {querystring!r} is not a string")
    bad = _BAD_QUERY.search(querystring)
    if bad:
        raise InvalidAnswer(f"querystring {querystring!r} contains {bad.group()!r}")
    if len(uri) + len(querystring) >= URI_QUERY_MAX:
        raise InvalidAnswer(
            f"uri and querystring are {len(uri) + len(querystring)} characters"
            f" (at most {URI_QUERY_MAX - 1})"
        )
    return querystring


def check_status(status: Any) -> int:
    """The status as an int when it is a whole number (or digits) from 200 to 599."""
    if isinstance(status, bool):
        raise InvalidAnswer(f"status {status!r} is not a number")
    if isinstance(status, str) and status.strip().isdigit():
        status = int(status)
    if not isinstance(status, int) or not 200 <= status <= 599:
        raise InvalidAnswer(f"status {status!r} is outside 200-599")
    return status


def headers_size(headers: tuple[Header, ...]) -> int:
    """Bytes the headers take on the wire (``name: value\\r\\n`` each)."""
    return sum(len(name.encode()) + len(value.encode()) + 4 for name, value in headers)


def check_generated_size(
    trigger: Trigger, status: int, headers: tuple[Header, ...], body: bytes | None
) -> None:
    """A 204 without body, and headers + body within the trigger's cap."""
    if status == 204 and body:
        raise InvalidAnswer("a 204 response has a body")
    size = headers_size(headers) + len(body or b"")
    cap = LIMITS[trigger].generated_response_bytes
    if size > cap:
        raise InvalidAnswer(f"the generated response is {size} bytes (at most {cap} on {trigger})")


def check_headers(
    trigger: Trigger, shown: tuple[Header, ...], returned: tuple[Header, ...]
) -> None:
    """Refuse added disallowed headers and touched read-only ones."""
    problem = header_change_problem(trigger, shown, returned)
    if problem:
        raise InvalidAnswer(problem)


def decode_body(data: Any, encoding: Any) -> bytes:
    """A body from its ``data`` and ``encoding`` (text or base64)."""
    if data is None:
        return b""
    if not isinstance(data, str):
        raise InvalidAnswer(f"body {type(data).__name__} is not a string")
    if encoding in (None, "text"):
        return data.encode("utf-8")
    if encoding == "base64":
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidAnswer("body is not valid base64") from None
    raise InvalidAnswer(f"body encoding {encoding!r} is not text or base64")


def check_no_disallowed(returned: tuple[Header, ...]) -> None:
    """Refuse disallowed headers in a response the function generated."""
    problem = added_disallowed_problem(returned)
    if problem:
        raise InvalidAnswer(problem)
