"""Which headers a function may not see, add or change (CloudFront's disallowed and read-only lists).

Rules (../shared/reference/edge-functions.md, "Validation"):
- disallowed headers are never shown to a function and a function may not add them
  (X-Amz-Cf-*, X-Edge-* and the listed X-Amzn-* by prefix or name, plus the hop-by-hop ones);
- read-only headers (per trigger) are shown but may not be added, changed or removed;
- header names compare case-insensitively.
"""

from __future__ import annotations

from cdn.functions.triggers import Trigger
from cdn.functions.values import Header

__all__ = [
    "DISALLOWED",
    "READ_ONLY",
    "added_disallowed_problem",
    "header_change_problem",
    "is_disallowed",
    "same_headers",
    "visible",
]

DISALLOWED = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "trailer",
        "upgrade",
        "x-accel-buffering",
        "x-accel-charset",
        "x-accel-limit-rate",
        "x-accel-redirect",
        "x-amzn-auth",
        "x-amzn-cf-billing",
        "x-amzn-cf-id",
        "x-amzn-cf-xff",
        "x-amzn-errortype",
        "x-amzn-fle-profile",
        "x-amzn-header-count",
        "x-amzn-header-order",
        "x-amzn-lambda-integration-tag",
        "x-amzn-requestid",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
    }
)
_DISALLOWED_PREFIXES = ("x-amz-cf-", "x-edge-")

READ_ONLY: dict[Trigger, frozenset[str]] = {
    Trigger.VIEWER_REQUEST: frozenset({"content-length", "host", "transfer-encoding", "via"}),
    Trigger.ORIGIN_REQUEST: frozenset(
        {
            "accept-encoding",
            "content-length",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "transfer-encoding",
            "via",
        }
    ),
    Trigger.ORIGIN_RESPONSE: frozenset({"transfer-encoding", "via"}),
    Trigger.VIEWER_RESPONSE: frozenset({"warning", "via"}),
}


# Verdicts by header name as written (a bounded memo: the per-request paths ask often).
_VERDICTS: dict[str, bool] = {}
_VERDICTS_LIMIT = 4096


def is_disallowed(name: str) -> bool:
    """True when CloudFront never shows header ``name`` to a function nor lets one add it."""
    verdict = _VERDICTS.get(name)
    if verdict is None:
        lowered = name.lower()
        verdict = lowered in DISALLOWED or lowered.startswith(_DISALLOWED_PREFIXES)
        if len(_VERDICTS) >= _VERDICTS_LIMIT:
            _VERDICTS.clear()
        _VERDICTS[name] = verdict
    return verdict


def visible(headers: tuple[Header, ...]) -> tuple[Header, ...]:
    """``headers`` without the disallowed ones (what a function is shown)."""
    return tuple(pair for pair in headers if not is_disallowed(pair[0]))


def same_headers(shown: tuple[Header, ...], returned: tuple[Header, ...]) -> bool:
    """True when ``returned`` are ``shown`` as they were (names compared case-insensitively)."""
    if len(shown) != len(returned):
        return False
    for (name, value), (other, other_value) in zip(shown, returned, strict=True):
        if value != other_value or (name != other and name.lower() != other.lower()):
            return False
    return True


def _values_by_name(headers: tuple[Header, ...]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def header_change_problem(
    trigger: Trigger, shown: tuple[Header, ...], returned: tuple[Header, ...]
) -> str | None:
    """Why the function's ``returned`` headers are refused, or None when they are fine.

    ``shown`` are the headers the function was given (already without the disallowed ones).
    """
    if same_headers(shown, returned):
        return None  # nothing added, changed or removed
    problem = added_disallowed_problem(returned)
    if problem:
        return problem
    before = _values_by_name(shown)
    after = _values_by_name(returned)
    for name in READ_ONLY[trigger]:
        if before.get(name) != after.get(name):
            return f"the function changed the read-only header {name!r} on {trigger}"
    return None


def added_disallowed_problem(returned: tuple[Header, ...]) -> str | None:
    """Why ``returned`` is refused for carrying a disallowed header, or None."""
    for name, _ in returned:
        if is_disallowed(name):
            return f"the function added the disallowed header {name.lower()!r}"
    return None
