"""HTTP caching semantics for a shared cache: RFC 9111, RFC 5861, RFC 9213, RFC 9211.

Rules: pure (no I/O, no clock, no global randomness); times are injected floats (seconds
since the epoch); bodies never enter, a response is its status, headers and size.

The decision API (``cdn.http.decision``), driven identically by the edge and the simulator::

    request = Request(method, target, Headers.from_pairs(pairs), scheme="http")
    key = cache_key(scheme, host, target)                     # primary key (§2)
    decision = decide(request, key, stored_variants, now, config)
        # Hit(entry, age, stale)             serve entry (fresh, or stale within client max-stale)
        # StaleHit(entry, age, refresh)      serve now, run refresh (a Revalidate) once in background
        # Revalidate(entry, entries, headers, method, fwd, collapsible)   conditional request upstream
        # Miss(headers, method, fwd, collapsible, stale)                  fetch upstream
        # Bypass(reason, fwd, headers)       forward as is (unsafe method); never store
        # OnlyIfCachedMiss()                 answer 504
    outcome = absorb(request, key, decision, response, request_time, response_time, config)
        # Store(entry)                       store (replacing key+variant) and serve
        # Freshen(entries)                   304: put freshened entries back, serve .entry
        # Pass(reason, hit_for_pass, invalidate)   serve as is; purge ``invalidate`` targets (§4.4)
        # Refetch(miss)                      304 matched nothing: fetch again unconditionally
    stale_on_error(decision, now, config) -> Entry | None     upstream 5xx/timeout: serve this?
    serve_headers(entry, now, to_client=True)  stored fields + Age, minus Surrogate-Key
    client_not_modified(request.headers, entry)  answer the client 304 (§4.3.2)?
    not_modified_headers(headers)               fields for that 304
    describe(decision, outcome, now=...)        -> CacheStatus(label, x_cache, ...).member(name)

The cache step (``cdn.http.step``) drives all of the above for one request, so shells do
not sequence it themselves: ``CacheStep(store, config, request, key, now)``, then ``next()``
-> Serve | Join | Fetch | Forward | Reject and ``received(response, t0, t1)`` -> Keep | Renew
| Relay | Fetch | Serve; ``plain_hit`` is its first branch on its own.

Serving a client from a stored full object: ``parse_range``/``content_range`` (RFC 9110 §14,
206/416) and ``evaluate_preconditions``/``if_range_holds`` (RFC 9110 §13) are shared with the
origin.

HEAD is answered from GET entries (§4.3.5) and forwarded upstream as GET (``decision.method``).
Entries are ``Entry`` values with freshness precomputed; ``dataclasses.replace(entry,
invalidated=True)`` is a soft purge (the entry must be revalidated before reuse).
"""

from cdn.http.cache_control import (
    CacheControl,
    parse_cache_control,
    parse_targeted,
    request_directives,
    response_directives,
    targeted_cache_control,
)
from cdn.http.cache_key import cache_key, normalize_host
from cdn.http.cache_status import (
    CacheStatus,
    cache_status_member,
    describe,
    stood_in_on_error,
)
from cdn.http.conditional import (
    client_not_modified,
    conditional_headers,
    freshen,
    not_modified_headers,
    select_for_freshening,
)
from cdn.http.config import NEGATIVE_STATUSES, CacheConfig, TtlBounds, node_cache_config
from cdn.http.dates import format_http_date, parse_http_date
from cdn.http.decision import (
    UPSTREAM_ERROR_STATUSES,
    Bypass,
    Decision,
    Freshen,
    Hit,
    Miss,
    OnlyIfCachedMiss,
    Outcome,
    Pass,
    Refetch,
    Request,
    Response,
    Revalidate,
    StaleHit,
    Store,
    absorb,
    decide,
    fresh_hit,
    plain_fresh,
    response_age,
    serve_headers,
    stale_on_error,
)
from cdn.http.entry import Entry, surrogate_keys_of
from cdn.http.freshness import (
    HEURISTICALLY_CACHEABLE,
    corrected_initial_age,
    current_age,
    freshness_lifetime,
)
from cdn.http.headers import HOP_BY_HOP, Headers, without_hop_by_hop
from cdn.http.invalidation import invalidated_targets, is_unsafe
from cdn.http.preconditions import evaluate_preconditions, if_range_holds, parse_entity_tags
from cdn.http.ranges import (
    MAX_RANGES,
    ByteRange,
    Multipart,
    Unsatisfiable,
    byteranges_boundary,
    content_range,
    multipart_byteranges,
    parse_range,
)
from cdn.http.step import (
    PLAIN_HIT_BLOCKERS,
    CacheStep,
    Fail,
    Fetch,
    Forward,
    Join,
    Keep,
    Reject,
    Relay,
    Renew,
    Serve,
    plain_hit,
)
from cdn.http.storability import stored_headers, unstorable_reason
from cdn.http.vary import secondary_key, select_variant, vary_names

__all__ = [
    "HEURISTICALLY_CACHEABLE",
    "HOP_BY_HOP",
    "MAX_RANGES",
    "NEGATIVE_STATUSES",
    "PLAIN_HIT_BLOCKERS",
    "UPSTREAM_ERROR_STATUSES",
    "Bypass",
    "ByteRange",
    "CacheConfig",
    "CacheControl",
    "CacheStatus",
    "CacheStep",
    "Decision",
    "Entry",
    "Fail",
    "Fetch",
    "Forward",
    "Freshen",
    "Headers",
    "Hit",
    "Join",
    "Keep",
    "Miss",
    "Multipart",
    "OnlyIfCachedMiss",
    "Outcome",
    "Pass",
    "Refetch",
    "Reject",
    "Relay",
    "Renew",
    "Request",
    "Response",
    "Revalidate",
    "Serve",
    "StaleHit",
    "Store",
    "TtlBounds",
    "Unsatisfiable",
    "absorb",
    "byteranges_boundary",
    "cache_key",
    "cache_status_member",
    "client_not_modified",
    "conditional_headers",
    "content_range",
    "corrected_initial_age",
    "current_age",
    "decide",
    "describe",
    "evaluate_preconditions",
    "format_http_date",
    "fresh_hit",
    "freshen",
    "freshness_lifetime",
    "if_range_holds",
    "invalidated_targets",
    "is_unsafe",
    "multipart_byteranges",
    "node_cache_config",
    "normalize_host",
    "not_modified_headers",
    "parse_cache_control",
    "parse_entity_tags",
    "parse_http_date",
    "parse_range",
    "parse_targeted",
    "plain_fresh",
    "plain_hit",
    "request_directives",
    "response_age",
    "response_directives",
    "secondary_key",
    "select_for_freshening",
    "select_variant",
    "serve_headers",
    "stale_on_error",
    "stood_in_on_error",
    "stored_headers",
    "surrogate_keys_of",
    "targeted_cache_control",
    "unstorable_reason",
    "vary_names",
    "without_hop_by_hop",
]
