"""Freshness lifetime and age (RFC 9111 §4.2).

Rules: pure functions over injected times (floats, seconds since the epoch); no clock.
Order for a shared cache (§4.2.1): s-maxage, then max-age, then Expires - Date, then a
configured negative-caching TTL for the status, then the §4.2.2 heuristic, else 0.
When the directives came from a targeted field (RFC 9213 §2.1), Expires is ignored.
"""

from __future__ import annotations

from cdn.http.cache_control import DELTA_SECONDS_CAP, CacheControl, parse_delta_seconds
from cdn.http.config import CacheConfig
from cdn.http.dates import parse_http_date
from cdn.http.headers import Headers

__all__ = [
    "HEURISTICALLY_CACHEABLE",
    "age_value",
    "corrected_initial_age",
    "current_age",
    "date_value",
    "freshness_lifetime",
    "has_explicit_expiration",
    "heuristic_lifetime",
]

# RFC 9110 §15.1: status codes that are heuristically cacheable.
HEURISTICALLY_CACHEABLE: frozenset[int] = frozenset(
    {200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501}
)


def date_value(headers: Headers, response_time: float) -> float:
    """The Date field as epoch seconds; the receipt time when absent or invalid (§4.2.1)."""
    parsed = parse_http_date(headers.get("date"))
    return response_time if parsed is None else parsed


def age_value(headers: Headers) -> int:
    """The Age field (§5.1); 0 when absent or invalid.

    Age is a singleton field, but "a cache encountering a message with a list-based Age field
    value SHOULD use the first member of the field value, discarding subsequent ones" (§5.1):
    several lines combine into one list (RFC 9110 §5.3), so the first member of the first line
    counts, and an invalid first member means no usable Age (0).
    """
    lines = headers.get_all("age")
    if not lines:
        return 0
    seconds = parse_delta_seconds(lines[0].split(",", 1)[0])
    return 0 if seconds is None else seconds


def has_explicit_expiration(
    headers: Headers, directives: CacheControl, config: CacheConfig, *, targeted: bool = False
) -> bool:
    """True when the response states its own lifetime (s-maxage, max-age or Expires)."""
    if directives.max_age is not None:
        return True
    if config.shared and directives.s_maxage is not None:
        return True
    return not targeted and "expires" in headers


def heuristic_lifetime(
    status: int,
    headers: Headers,
    directives: CacheControl,
    response_time: float,
    config: CacheConfig,
) -> float:
    """§4.2.2: fraction x (Date - Last-Modified), capped; 0 where heuristics are not allowed.

    Allowed only for heuristically cacheable statuses or an explicit ``public``, and only
    with a valid Last-Modified that is not after Date.
    """
    if status not in HEURISTICALLY_CACHEABLE and not directives.public:
        return 0.0
    last_modified = parse_http_date(headers.get("last-modified"))
    if last_modified is None:
        return 0.0
    since = date_value(headers, response_time) - last_modified
    if since <= 0:
        return 0.0
    return min(since * config.heuristic_fraction, config.heuristic_max_seconds)


def freshness_lifetime(
    status: int,
    headers: Headers,
    directives: CacheControl,
    response_time: float,
    config: CacheConfig,
    *,
    targeted: bool = False,
) -> float:
    """Freshness lifetime in seconds (§4.2.1) for a shared (or private) cache, within
    ``config.ttl_bounds`` when it has them.

    An invalid Expires, or several differing Expires lines, give 0: already stale (§5.3).
    """
    bounds = config.ttl_bounds
    explicit = _explicit_lifetime(headers, directives, response_time, config, targeted)
    if explicit is not None:
        return explicit if bounds is None else bounds.bound(explicit)
    if bounds is not None and bounds.default_ttl is not None:
        return bounds.default_ttl
    negative = config.negative_ttl.get(status)
    if negative is not None:
        lifetime = negative
    else:
        lifetime = heuristic_lifetime(status, headers, directives, response_time, config)
    return lifetime if bounds is None else bounds.bound(lifetime)


def _explicit_lifetime(
    headers: Headers,
    directives: CacheControl,
    response_time: float,
    config: CacheConfig,
    targeted: bool,
) -> float | None:
    """The lifetime the response states (s-maxage, max-age, Expires), or None."""
    if config.shared and directives.s_maxage is not None:
        return float(directives.s_maxage)
    if directives.max_age is not None:
        return float(directives.max_age)
    if not targeted:
        expires_lines = headers.get_all("expires")
        if expires_lines:
            if len(set(expires_lines)) > 1:
                return 0.0
            expires = parse_http_date(expires_lines[0])
            if expires is None:
                return 0.0
            lifetime = expires - date_value(headers, response_time)
            return max(0.0, min(lifetime, float(DELTA_SECONDS_CAP)))
    return None


def corrected_initial_age(
    age: float, date: float, request_time: float, response_time: float
) -> float:
    """§4.2.3 up to the moment of receipt.

    apparent_age = max(0, response_time - date_value);
    corrected_age_value = age_value + (response_time - request_time);
    corrected_initial_age = max(apparent_age, corrected_age_value).
    """
    apparent_age = max(0.0, response_time - date)
    response_delay = response_time - request_time
    corrected_age_value = age + response_delay
    return max(apparent_age, corrected_age_value)


def current_age(
    *,
    age: float,
    date: float,
    request_time: float,
    response_time: float,
    now: float,
) -> float:
    """§4.2.3: current_age = corrected_initial_age + (now - response_time)."""
    resident_time = now - response_time
    return corrected_initial_age(age, date, request_time, response_time) + resident_time
