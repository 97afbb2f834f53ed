"""Invalidation after unsafe requests (RFC 9111 §4.4).

Rules: pure functions. A non-error response (status 2xx or 3xx) to an unsafe method
invalidates the target URI and, when same-origin, the URIs in Location and Content-Location.
Results are request targets (path?query) on the request's origin; the shell turns them into
primary keys with ``cache_key`` (so its key options apply) and purges those keys' variants.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from cdn.http.cache_key import normalize_host
from cdn.http.headers import Headers

__all__ = ["SAFE_METHODS", "invalidated_targets", "is_unsafe"]

SAFE_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def is_unsafe(method: str) -> bool:
    """True for methods that are not safe (RFC 9110 §9.2.1): POST, PUT, DELETE, PATCH..."""
    return method.upper() not in SAFE_METHODS


def _same_origin_target(reference: str, base_target: str, scheme: str, host: str) -> str | None:
    reference = reference.strip()
    if not reference:
        return None
    try:
        parts = urlsplit(reference)
        if parts.scheme or parts.netloc:
            ref_scheme = (parts.scheme or scheme).lower()
            if ref_scheme != scheme.lower():
                return None
            if normalize_host(ref_scheme, parts.netloc) != normalize_host(scheme, host):
                return None
            path = parts.path or "/"
        else:
            resolved = urlsplit(urljoin(base_target, reference))
            parts = resolved
            path = resolved.path or "/"
    except ValueError:
        return None
    return path + ("?" + parts.query if parts.query else "")


def invalidated_targets(
    method: str,
    status: int,
    target: str,
    response_headers: Headers,
    *,
    scheme: str,
    host: str,
) -> tuple[str, ...]:
    """Targets whose stored responses must be invalidated after this exchange (§4.4).

    Empty for safe methods and for error (or 1xx) responses.
    """
    if not is_unsafe(method) or not 200 <= status < 400:
        return ()
    targets = [target]
    for name in ("location", "content-location"):
        value = response_headers.get(name)
        if value is None:
            continue
        resolved = _same_origin_target(value, target, scheme, host)
        if resolved is not None and resolved not in targets:
            targets.append(resolved)
    return tuple(targets)
