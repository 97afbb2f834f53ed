"""Range requests (RFC 9110 §14): parsing a ``Range`` field against a representation's size.

Rules: pure functions, no I/O; used by the origin and by the edge serving ranges from cache.
Only the ``bytes`` unit is known. An invalid ranges-specifier, an unknown unit, more than
``MAX_RANGES`` ranges or overlapping ranges are ignored (§14.2 lets a server ignore them; the
full representation is sent). When no range is satisfiable the
answer is 416 with ``Content-Range: bytes */N`` (§15.5.17).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from hashlib import blake2b
from itertools import pairwise

__all__ = [
    "MAX_RANGES",
    "ByteRange",
    "Multipart",
    "Unsatisfiable",
    "byteranges_boundary",
    "content_range",
    "multipart_byteranges",
    "parse_range",
]

MAX_RANGES = 16
_SPEC = re.compile(r"^([0-9]*)-([0-9]*)$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``first..last`` inclusive, already clamped to the representation (§14.1.2)."""

    first: int
    last: int

    @property
    def length(self) -> int:
        """Number of bytes in the range."""
        return self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class Unsatisfiable:
    """No range of the request overlaps the representation: answer 416 (§15.5.17)."""

    size: int


def content_range(byte_range: ByteRange, size: int) -> str:
    """The ``Content-Range`` value of one part, e.g. ``bytes 0-99/1000`` (§14.4)."""
    return f"bytes {byte_range.first}-{byte_range.last}/{size}"


def parse_range(value: str, size: int) -> tuple[ByteRange, ...] | Unsatisfiable | None:
    """The satisfiable ranges of ``value`` for a ``size``-byte body; None means serve it whole."""
    unit, sep, specs = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    ranges: list[ByteRange] = []
    parts = [part.strip() for part in specs.split(",")]
    parts = [part for part in parts if part]
    if not parts or len(parts) > MAX_RANGES:
        return None
    for part in parts:
        match = _SPEC.match(part)
        if not match or match.group(0) == "-":
            return None
        first_text, last_text = match.groups()
        if first_text:
            first = int(first_text)
            last = int(last_text) if last_text else size - 1
            if last_text and last < first:
                return None
            if first >= size:
                continue  # unsatisfiable on its own; another range may still fit
            ranges.append(ByteRange(first, min(last, size - 1)))
        else:
            suffix = int(last_text)
            if suffix == 0 or size == 0:
                continue
            ranges.append(ByteRange(max(size - suffix, 0), size - 1))
    if not ranges:
        return Unsatisfiable(size)
    ordered = sorted(ranges, key=lambda r: r.first)
    if any(b.first <= a.last for a, b in pairwise(ordered)):
        return None
    return tuple(ranges)


@dataclass(frozen=True, slots=True)
class Multipart:
    """The framing of a multipart/byteranges body (RFC 9110 §14.6), without the body bytes.

    The body is ``heads[i] + <bytes of part i> + "\r\n"`` for each part in order, then ``tail``.
    """

    content_type: str
    heads: tuple[str, ...]
    tail: str


def byteranges_boundary(validator: str | None) -> str:
    """The multipart boundary of a representation whose entity-tag is ``validator``: from the
    tag, so every multi-range answer of one representation is framed alike (the origin's and
    the edge's byte for byte), but as hex, since a tag may hold characters a boundary may not
    (RFC 2046 §5.1.1) and obs-text (read as surrogate escapes, hashed as the octets)."""
    octets = (validator or "byteranges").encode("utf-8", "surrogateescape")
    return "cdnlab-" + blake2b(octets, digest_size=8).hexdigest()


def multipart_byteranges(
    ranges: tuple[ByteRange, ...], size: int, part_type: str, boundary: str
) -> Multipart:
    """The framing of a 206 with several ``ranges`` of a ``size``-byte body of ``part_type``."""
    heads = tuple(
        f"--{boundary}\r\nContent-Type: {part_type}\r\n"
        f"Content-Range: {content_range(part, size)}\r\n\r\n"
        for part in ranges
    )
    return Multipart(f"multipart/byteranges; boundary={boundary}", heads, f"--{boundary}--\r\n")
