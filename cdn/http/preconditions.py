"""Conditional requests at a server (RFC 9110 §13): which status the preconditions ask for.

Rules: pure functions of the request fields, the representation's validators and ``now``.
Evaluation follows the order of §13.2.2: If-Match, If-Unmodified-Since, If-None-Match,
If-Modified-Since; If-Range (§13.1.5) only decides whether a Range field is honoured.
"""

from __future__ import annotations

from collections.abc import Mapping

from cdn.http.conditional import strong_match, weak_match
from cdn.http.dates import parse_http_date

__all__ = ["evaluate_preconditions", "if_range_holds", "parse_entity_tags"]


def parse_entity_tags(value: str) -> list[str] | None:
    """The entity-tags of an If-Match/If-None-Match value (``["*"]`` for ``*``); None if malformed."""
    text = value.strip()
    if text == "*":
        return ["*"]
    tags: list[str] = []
    position = 0
    while position < len(text):
        while position < len(text) and text[position] in " \t,":
            position += 1
        if position >= len(text):
            break
        start = position
        if text.startswith("W/", position):
            position += 2
        if position >= len(text) or text[position] != '"':
            return None
        end = text.find('"', position + 1)
        if end < 0:
            return None
        tags.append(text[start : end + 1])
        position = end + 1
    return tags


def evaluate_preconditions(
    method: str, fields: Mapping[str, str], etag: str, last_modified: float, now: float
) -> int | None:
    """412 or 304 when a precondition says so (§13.2.2), None to go on with the request."""
    safe = method in ("GET", "HEAD")
    if_match = fields.get("If-Match")
    if if_match is not None:
        tags = parse_entity_tags(if_match)
        if tags is not None and tags != ["*"] and not any(strong_match(t, etag) for t in tags):
            return 412
    else:
        since = _date(fields.get("If-Unmodified-Since"), now)
        if since is not None and last_modified > since:
            return 412
    if_none_match = fields.get("If-None-Match")
    if if_none_match is not None:
        tags = parse_entity_tags(if_none_match)
        if tags is not None and (tags == ["*"] or any(weak_match(t, etag) for t in tags)):
            return 304 if safe else 412
    elif safe:
        since = _date(fields.get("If-Modified-Since"), now)
        if since is not None and last_modified <= since:
            return 304
    return None


def if_range_holds(
    fields: Mapping[str, str], etag: str | None, last_modified: float | None
) -> bool:
    """True when a Range may be honoured: no If-Range, or it matches strongly (§13.1.5).

    ``etag`` / ``last_modified`` are the representation's validators (None when it has none):
    the origin's object or a cache's stored entry.
    """
    value = fields.get("If-Range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return etag is not None and strong_match(value, etag)
    date = parse_http_date(value)
    return date is not None and last_modified is not None and date == last_modified


def _date(value: str | None, now: float) -> float | None:
    """A usable HTTP-date: invalid dates and dates in the future are ignored (§13.1.3)."""
    if value is None:
        return None
    date = parse_http_date(value.strip())
    if date is None or date > now:
        return None
    return date
