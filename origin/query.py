"""Reading test knobs from the query string; every bad value becomes a 400 with a clear reason.

Rules: handlers call these at their boundary; the reasons name the parameter and what fits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiohttp import web

from cdn.units import parse_duration, parse_size

__all__ = ["bad_request", "duration_param", "header_params", "int_param", "size_param"]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Fields aiohttp computes itself; letting tests set them would corrupt the framing.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})


def bad_request(reason: str) -> web.HTTPBadRequest:
    """A 400 whose plain-text body is ``reason``."""
    return web.HTTPBadRequest(text=reason + "\n")


def int_param(query: Mapping[str, str], name: str, minimum: int, maximum: int) -> int | None:
    """The integer ``?name=`` in [minimum, maximum], None when absent."""
    text = query.get(name)
    if text is None:
        return None
    if not text.isdigit() or not minimum <= int(text) <= maximum:
        raise bad_request(
            f"{name}={text!r} is invalid (expected a whole number from {minimum} to {maximum})"
        )
    return int(text)


def size_param(query: Mapping[str, str], name: str, maximum: int) -> int | None:
    """The byte count ``?name=`` (``1048576`` or ``1MiB``) up to ``maximum``, None when absent."""
    text = query.get(name)
    if text is None:
        return None
    try:
        size = parse_size(text)
    except ValueError as exc:
        raise bad_request(f"{name}: {exc}") from None
    if size > maximum:
        raise bad_request(f"{name}={text!r} is too large (expected at most {maximum} bytes)")
    return size


def duration_param(query: Mapping[str, str], name: str, maximum: float) -> float | None:
    """The duration ``?name=`` (``0.2`` or ``200ms``) up to ``maximum`` seconds, None when absent."""
    text = query.get(name)
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise bad_request(f"{name}: {exc}") from None
    if seconds > maximum:
        raise bad_request(f"{name}={text!r} is too long (expected at most {maximum:g} seconds)")
    return seconds


def header_params(values: list[str]) -> list[tuple[str, str]]:
    """Header fields from repeated ``?h=Name:Value`` parameters (in order, repeats kept)."""
    fields = []
    for item in values:
        name, sep, value = item.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not _TOKEN.match(name):
            raise bad_request(f"h={item!r} is invalid (expected Name:Value with a token name)")
        if any(c in value for c in "\r\n\0"):
            raise bad_request(f"h={item!r} has a control character in its value")
        if name.lower() in _FRAMING:
            raise bad_request(f"h={item!r}: {name} is set by the server, not by ?h=")
        fields.append((name, value))
    return fields
