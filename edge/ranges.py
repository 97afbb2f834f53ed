"""Range requests answered from a stored full response (RFC 9110 §14).

Rules: pure functions (no I/O). The core stores only full responses (never 206), so ranges
are cut here from the stored body. cdnlab's choices where the RFC leaves room:
- one byte range is served as 206; several ranges are answered with the full 200 (allowed,
  §14.2: a server may ignore Range);
- a range unit other than ``bytes`` is ignored (full 200);
- a malformed ``bytes=`` specifier is rejected with 400 and the reason (§14.2 allows rejecting);
- a syntactically valid but unsatisfiable range gets 416 with ``Content-Range: bytes */size``;
- ``If-Range`` must match the stored strong ETag or Last-Modified exactly, else the full 200.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ByteRange", "MalformedRange", "Unsatisfiable", "if_range_holds", "parse_range"]


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive of a representation of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def content_range(self) -> str:
        """The Content-Range field value, e.g. ``bytes 0-99/1000``."""
        return f"bytes {self.start}-{self.end}/{self.size}"


class MalformedRange(ValueError):
    """The Range field is not a valid bytes range set (answer 400 with this message)."""


class Unsatisfiable(ValueError):
    """No range overlaps the representation (answer 416)."""


def _number(text: str, value: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise MalformedRange(
            f"Range {value!r}: {text!r} is not a byte position (expected e.g. bytes=0-99)"
        )
    return int(text)


def parse_range(value: str, size: int) -> ByteRange | None:
    """The one range to serve from ``size`` bytes, or None for "send the full response"."""
    unit, sep, spec = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        if not sep:
            raise MalformedRange(f"Range {value!r} has no '=' (expected e.g. bytes=0-99)")
        return None
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    if not parts:
        raise MalformedRange(f"Range {value!r} names no range (expected e.g. bytes=0-99)")
    ranges: list[tuple[int | None, int | None]] = []
    for part in parts:
        first, dash, last = part.partition("-")
        if not dash:
            raise MalformedRange(f"Range {value!r}: {part!r} has no '-' (expected e.g. 0-99)")
        start = _number(first, value) if first.strip() else None
        end = _number(last, value) if last.strip() else None
        if start is None and end is None:
            raise MalformedRange(f"Range {value!r}: {part!r} is empty (expected e.g. 0-99)")
        if start is not None and end is not None and end < start:
            raise MalformedRange(f"Range {value!r}: {part!r} ends before it starts")
        ranges.append((start, end))
    if len(ranges) > 1:
        return None
    start, end = ranges[0]
    if start is None:
        assert end is not None
        if end == 0 or size == 0:
            raise Unsatisfiable(f"Range {value!r} asks for no bytes of a {size}-byte body")
        return ByteRange(max(0, size - end), size - 1, size)
    if start >= size:
        raise Unsatisfiable(f"Range {value!r} starts past the end of a {size}-byte body")
    return ByteRange(start, size - 1 if end is None or end >= size else end, size)


def if_range_holds(if_range: str | None, etag: str | None, last_modified: str | None) -> bool:
    """True when there is no If-Range or it matches the stored validator (§13.1.5)."""
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith(('"', "W/")):
        return etag is not None and not etag.startswith("W/") and if_range == etag
    return last_modified is not None and if_range == last_modified
