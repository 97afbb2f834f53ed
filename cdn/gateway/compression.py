"""Compression at the edge (CloudFront "Serving compressed files"; nginx gzip): when, and which.

Rules:
- The viewer's Accept-Encoding is normalised to one coding, the one the edge would serve: ``br``
  when offered (and the edge can make it), else ``gzip``, else identity. The cache key holds the
  normalised value, so the many Accept-Encoding spellings share a few entries.
- An answer is compressed only when the behavior says ``compress``, the origin did not encode it
  (no Content-Encoding, or ``identity``), the type is compressible (text/*, JSON, JavaScript, XML,
  SVG, a few more), the size is known and between 1,000 bytes and 10,000,000 bytes (CloudFront's
  bounds), and the status is 200; the answer then carries ``Vary: Accept-Encoding``.
- ``q=0`` refuses a coding (RFC 9110 §12.5.3).
- Sizes for planning (the simulator): a compressed representation is ``ratio`` of the identity
  size, rounded up; the default ratios (``COMPRESSION_RATIOS``) were measured once with the
  edge's own libraries and levels (zlib level 6, brotli quality 5, as edge/compressing.py) on
  text: this repository's docs/*.md and README.md (17 files, 336 KB), gzip 0.41 and br 0.39 of
  the identity bytes. The synthetic origin serves a path family's ``content_type``, with a text
  body made to compress about as much at the median size (origin/bodies.py) when the type is
  compressible, and random octets otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = [
    "CODINGS",
    "COMPRESSIBLE_TYPES",
    "COMPRESSION_RATIOS",
    "accept_encoding_field",
    "choose_coding",
    "compressed_size",
    "compressible_type",
    "normalised_fields",
    "should_compress",
]

# The normalised codings, the edge's order of preference.
CODINGS = ("br", "gzip", "identity")
# Compressed size / identity size per coding (the module's rules: where the figures come from).
COMPRESSION_RATIOS = {"gzip": 0.41, "br": 0.39}
# What a client that accepts a normalised coding sends (browsers and curl --compressed alike).
_FIELDS = {"br": "gzip, deflate, br", "gzip": "gzip, deflate", "identity": "identity"}

MIN_SIZE = 1_000
MAX_SIZE = 10_000_000
COMPRESSIBLE_TYPES = frozenset(
    {
        "application/javascript",
        "application/json",
        "application/ld+json",
        "application/manifest+json",
        "application/rss+xml",
        "application/xhtml+xml",
        "application/xml",
        "application/x-javascript",
        "font/otf",
        "font/ttf",
        "image/svg+xml",
        "image/x-icon",
    }
)


def _offered(accept_encoding: str) -> set[str]:
    offered = set()
    for member in accept_encoding.split(","):
        coding, _, params = member.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding and q > 0:
            offered.add(coding)
    return offered


def choose_coding(accept_encoding: str | None, brotli: bool) -> str:
    """The normalised coding for a viewer: ``br``, ``gzip`` or ``identity``."""
    if not accept_encoding:
        return "identity"
    offered = _offered(accept_encoding)
    if brotli and ("br" in offered or "*" in offered):
        return "br"
    if "gzip" in offered or "*" in offered:
        return "gzip"
    return "identity"


def should_compress(
    status: int, content_type: str | None, content_encoding: str | None, size: int | None
) -> bool:
    """Whether the edge compresses this origin answer (the behavior asked for compression)."""
    if status != 200 or size is None or not MIN_SIZE <= size <= MAX_SIZE:
        return False
    if content_encoding and content_encoding.strip().lower() != "identity":
        return False
    return compressible_type(content_type)


def compressible_type(content_type: str | None) -> bool:
    """Whether answers of this media type are compressed (text/*, JSON, JavaScript, XML, SVG, ...);
    parameters such as ``charset`` do not matter."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in COMPRESSIBLE_TYPES


def normalised_fields(fields: Iterable[tuple[str, str]], coding: str) -> list[tuple[str, str]]:
    """Request ``fields`` with Accept-Encoding replaced by ``coding`` (dropped for identity):
    what the cache step keys variants by and what goes upstream on a compressing behavior."""
    pairs = [pair for pair in fields if pair[0].lower() != "accept-encoding"]
    if coding != "identity":
        pairs.append(("Accept-Encoding", coding))
    return pairs


def accept_encoding_field(coding: str) -> str:
    """The Accept-Encoding a client accepting ``coding`` (a normalised one) sends (``identity``
    said outright, so no HTTP library adds its own); ``choose_coding`` of it is ``coding``."""
    if coding not in CODINGS:
        raise ValueError(f"coding {coding!r} is not one of {', '.join(CODINGS)}")
    return _FIELDS[coding]


def compressed_size(size: int, ratio: float) -> int:
    """The size of a ``size``-byte body compressed to ``ratio`` of it (rounded up, >= 1)."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"compression ratio {ratio} is not in (0, 1]")
    return max(1, math.ceil(size * ratio))
