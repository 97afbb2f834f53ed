"""A stored response (RFC 9111 §3) with everything the hit path needs precomputed.

Rules: a frozen value; no body (the edge keeps body bytes beside it, the simulator none).
``Entry.create`` parses the headers once; afterwards serving needs only attribute reads.
The cache store relies on ``key``, ``variant``, ``size``, ``surrogate_keys`` and
``invalidated`` (a soft purge is ``dataclasses.replace(entry, invalidated=True)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from cdn.http.cache_control import CacheControl, response_directives
from cdn.http.config import CacheConfig
from cdn.http.dates import parse_http_date
from cdn.http.freshness import age_value, corrected_initial_age, date_value, freshness_lifetime
from cdn.http.headers import Headers
from cdn.http.vary import Variant

__all__ = ["Entry", "surrogate_keys_of"]


def surrogate_keys_of(headers: Headers) -> frozenset[str]:
    """Tags from the Surrogate-Key response field (space-separated, several lines allowed)."""
    keys: set[str] = set()
    for line in headers.get_all("surrogate-key"):
        keys.update(line.split())
    return frozenset(keys)


@dataclass(frozen=True, slots=True, repr=False)
class Entry:
    """One stored response variant. Build with ``Entry.create``; never mutate.

    Derived fields (precomputed from ``headers`` at creation):
    ``directives`` (governing CacheControl: targeted field or Cache-Control), ``targeted``,
    ``freshness_lifetime``, ``corrected_initial_age`` (§4.2.3 at receipt), ``date`` (Date or
    receipt time), ``etag`` and ``last_modified`` (raw validators or None),
    ``stale_while_revalidate`` / ``stale_if_error`` (seconds allowed past the lifetime, with
    config overrides; 0 when must-revalidate & co forbid stale), ``must_revalidate``
    (must-revalidate, proxy-revalidate or s-maxage: never serve stale, §4.2.4), ``no_cache``
    (unqualified no-cache: revalidate every time), ``fresh_until`` (the instant it goes stale)
    and ``client_headers`` (stored fields minus Age and Surrogate-Key, ready to send).
    """

    key: str
    variant: Variant
    status: int
    headers: Headers
    size: int
    request_time: float
    response_time: float
    surrogate_keys: frozenset[str]
    invalidated: bool
    directives: CacheControl
    targeted: bool
    freshness_lifetime: float
    corrected_initial_age: float
    date: float
    etag: str | None
    last_modified: str | None
    stale_while_revalidate: float
    stale_if_error: float
    must_revalidate: bool
    no_cache: bool
    fresh_until: float
    client_headers: Headers

    @classmethod
    def create(
        cls,
        *,
        key: str,
        variant: Variant,
        status: int,
        headers: Headers,
        size: int,
        request_time: float,
        response_time: float,
        config: CacheConfig,
        invalidated: bool = False,
    ) -> Entry:
        """Build an entry from stored headers (already stripped, see ``stored_headers``)."""
        if size < 0:
            raise ValueError(f"entry size {size} is negative (expected body bytes >= 0)")
        if response_time < request_time:
            raise ValueError(f"response_time {response_time} is before request_time {request_time}")
        directives, targeted = response_directives(headers, config.targeted_fields)
        date = date_value(headers, response_time)
        lifetime = freshness_lifetime(
            status, headers, directives, response_time, config, targeted=targeted
        )
        initial_age = corrected_initial_age(age_value(headers), date, request_time, response_time)
        must_revalidate = directives.must_revalidate or (
            config.shared and (directives.proxy_revalidate or directives.s_maxage is not None)
        )
        no_cache = directives.no_cache is True
        may_serve_stale = not (must_revalidate or no_cache)
        swr = max(
            float(directives.stale_while_revalidate or 0), config.stale_while_revalidate_seconds
        )
        sie = max(float(directives.stale_if_error or 0), config.stale_if_error_seconds)
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        return cls(
            key=key,
            variant=variant,
            status=status,
            headers=headers,
            size=size,
            request_time=request_time,
            response_time=response_time,
            surrogate_keys=surrogate_keys_of(headers),
            invalidated=invalidated,
            directives=directives,
            targeted=targeted,
            freshness_lifetime=lifetime,
            corrected_initial_age=initial_age,
            date=date,
            etag=etag.strip() if etag else None,
            last_modified=last_modified
            if last_modified and parse_http_date(last_modified) is not None
            else None,
            stale_while_revalidate=swr if may_serve_stale else 0.0,
            stale_if_error=sie if may_serve_stale else 0.0,
            must_revalidate=must_revalidate,
            no_cache=no_cache,
            fresh_until=response_time + lifetime - initial_age,
            client_headers=headers.without(("age", "surrogate-key")),
        )

    @classmethod
    def from_fields(cls, values: Sequence[Any]) -> Entry:
        """An entry from all its field values in declaration order, without re-deriving them.

        For shells that re-stamp a known-good entry (the simulator's templates): no parsing and
        no checks, about half the cost of the dataclass constructor (which sets each field
        through ``object.__setattr__``).
        """
        return _from_fields(cls, values)

    def __repr__(self) -> str:
        return (
            f"Entry(key={self.key!r}, variant={self.variant!r}, status={self.status}, "
            f"size={self.size}, lifetime={self.freshness_lifetime:g}, "
            f"fresh_until={self.fresh_until:g}, invalidated={self.invalidated})"
        )

    @property
    def entry(self) -> Entry:
        """The entry itself: what a store holds answers ``.entry`` (a shell's wrapper or this)."""
        return self

    def current_age(self, now: float) -> float:
        """§4.2.3 current_age at ``now`` (seconds, float)."""
        return self.corrected_initial_age + (now - self.response_time)

    def is_fresh(self, now: float) -> bool:
        """current_age < freshness_lifetime (§4.2); ignores ``invalidated`` and no-cache."""
        return now < self.fresh_until

    def ttl(self, now: float) -> float:
        """Remaining freshness in seconds (negative once stale): lifetime - current_age."""
        return self.fresh_until - now

    @property
    def has_validator(self) -> bool:
        """True when the entry can be revalidated (ETag or a valid Last-Modified, §4.3.1)."""
        return self.etag is not None or self.last_modified is not None


def _fields_setter() -> Callable[[type[Entry], Sequence[Any]], Entry]:
    """A straight-line function setting every slot through its descriptor (generated once)."""
    names = [f.name for f in fields(Entry)]
    namespace: dict[str, Any] = {"new": object.__new__}
    lines = ["def from_fields(cls, values):", "    entry = new(cls)"]
    for i, name in enumerate(names):
        namespace[f"set_{i}"] = getattr(Entry, name).__set__
        lines.append(f"    set_{i}(entry, values[{i}])")
    lines.append("    return entry")
    exec("\n".join(lines), namespace)  # the code is built from our own field names
    return namespace["from_fields"]


_from_fields = _fields_setter()
