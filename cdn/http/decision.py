"""The decision API: what a shared cache does with a request, and with what came back.

Rules: pure functions over frozen values; ``now``, ``request_time`` and ``response_time``
are injected floats; no body ever enters. The live edge and the simulator drive the same
two steps::

    decision = decide(request, key, store.variants(key), now, config)
    match decision:
        case Hit() | StaleHit():        serve decision.entry (StaleHit: refresh once in background)
        case Revalidate() | Miss():     send decision.method + decision.headers upstream, then
                                        outcome = absorb(request, key, decision, response, t0, t1, config)
        case Bypass():                  forward as is; absorb() tells what to invalidate (§4.4)
        case OnlyIfCachedMiss():        answer 504 (§5.2.1.7)

On an upstream failure (5xx, timeout, refused) ``stale_on_error`` says which stored entry may
be served instead (RFC 5861 §4). HEAD requests are answered from GET entries (§4.3.5) and
forwarded upstream as GET so the response can be stored; the shell sends no body back.

Length: over 400 lines because ``decide`` and ``absorb`` share their decision and outcome
types and are read together (the cache step in ``cdn.http.step`` composes them).

Over 400 lines on purpose: ``decide`` and ``absorb`` and their typed states are one cohesive
set of RFC 9111 rules; splitting them would separate each state from the rule that makes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdn.http.cache_control import (
    DELTA_SECONDS_CAP,
    EMPTY,
    CacheControl,
    request_directives,
    response_directives,
)
from cdn.http.conditional import (
    CLIENT_CONDITIONALS,
    conditional_headers,
    freshen,
    select_for_freshening,
)
from cdn.http.config import CacheConfig
from cdn.http.entry import Entry
from cdn.http.headers import Headers, without_hop_by_hop
from cdn.http.invalidation import invalidated_targets
from cdn.http.storability import stored_headers, unstorable_reason
from cdn.http.vary import secondary_key, select_variant, vary_names

__all__ = [
    "UPSTREAM_ERROR_STATUSES",
    "Bypass",
    "Decision",
    "Freshen",
    "Hit",
    "Miss",
    "OnlyIfCachedMiss",
    "Outcome",
    "Pass",
    "Refetch",
    "Request",
    "Response",
    "Revalidate",
    "StaleHit",
    "Store",
    "absorb",
    "decide",
    "fresh_hit",
    "plain_fresh",
    "response_age",
    "serve_headers",
    "stale_on_error",
]

# RFC 5861 §4: the errors for which stale-if-error applies (plus timeouts/refusals).
UPSTREAM_ERROR_STATUSES: frozenset[int] = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Request:
    """A client request as the core sees it: ``target`` is path?query (kept for §4.4)."""

    method: str
    target: str
    headers: Headers
    scheme: str = "http"

    @property
    def host(self) -> str:
        """The Host field ("" when absent)."""
        return self.headers.get("host") or ""


@dataclass(frozen=True, slots=True)
class Response:
    """An upstream response: status, header fields and body size in bytes (no body)."""

    status: int
    headers: Headers
    size: int


# ---- decisions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    """Serve ``entry`` now. ``stale`` is True when served past its lifetime (client max-stale)."""

    entry: Entry
    age: int
    stale: bool = False


@dataclass(frozen=True, slots=True)
class Revalidate:
    """Ask upstream whether ``entry`` is still good (§4.3.1).

    Send ``method`` with ``headers`` (the client's fields minus hop-by-hop and its own
    conditionals, plus our If-None-Match / If-Modified-Since). ``entries`` are all the stored
    variants the request selected, ``entry`` first; a 304 may freshen any of them.
    ``fwd`` is the RFC 9211 reason: "stale" (stale, no-cache or soft-purged entry) or
    "request" (the request's directives refused a fresh entry).
    """

    entry: Entry
    entries: tuple[Entry, ...]
    headers: Headers
    method: str
    fwd: str
    collapsible: bool


@dataclass(frozen=True, slots=True)
class StaleHit:
    """Serve the stale ``entry`` now and run ``refresh`` once in the background (RFC 5861 §3)."""

    entry: Entry
    age: int
    refresh: Revalidate


@dataclass(frozen=True, slots=True)
class Miss:
    """Nothing usable stored: fetch ``method`` with ``headers`` upstream.

    ``fwd`` is the RFC 9211 reason: "uri-miss" (nothing under this key), "vary-miss" (no
    variant selected), "stale"/"request" (an entry was selected but has no validator).
    ``stale`` holds that selected entry, for ``stale_on_error``. ``collapsible``: concurrent
    identical misses may share one upstream fetch.
    """

    headers: Headers
    method: str
    fwd: str
    collapsible: bool
    stale: tuple[Entry, ...] = ()


@dataclass(frozen=True, slots=True)
class Bypass:
    """Neither answer from cache nor store: forward ``headers`` as is (e.g. unsafe method)."""

    reason: str
    fwd: str
    headers: Headers


@dataclass(frozen=True, slots=True)
class OnlyIfCachedMiss:
    """``only-if-cached`` and nothing usable stored: answer 504 (§5.2.1.7)."""


Decision = Hit | StaleHit | Revalidate | Miss | Bypass | OnlyIfCachedMiss

# ---- outcomes --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Store:
    """Store ``entry`` (replacing the same key and variant) and serve the response."""

    entry: Entry


@dataclass(frozen=True, slots=True)
class Freshen:
    """A 304 updated these stored entries (§4.3.4): put them back; serve ``entry`` (the first)."""

    entries: tuple[Entry, ...]

    @property
    def entry(self) -> Entry:
        """The freshened entry to serve."""
        return self.entries[0]


@dataclass(frozen=True, slots=True)
class Pass:
    """Do not store; serve the upstream response as is.

    ``hit_for_pass``: the response itself was uncacheable, so the shell may stop collapsing
    requests for this key for ``CacheConfig.hit_for_pass_seconds``. ``invalidate``: targets
    (path?query) whose stored responses must be removed (§4.4).
    """

    reason: str
    hit_for_pass: bool = False
    invalidate: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refetch:
    """A 304 matched no stored entry (§4.3.4): repeat the request as ``miss`` (unconditional)."""

    miss: Miss


Outcome = Store | Freshen | Pass | Refetch

# Pass reasons that come from the response itself (so hit-for-pass makes sense).
_RESPONSE_REASONS = frozenset(
    {"status", "no-store", "private", "set-cookie", "vary-star", "no-freshness", "not-reusable"}
)


# ---- decide ----------------------------------------------------------------------------


def _forward_headers(headers: Headers, keep_conditionals: bool) -> Headers:
    forwarded = without_hop_by_hop(headers)
    return forwarded if keep_conditionals else forwarded.without(CLIENT_CONDITIONALS)


def _collapsible(headers: Headers, directives: CacheControl) -> bool:
    return "authorization" not in headers and not directives.no_store


def _miss(
    request: Request, directives: CacheControl, fwd: str, stale: tuple[Entry, ...]
) -> Miss | OnlyIfCachedMiss:
    if directives.only_if_cached:
        return OnlyIfCachedMiss()
    return Miss(
        headers=_forward_headers(request.headers, keep_conditionals=directives.no_store),
        method="GET",
        fwd=fwd,
        collapsible=_collapsible(request.headers, directives),
        stale=stale,
    )


def _revalidate(
    request: Request, directives: CacheControl, entries: Sequence[Entry], fwd: str
) -> Revalidate | Miss | OnlyIfCachedMiss:
    if directives.only_if_cached:
        return OnlyIfCachedMiss()
    validators = conditional_headers(entries)
    if not validators:
        return _miss(request, directives, fwd, (entries[0],))
    forwarded = _forward_headers(request.headers, keep_conditionals=False)
    return Revalidate(
        entry=entries[0],
        entries=tuple(entries),
        headers=forwarded.with_values(validators),
        method="GET",
        fwd=fwd,
        collapsible=_collapsible(request.headers, directives),
    )


def _age(seconds: float) -> int:
    if seconds <= 0:
        return 0
    return min(int(seconds), DELTA_SECONDS_CAP)


def decide(
    request: Request, key: str, stored: Sequence[Entry], now: float, config: CacheConfig
) -> Decision:
    """What to do with ``request`` given the entries stored under its primary ``key``.

    ``stored`` are all variants under the key (any order). Request directives (§5.2.1)
    max-age, max-stale, min-fresh, no-cache, only-if-cached are honoured; Pragma: no-cache
    only without Cache-Control (§5.4); request no-store only prevents storing (see absorb).
    """
    method = request.method
    if method != "GET" and method != "HEAD":
        return Bypass(reason="method", fwd="method", headers=without_hop_by_hop(request.headers))
    headers = request.headers
    directives = (
        request_directives(headers) if "cache-control" in headers or "pragma" in headers else EMPTY
    )
    if not stored:
        return _miss(request, directives, "uri-miss", ())
    if len(stored) == 1 and not stored[0].variant:
        candidates: Sequence[Entry] = stored
    else:
        candidates = select_variant(stored, headers)
        if not candidates:
            return _miss(request, directives, "vary-miss", ())
    entry = candidates[0]
    # The hit path: a fresh entry and no request directives.
    if directives is EMPTY:
        hit = fresh_hit(entry, now)
        if hit is not None:
            return hit
    return _decide_slow(request, directives, candidates, now)


def fresh_hit(entry: Entry, now: float) -> Hit | None:
    """``decide``'s hit path on its own: a Hit when ``entry`` may be served as is, else None.

    For a GET or HEAD without Cache-Control and Pragma whose only stored variant is
    ``entry`` (no Vary), ``decide`` answers exactly this Hit whenever this is not None; the
    other request fields cannot change it, so a shell may skip building the Request.
    None means "ask ``decide``" (stale, invalidated or no-cache entries).
    """
    if now < entry.fresh_until and not entry.invalidated and not entry.no_cache:
        return Hit(entry, response_age(entry, now))
    return None


def plain_fresh(stored: Any, now: float) -> bool:
    """``fresh_hit``'s condition on anything stored with ``fresh_until``, ``invalidated`` and
    ``no_cache`` (an Entry, or a shell's cache of one such as the simulator's template fills)."""
    return now < stored.fresh_until and not stored.invalidated and not stored.no_cache


def _decide_slow(
    request: Request, directives: CacheControl, candidates: Sequence[Entry], now: float
) -> Decision:
    entry = candidates[0]
    age = entry.current_age(now)
    lifetime = entry.freshness_lifetime
    fresh = age < lifetime
    if entry.invalidated or entry.no_cache:
        return _revalidate(request, directives, candidates, "stale")
    refused_by_request = "request" if fresh else "stale"
    if directives.no_cache:
        return _revalidate(request, directives, candidates, refused_by_request)
    if directives.max_age is not None and age > directives.max_age:
        return _revalidate(request, directives, candidates, refused_by_request)
    if directives.min_fresh is not None and lifetime - age < directives.min_fresh:
        return _revalidate(request, directives, candidates, refused_by_request)
    if fresh:
        return Hit(entry, _age(age))
    if not entry.must_revalidate:
        stale_by = age - lifetime
        max_stale = directives.max_stale
        if max_stale == "any" or (max_stale is not None and stale_by <= max_stale):
            return Hit(entry, _age(age), stale=True)
        if stale_by <= entry.stale_while_revalidate:
            refresh = _revalidate(request, EMPTY, candidates, "stale")
            if isinstance(refresh, Revalidate):
                return StaleHit(entry, _age(age), refresh)
            if isinstance(refresh, Miss):
                # No validator: the background refresh is an unconditional fetch.
                return StaleHit(
                    entry,
                    _age(age),
                    Revalidate(
                        entry=entry,
                        entries=tuple(candidates),
                        headers=refresh.headers,
                        method=refresh.method,
                        fwd="stale",
                        collapsible=refresh.collapsible,
                    ),
                )
    return _revalidate(request, directives, candidates, "stale")


# ---- absorb ----------------------------------------------------------------------------


def absorb(
    request: Request,
    key: str,
    decision: Decision,
    response: Response,
    request_time: float,
    response_time: float,
    config: CacheConfig,
) -> Outcome:
    """What to do with the upstream ``response`` to a forwarded ``decision``.

    ``request_time``/``response_time`` are when the upstream request was sent and the
    response received (§4.2.3). For a StaleHit pass the decision itself (its refresh is used).
    A 5xx is absorbed like any response; call ``stale_on_error`` first if stale may serve.
    """
    if isinstance(decision, StaleHit):
        decision = decision.refresh
    if isinstance(decision, Hit | OnlyIfCachedMiss):
        raise ValueError(f"absorb() got {type(decision).__name__}: nothing was forwarded")
    if isinstance(decision, Bypass):
        targets = invalidated_targets(
            request.method,
            response.status,
            request.target,
            response.headers,
            scheme=request.scheme,
            host=request.host,
        )
        return Pass(reason=decision.reason, invalidate=targets)
    status = response.status
    if status == 304:
        if isinstance(decision, Revalidate):
            selected = select_for_freshening(decision.entries, response.headers)
            if not selected:
                return Refetch(
                    Miss(
                        headers=decision.headers.without(CLIENT_CONDITIONALS),
                        method=decision.method,
                        fwd=decision.fwd,
                        collapsible=decision.collapsible,
                        stale=decision.entries[:1],
                    )
                )
            # Serve the entry the request selected when the 304 freshened it too.
            selected.sort(key=lambda e: e is not decision.entry)
            return Freshen(
                tuple(
                    freshen(e, response.headers, request_time, response_time, config)
                    for e in selected
                )
            )
        return Pass(reason="not-modified")
    directives_request = request_directives(request.headers)
    directives, targeted = response_directives(response.headers, config.targeted_fields)
    reason = unstorable_reason(
        decision.method,
        request.headers,
        directives_request,
        status,
        response.headers,
        directives,
        config,
        targeted=targeted,
    )
    if reason is None:
        variant = secondary_key(vary_names(response.headers), request.headers)
        entry = Entry.create(
            key=key,
            variant=variant,
            status=status,
            headers=stored_headers(response.headers, directives, config),
            size=response.size,
            request_time=request_time,
            response_time=response_time,
            config=config,
        )
        if (
            entry.freshness_lifetime > 0
            or entry.has_validator
            or entry.stale_if_error > 0
            or entry.stale_while_revalidate > 0
        ):
            return Store(entry)
        reason = "not-reusable"
    return Pass(reason=reason, hit_for_pass=reason in _RESPONSE_REASONS and status < 500)


# ---- serving ---------------------------------------------------------------------------


def stale_on_error(decision: Decision, now: float, config: CacheConfig) -> Entry | None:
    """The stored entry that may be served because upstream failed, or None (RFC 5861 §4).

    Allowed within ``stale-if-error`` (or ``config.stale_if_error_seconds``) past the entry's
    lifetime; a still-fresh entry (revalidated only because the request asked) is always
    allowed. Never for must-revalidate, proxy-revalidate, s-maxage or no-cache (§4.2.4).
    A soft-purged entry counts as stale.
    """
    if isinstance(decision, StaleHit):
        return decision.entry
    if isinstance(decision, Revalidate):
        entry = decision.entry
    elif isinstance(decision, Miss) and decision.stale:
        entry = decision.stale[0]
    else:
        return None
    if entry.no_cache:
        return None
    stale_by = entry.current_age(now) - entry.freshness_lifetime
    if stale_by < 0 and not entry.invalidated:
        return entry
    if entry.must_revalidate:
        return None
    allowed = max(entry.stale_if_error, config.stale_if_error_seconds)
    return entry if allowed > 0 and max(stale_by, 0.0) <= allowed else None


def response_age(entry: Any, now: float) -> int:
    """The Age field value to send with ``entry`` at ``now`` (§5.1: whole seconds, capped).

    §4.2.3 current_age from ``corrected_initial_age`` and ``response_time``: an Entry, or a
    shell's cache of one (the simulator's template fills) with those two fields.
    """
    age = entry.corrected_initial_age + (now - entry.response_time)
    if age <= 0:
        return 0
    whole = int(age)
    return whole if whole < DELTA_SECONDS_CAP else DELTA_SECONDS_CAP  # min(), without a call


def serve_headers(entry: Entry, now: float, *, to_client: bool = True) -> Headers:
    """Header fields to send with ``entry``: stored fields with Age set; for clients (not a
    downstream cdnlab cache) the Surrogate-Key field is removed."""
    age = str(response_age(entry, now))
    if to_client:
        return entry.client_headers.appended("Age", age)
    return entry.headers.without(("age",)).appended("Age", age)
