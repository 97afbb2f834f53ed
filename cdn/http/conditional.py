"""Validation (RFC 9111 §4.3): conditional requests upstream, 304 freshening, client conditionals.

Rules: pure functions over entries and headers; times are injected floats.
- §4.3.1: revalidate with If-None-Match listing the stored entity tags, else
  If-Modified-Since with the stored Last-Modified.
- §4.3.4: a 304 selects stored entries by strong ETag (all matches), weak ETag (the most
  recent match), Last-Modified when it has no ETag (the most recent match), or, carrying no
  validator, the single entry the request was conditional on. (RFC 9111 only names the
  single-entry case when that entry also lacks a validator; cdnlab also accepts it when the
  request was made from that entry's own validator, since origins often omit validators.)
- freshening copies every 304 field into the stored headers except Content-Length,
  hop-by-hop fields and Set-Cookie (§3.2); a 304 without Age resets Age, without Date gets
  the receipt time as Date, so the new request/response times govern the age.
- §4.3.2: a client's If-None-Match (weak comparison, ``*``) or, absent that,
  If-Modified-Since is answered 304 from a usable entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdn.http.config import CacheConfig
from cdn.http.dates import format_http_date, parse_http_date
from cdn.http.entry import Entry
from cdn.http.headers import Headers, split_list, without_hop_by_hop
from cdn.http.storability import stored_headers

__all__ = [
    "CLIENT_CONDITIONALS",
    "NOT_MODIFIED_FIELDS",
    "client_not_modified",
    "conditional_headers",
    "freshen",
    "is_weak",
    "not_modified_headers",
    "select_for_freshening",
    "strong_match",
    "weak_match",
]

# Request fields the cache replaces with its own validators (plus Range: cdnlab fetches whole).
CLIENT_CONDITIONALS: frozenset[str] = frozenset(
    {"if-none-match", "if-modified-since", "if-range", "range"}
)
# Fields a 304 carries (RFC 9110 §15.4.5) plus what a downstream cache needs to freshen.
NOT_MODIFIED_FIELDS: frozenset[str] = frozenset(
    {"cache-control", "content-location", "date", "etag", "expires", "vary", "age", "surrogate-key"}
)


def is_weak(etag: str) -> bool:
    """True for a weak entity tag (``W/"..."``)."""
    return etag.startswith("W/")


def _opaque(etag: str) -> str:
    return etag[2:] if etag.startswith("W/") else etag


def strong_match(a: str, b: str) -> bool:
    """Strong comparison (RFC 9110 §8.8.3.2): neither weak, same opaque tag."""
    return not is_weak(a) and not is_weak(b) and a == b


def weak_match(a: str, b: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2): same opaque tag, weakness ignored."""
    return _opaque(a) == _opaque(b)


def conditional_headers(entries: Sequence[Entry]) -> dict[str, str]:
    """Validators to send when revalidating ``entries`` (most preferred first), §4.3.1.

    Returns ``{"If-None-Match": ...}``, ``{"If-Modified-Since": ...}`` or ``{}`` (no validator).
    """
    tags: list[str] = []
    for entry in entries:
        if entry.etag is not None and entry.etag not in tags:
            tags.append(entry.etag)
    if tags:
        return {"If-None-Match": ", ".join(tags)}
    for entry in entries:
        if entry.last_modified is not None:
            return {"If-Modified-Since": entry.last_modified}
    return {}


def select_for_freshening(entries: Sequence[Entry], response_headers: Headers) -> list[Entry]:
    """The stored entries a 304 identifies for update (§4.3.4); empty when none."""
    etag = response_headers.get("etag")
    if etag:
        etag = etag.strip()
        if not is_weak(etag):
            return [e for e in entries if e.etag is not None and strong_match(e.etag, etag)]
        weak = [e for e in entries if e.etag is not None and weak_match(e.etag, etag)]
        return _most_recent(weak)
    last_modified = parse_http_date(response_headers.get("last-modified"))
    if last_modified is not None:
        same = [
            e
            for e in entries
            if e.last_modified is not None and parse_http_date(e.last_modified) == last_modified
        ]
        return _most_recent(same)
    if len(entries) == 1:
        return [entries[0]]
    return []


def _most_recent(entries: list[Entry]) -> list[Entry]:
    if len(entries) <= 1:
        return entries
    return [max(entries, key=lambda e: (e.date, e.response_time))]


def freshen(
    entry: Entry,
    response_headers: Headers,
    request_time: float,
    response_time: float,
    config: CacheConfig,
) -> Entry:
    """The entry updated from a 304 (or HEAD) response received at ``response_time`` (§4.3.4)."""
    update = without_hop_by_hop(response_headers).without({"content-length", "set-cookie"})
    names = set(update.names())
    names.add("age")  # the 304's Age (or none) replaces the stored one
    if "date" not in update:
        update = update.with_values({"Date": format_http_date(response_time)})
        names.add("date")
    merged = Headers((*entry.headers.without(names).items(), *update.items()))
    fresh = Entry.create(
        key=entry.key,
        variant=entry.variant,
        status=entry.status,
        headers=merged,
        size=entry.size,
        request_time=request_time,
        response_time=response_time,
        config=config,
    )
    kept = stored_headers(merged, fresh.directives, config)
    if kept == merged:
        return fresh
    return Entry.create(
        key=entry.key,
        variant=entry.variant,
        status=entry.status,
        headers=kept,
        size=entry.size,
        request_time=request_time,
        response_time=response_time,
        config=config,
    )


def client_not_modified(request_headers: Headers, entry: Entry) -> bool:
    """Should the cache answer the client 304 from ``entry`` (§4.3.2)? (GET/HEAD only.)"""
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        if entry.etag is None:
            return if_none_match.strip() == "*"
        etag = entry.etag
        return any(tag == "*" or weak_match(tag, etag) for tag in split_list(if_none_match))
    since = parse_http_date(request_headers.get("if-modified-since"))
    if since is None:
        return False
    modified = parse_http_date(entry.last_modified) if entry.last_modified else None
    if modified is None:
        modified = entry.date
    return modified <= since


def not_modified_headers(headers: Headers, extra: Sequence[str] = ()) -> Headers:
    """The fields of ``headers`` a 304 carries (RFC 9110 §15.4.5), plus ``extra`` names."""
    keep = NOT_MODIFIED_FIELDS | {name.lower() for name in extra}
    return Headers([pair for pair in headers.items() if pair[0].lower() in keep])
