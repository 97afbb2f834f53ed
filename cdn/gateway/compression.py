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
"""

from __future__ import annotations

__all__ = ["COMPRESSIBLE_TYPES", "choose_coding", "should_compress"]

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
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in COMPRESSIBLE_TYPES
