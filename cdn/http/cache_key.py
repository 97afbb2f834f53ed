"""Primary cache keys (RFC 9111 §2): ``scheme://host/path?query``.

Rules: pure string work. The scheme and host are lower-cased and a default port (80 for
http, 443 for https) is dropped; a fragment is removed; an empty path becomes "/"; an
absolute-form target keeps only its path and query. Path and query bytes are kept as sent
(no percent-decoding), except that query parameters named in ``ignore_params`` are removed
and ``sort_params`` orders the rest by name (stable for repeated names).
"""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["cache_key", "normalize_host"]

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normalize_host(scheme: str, host: str) -> str:
    """Lower-case ``host`` and drop the scheme's default port (``Example.COM:80`` -> ``example.com``)."""
    host = host.strip().lower()
    default = _DEFAULT_PORTS.get(scheme.lower())
    if default is not None and host.endswith(":" + default) and not host.endswith("]"):
        host = host[: -len(default) - 1]
    return host


def cache_key(
    scheme: str,
    host: str,
    target: str,
    *,
    ignore_params: Collection[str] = frozenset(),
    sort_params: bool = False,
) -> str:
    """The primary cache key for a request target on ``scheme://host``."""
    scheme = scheme.lower()
    if "://" in target and not target.startswith("/"):
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        question = rest.find("?")
        cut = min(i for i in (slash, question, len(rest)) if i >= 0)
        target = rest[cut:]
    hash_at = target.find("#")
    if hash_at >= 0:
        target = target[:hash_at]
    if not target.startswith("/"):
        target = "/" + target
    if (ignore_params or sort_params) and "?" in target:
        path, query = target.split("?", 1)
        params = [p for p in query.split("&") if p]
        if ignore_params:
            params = [p for p in params if p.split("=", 1)[0] not in ignore_params]
        if sort_params:
            params.sort(key=lambda p: p.split("=", 1)[0])
        target = path + ("?" + "&".join(params) if params else "")
    return f"{scheme}://{normalize_host(scheme, host)}{target}"
