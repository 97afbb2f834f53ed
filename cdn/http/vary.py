"""Secondary cache keys from Vary (RFC 9111 §4.1).

Rules: pure functions. A variant is a tuple of ``(field name, normalised value or None)``
pairs, names lower-cased and sorted; ``()`` when the response has no Vary. None means the
request lacked the field, which only matches another request lacking it. Normalisation
(§4.1): field lines are combined with ", ", whitespace around list commas and runs of spaces
collapse, and fields whose values are case-insensitive by definition (the Accept family)
are lower-cased; other fields (Cookie, Authorization...) keep their case.
``Vary: *`` never matches (§4.1): such responses get the variant ``(("*", None),)`` and
cdnlab does not store them (see storability).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol, TypeVar

from cdn.http.headers import Headers

__all__ = [
    "VARY_STAR",
    "Variant",
    "normalize_field_value",
    "secondary_key",
    "select_variant",
    "variant_matches",
    "vary_names",
]

Variant = tuple[tuple[str, str | None], ...]
VARY_STAR: Variant = (("*", None),)


class Varied(Protocol):
    """What variant selection reads of a stored response (``cdn.http.Entry`` is one)."""

    @property
    def variant(self) -> Variant: ...

    @property
    def date(self) -> float: ...

    @property
    def response_time(self) -> float: ...


V = TypeVar("V", bound=Varied)

_CASE_INSENSITIVE = frozenset(
    {"accept", "accept-encoding", "accept-language", "accept-charset", "te", "origin"}
)
_COMMA_SPACES = re.compile(r"\s*,\s*")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1024)
def _parse_vary(value: str) -> tuple[str, ...]:
    names = sorted({name.strip().lower() for name in value.split(",") if name.strip()})
    if "*" in names:
        return ("*",)
    return tuple(names)


def vary_names(headers: Headers) -> tuple[str, ...]:
    """The sorted, lower-cased field names in Vary; ``("*",)`` when it contains ``*``."""
    lines = headers.get_all("vary")
    if not lines:
        return ()
    return _parse_vary(lines[0] if len(lines) == 1 else ", ".join(lines))


def normalize_field_value(name: str, values: Sequence[str]) -> str:
    """Combine a request field's lines and normalise whitespace (and case where allowed)."""
    combined = _SPACES.sub(" ", _COMMA_SPACES.sub(", ", ", ".join(values))).strip()
    return combined.lower() if name in _CASE_INSENSITIVE else combined


def secondary_key(names: tuple[str, ...], request_headers: Headers) -> Variant:
    """The variant of a response with Vary ``names`` selected by ``request_headers``."""
    if not names:
        return ()
    if names == ("*",):
        return VARY_STAR
    key: list[tuple[str, str | None]] = []
    for name in names:
        values = request_headers.get_all(name)
        key.append((name, normalize_field_value(name, values) if values else None))
    return tuple(key)


def variant_matches(variant: Variant, request_headers: Headers) -> bool:
    """Does a request select a stored response with this variant (§4.1)?"""
    if not variant:
        return True
    for name, stored in variant:
        if name == "*":
            return False
        values = request_headers.get_all(name)
        if not values:
            if stored is not None:
                return False
        elif stored is None or normalize_field_value(name, values) != stored:
            return False
    return True


def select_variant(stored: Sequence[V], request_headers: Headers) -> list[V]:
    """Stored entries the request selects, most recent first (by Date, then receipt time)."""
    matching = [entry for entry in stored if variant_matches(entry.variant, request_headers)]
    if len(matching) > 1:
        matching.sort(key=lambda entry: (entry.date, entry.response_time), reverse=True)
    return matching
