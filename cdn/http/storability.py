"""May a response be stored, and what of it (RFC 9111 §3, §3.1, §3.5).

Rules: pure functions. ``unstorable_reason`` returns None when the response may be stored,
else a short reason (used in Cache-Status ``detail`` and logs). cdnlab's choices where the
RFC leaves room:
- only GET responses are stored (HEAD requests are answered from GET entries, §4.3.5);
- only final statuses cdnlab understands are stored; 206 (no range support) and 304 never;
- ``Vary: *`` responses are not stored: they can never be selected (§4.1);
- ``Set-Cookie`` responses are passed unless ``CacheConfig.store_set_cookie``; when stored,
  the Set-Cookie field is removed from the stored copy (it is one client's state);
- ``must-understand`` makes the cache ignore ``no-store`` for a status it understands (§5.2.2.3).
"""

from __future__ import annotations

from cdn.http.cache_control import CacheControl
from cdn.http.config import CacheConfig
from cdn.http.freshness import HEURISTICALLY_CACHEABLE, has_explicit_expiration
from cdn.http.headers import Headers, without_hop_by_hop
from cdn.http.vary import vary_names

__all__ = ["UNDERSTOOD_STATUSES", "stored_headers", "unstorable_reason"]

# Final status codes whose caching requirements cdnlab implements (§3 "understood").
UNDERSTOOD_STATUSES: frozenset[int] = frozenset(
    {
        200,
        203,
        204,
        300,
        301,
        302,
        303,
        307,
        308,
        400,
        403,
        404,
        405,
        410,
        414,
        421,
        451,
        500,
        501,
        502,
        503,
        504,
    }
)


def unstorable_reason(
    method: str,
    request_headers: Headers,
    request_directives: CacheControl,
    status: int,
    response_headers: Headers,
    directives: CacheControl,
    config: CacheConfig,
    *,
    targeted: bool = False,
) -> str | None:
    """None when §3 allows storing this response, else why not.

    ``directives`` are the governing response directives (targeted field or Cache-Control);
    ``targeted`` says which, since Expires only counts for Cache-Control.
    Reasons: method, status, request-no-store, no-store, private, authorization, set-cookie,
    vary-star, no-freshness.
    """
    if method != "GET":
        return "method"
    if status not in UNDERSTOOD_STATUSES:
        return "status"
    if request_directives.no_store:
        return "request-no-store"
    if directives.no_store and not directives.must_understand:
        return "no-store"
    if config.shared and directives.private is True:
        return "private"
    if (
        config.shared
        and "authorization" in request_headers
        and not (directives.must_revalidate or directives.public or directives.s_maxage is not None)
    ):
        return "authorization"
    if not config.store_set_cookie and "set-cookie" in response_headers:
        return "set-cookie"
    if vary_names(response_headers) == ("*",):
        return "vary-star"
    if (
        directives.public
        or has_explicit_expiration(response_headers, directives, config, targeted=targeted)
        or status in HEURISTICALLY_CACHEABLE
        or status in config.negative_ttl
        or (not config.shared and directives.private is not False)
    ):
        return None
    return "no-freshness"


def stored_headers(headers: Headers, directives: CacheControl, config: CacheConfig) -> Headers:
    """The header fields a cache keeps (§3.1): no hop-by-hop fields, no Set-Cookie, and for a
    shared cache none of the fields named by qualified ``private`` or ``no-cache``."""
    drop: set[str] = {"set-cookie"}
    drop.update(directives.no_cache_fields)
    if config.shared:
        drop.update(directives.private_fields)
    return without_hop_by_hop(headers).without(drop)
