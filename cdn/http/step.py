"""The cache step: one request through one shared cache, as a sans-I/O state machine.

Rules: like h11's ``Connection``, the step holds the rules and the caller does the I/O. No
clock (every call takes ``now`` or the upstream's request and response times), no I/O, no
randomness, no body. The live edge and the simulator drive this one object, so they decide
alike; a shell may cache the step's *output* (rendered hit bytes, simulator templates) keyed
by what that output depends on, never re-implement a rule. The step reads the store (every
variant of the key, §4.1) and never writes it: ``Keep``/``Renew``/``Relay.invalidate`` say
what the shell must store, put back or remove (the edge keeps body bytes beside entries).

    step = CacheStep(store, config, request, key, now)
    action = step.next()
        Serve(entry, status, age, cache_status, byte_ranges, stored, refresh)
                                    answer from ``entry``: 200, 206 (byte_ranges), 304 or 416;
                                    ``refresh``: stale-while-revalidate, refresh in background
        Join(key)                   wait on the collapse leader of ``key``, then
                                    step.joined(leader's entry or None, now, waited)
        Fetch(method, headers, conditional)   send upstream, then step.received(...) / failed(...)
        Forward(headers)            send the request as is (unsafe method: its body too)
        Reject(status, cache_status) answer ``status`` (504: only-if-cached and nothing stored)
    action = step.received(response, request_time, response_time)
        Keep(entry, served)         store ``entry`` with the body, answer step.answer(entry, now)
                                    rendered from ``Keep.answer`` (the response's own fields)
        Renew(entries)              a 304 freshened ``entries``: put them back, answer
                                    step.answer(entries[0], now)
        Relay(cache_status, invalidate, hit_for_pass)   send the upstream answer on as is and
                                    remove the stored responses of ``invalidate`` (§4.4)
        Fetch                       a 304 matched nothing stored: fetch again unconditionally
        Serve                       the upstream failed (5xx) and a stale entry stands in
    action = step.failed(upstream_status, now)    Serve (stale-if-error) or Fail(cache_status)
    step.held_stand_in(now)     before sending a Fetch while the upstream is in an error hold
                                (``cdn.http.error_hold``): the stale Serve, or None (send it)

The plain-hit shortcut (``plain_hit``) is the step's own first branch: a GET/HEAD without the
``PLAIN_HIT_BLOCKERS`` fields whose key holds one fresh variant-less entry is served with its
Age, and nothing else. The store never holds a variant-less entry beside Vary'd ones
(``cdn.cache.store``), so that is exactly what variant selection and ``decide`` answer; shells
call ``plain_hit`` to skip building a Request, and tests/core checks it against the full path.

Length: over 400 lines because the step is one state machine whose actions, their typed
values and the transitions between them read best side by side (h11 keeps its Connection so).

Over 400 lines on purpose: the one per-request state machine; its states and transitions
belong together (splitting would scatter one request's walk over files).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from cdn.http.cache_status import CacheStatus, describe
from cdn.http.conditional import client_not_modified
from cdn.http.config import CacheConfig
from cdn.http.dates import parse_http_date
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
    response_age,
    stale_on_error,
)
from cdn.http.entry import Entry
from cdn.http.headers import Headers, without_hop_by_hop
from cdn.http.preconditions import if_range_holds
from cdn.http.ranges import ByteRange, Unsatisfiable, parse_range

__all__ = [
    "PLAIN_HIT_BLOCKERS",
    "Action",
    "CacheStep",
    "Fail",
    "Fetch",
    "Forward",
    "Join",
    "Keep",
    "Reject",
    "Relay",
    "Renew",
    "Serve",
    "plain_hit",
]

# Request fields that can make a stored fresh entry's answer more than a plain 200 hit.
PLAIN_HIT_BLOCKERS = ("cache-control", "pragma", "range", "if-none-match", "if-modified-since")


class Stored(Protocol):
    """What a store holds for the step: an Entry, or a shell's wrapper of one (``.entry``)."""

    @property
    def entry(self) -> Entry:
        """The stored response."""
        ...


class EntryStore(Protocol):
    """The store reads the step needs (``cdn.cache.Store`` is one)."""

    @property
    def slots(self) -> Any:
        """Stored objects by slot; a variant-less entry's slot is its key."""
        ...

    def lookup(self, key: str) -> Sequence[Any]:
        """Every stored variant of ``key``."""
        ...


# ---- actions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Serve:
    """Answer from ``entry``: ``status`` is 200 (the entry's own), 206, 304 or 416.

    ``age`` is the Age field (§4.2.3, §5.1). ``byte_ranges`` are a 206's parts (several: a
    multipart/byteranges body); a 416 carries ``Content-Range: bytes */<entry.size>``.
    ``stored``: the entry was served from the store (count a hit), not just fetched.
    ``refresh``: revalidate in the background once (stale-while-revalidate, RFC 5861 §3).
    """

    entry: Entry
    status: int
    age: int
    cache_status: CacheStatus
    byte_ranges: tuple[ByteRange, ...] = ()
    stored: bool = True
    refresh: Revalidate | None = None


@dataclass(frozen=True, slots=True)
class Join:
    """Collapse: wait on the leader fetching ``key`` (``cdn.collapse``), then ``joined``."""

    key: str


@dataclass(frozen=True, slots=True)
class Fetch:
    """Send ``method`` with ``headers`` upstream; ``conditional``: a revalidation (§4.3.1)."""

    method: str
    headers: Any  # cdn.http.Headers
    conditional: bool


@dataclass(frozen=True, slots=True)
class Forward:
    """Send the request upstream as is, body included, with ``headers`` (never stored)."""

    headers: Any  # cdn.http.Headers


@dataclass(frozen=True, slots=True)
class Reject:
    """Answer ``status`` without going upstream (504: only-if-cached, §5.2.1.7)."""

    status: int
    cache_status: CacheStatus


@dataclass(frozen=True, slots=True)
class Keep:
    """Store ``entry`` with the upstream's body, then answer ``CacheStep.answer(entry, now)``.

    ``served``: when storing dropped header fields (those named by qualified ``no-cache`` or
    ``private``, Set-Cookie, §3.1), the same entry with the response's own end-to-end fields, to
    render *this* answer from: §5.2.2.4 forbids sending those fields "in the response to a
    subsequent request without successful revalidation", not in the response that carried them.
    None when nothing was dropped (answer from ``entry``).
    """

    entry: Entry
    served: Entry | None = None

    @property
    def answer(self) -> Entry:
        """The entry whose fields this request's answer carries (``served`` or ``entry``)."""
        return self.entry if self.served is None else self.served


@dataclass(frozen=True, slots=True)
class Renew:
    """A 304 freshened ``entries`` (§4.3.4): put them back, answer with the first."""

    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Relay:
    """Send the upstream's answer on unstored; remove what ``invalidate`` names (§4.4)."""

    cache_status: CacheStatus
    invalidate: tuple[str, ...] = ()
    hit_for_pass: bool = False


@dataclass(frozen=True, slots=True)
class Fail:
    """The upstream failed and nothing stored may stand in: answer 502/504 with this status."""

    cache_status: CacheStatus


Action = Serve | Join | Fetch | Forward | Reject | Keep | Renew | Relay | Fail


def plain_hit(
    stored: Stored | None,
    fields: Container[str],
    now: float,
    blockers: Sequence[str] = PLAIN_HIT_BLOCKERS,
) -> Hit | None:
    """The step's first branch: a Hit on the variant-less ``stored`` object, or None.

    ``fields`` are the request's header names (lower-case lookups: ``Headers`` or a
    case-insensitive multidict) of a GET or HEAD. None means "run the step". ``blockers``
    are ``PLAIN_HIT_BLOCKERS`` as the caller's container looks them up fastest (the edge
    passes them as aiohttp's pre-folded ``istr``); never another list.
    """
    if stored is None:
        return None
    for name in blockers:
        if name in fields:
            return None
    return fresh_hit(stored.entry, now)


class CacheStep:
    """One request through one cache: ``next``, then ``joined``/``received``/``failed``."""

    __slots__ = (
        "_collapsed",
        "_config",
        "_decision",
        "_key",
        "_now",
        "_outcome",
        "_request",
        "_store",
        "_upstream_status",
    )

    def __init__(
        self, store: EntryStore, config: CacheConfig, request: Request, key: str, now: float
    ) -> None:
        self._store = store
        self._config = config
        self._request = request
        self._key = key
        self._now = now
        self._decision: Decision | None = None
        self._outcome: Outcome | None = None
        self._collapsed = False
        self._upstream_status: int | None = None

    @property
    def decision(self) -> Decision | None:
        """``decide``'s answer for this request (None before ``next``)."""
        return self._decision

    @property
    def key(self) -> str:
        """The request's primary cache key."""
        return self._key

    def next(self) -> Serve | Join | Fetch | Forward | Reject:
        """What to do first: serve from the store, collapse, fetch, forward or reject."""
        request, key, now = self._request, self._key, self._now
        method = request.method
        entries: Sequence[Entry] = ()
        if method == "GET" or method == "HEAD":
            stored = self._store.slots.get(key)
            hit = plain_hit(stored, request.headers, now)
            if hit is not None:
                self._decision = hit
                return Serve(hit.entry, hit.entry.status, hit.age, describe(hit, now=now))
            if stored is not None:
                entries = (stored.entry,)
            else:
                entries = [found.entry for found in self._store.lookup(key)]
        decision = self._decision = decide(request, key, entries, now, self._config)
        if isinstance(decision, Hit):
            return self._serve(decision.entry, now, describe(decision, now=now))
        if isinstance(decision, StaleHit):
            status = describe(decision, now=now)
            return self._serve(decision.entry, now, status, refresh=decision.refresh)
        if isinstance(decision, Bypass):
            return Forward(decision.headers)
        if isinstance(decision, OnlyIfCachedMiss):
            return Reject(504, describe(decision, now=now))
        if decision.collapsible:
            return Join(key)
        return _fetch(decision)

    def joined(self, shared: Stored | None, now: float, waited: bool) -> Serve | Fetch:
        """After ``Join``: serve the leader's ``shared`` entry if it fits, else fetch alone.

        ``waited``: this request followed a leader (its Cache-Status says collapsed).
        """
        decision = self._fetching()
        self._collapsed = waited
        if shared is not None:
            again = decide(self._request, self._key, (shared.entry,), now, self._config)
            if isinstance(again, Hit):
                status = describe(decision, Store(shared.entry), now=now, collapsed=True)
                return self._serve(again.entry, now, status, stored=False)
        return _fetch(decision)

    def received(
        self, response: Response, request_time: float, response_time: float
    ) -> Keep | Renew | Relay | Fetch | Serve:
        """What the upstream's ``response`` (sent at ``request_time``) means for the store."""
        decision = self._decision
        if decision is None or isinstance(decision, Hit | OnlyIfCachedMiss):
            raise ValueError(f"received() after {type(decision).__name__}: nothing was sent")
        status = response.status
        self._upstream_status = status
        if isinstance(decision, Bypass):
            outcome = absorb(
                self._request,
                self._key,
                decision,
                response,
                request_time,
                response_time,
                self._config,
            )
            assert isinstance(outcome, Pass)
            self._outcome = outcome
            return Relay(
                describe(decision, outcome, now=response_time, upstream_status=status),
                outcome.invalidate,
            )
        if status in UPSTREAM_ERROR_STATUSES:
            stale = self._stale_on_error(response_time)
            if stale is not None:
                return stale
        outcome = absorb(
            self._request,
            self._key,
            decision,
            response,
            request_time,
            response_time,
            self._config,
        )
        self._outcome = outcome
        if isinstance(outcome, Refetch):
            self._decision = outcome.miss
            return _fetch(outcome.miss)
        if isinstance(outcome, Store):
            return Keep(outcome.entry, _as_received(outcome.entry, response.headers))
        if isinstance(outcome, Freshen):
            return Renew(outcome.entries)
        return Relay(
            describe(
                decision,
                outcome,
                now=response_time,
                upstream_status=status,
                collapsed=self._collapsed,
            ),
            outcome.invalidate,
            outcome.hit_for_pass,
        )

    def refused(self, reason: str, now: float) -> Relay:
        """The shell will not keep what ``received`` said to keep (e.g. too large, a peer's).

        Turns the Keep into a Relay with ``reason`` as its Cache-Status detail.
        """
        decision = self._fetching()
        outcome = self._outcome = Pass(reason=reason)
        status = describe(
            decision,
            outcome,
            now=now,
            upstream_status=self._upstream_status,
            collapsed=self._collapsed,
        )
        return Relay(status)

    def answer(self, entry: Entry, now: float, *, stored: bool | None = None) -> Serve:
        """Serve ``entry`` after ``Keep``/``Renew`` (the shell may have corrected its size).

        ``stored``: served from the store (a hit to count); by default True after a 304.
        """
        decision = self._fetching()
        outcome = self._outcome
        status = describe(
            decision,
            outcome,
            now=now,
            upstream_status=self._upstream_status,
            collapsed=self._collapsed,
        )
        if stored is None:
            stored = isinstance(outcome, Freshen)
        return self._serve(entry, now, status, stored=stored)

    def upstream_request(self) -> Fetch:
        """The fetch this step waits on (after ``Join``/``Fetch``, or a refresh's)."""
        return _fetch(self._fetching())

    def failed(self, upstream_status: int | None, now: float) -> Serve | Fail:
        """The upstream failed (``upstream_status`` None: timeout or refused): stale or Fail."""
        self._upstream_status = upstream_status
        stale = self._stale_on_error(now)
        if stale is not None:
            return stale
        decision = self._decision
        assert decision is not None
        return Fail(describe(decision, None, now=now, upstream_status=upstream_status))

    def held_stand_in(self, now: float) -> Serve | None:
        """The upstream is in an error hold (``cdn.http.error_hold``): the stale entry that
        answers this request without fetching (as ``failed`` would after a failure), or None
        (nothing may stand in: send the fetch)."""
        decision = self._decision
        if not isinstance(decision, Miss | Revalidate):
            return None
        entry = stale_on_error(decision, now, self._config)
        if entry is None:
            return None
        status = describe(decision, None, now=now, served_stale_on_error=True, held=True)
        return self._serve(entry, now, status)

    # -- internals -----------------------------------------------------------------------------

    def _fetching(self) -> Miss | Revalidate:
        decision = self._decision
        if isinstance(decision, StaleHit):
            return decision.refresh
        if not isinstance(decision, Miss | Revalidate):
            raise ValueError(f"nothing is fetched after {type(decision).__name__}")
        return decision

    def _stale_on_error(self, now: float) -> Serve | None:
        decision = self._decision
        assert decision is not None
        entry = stale_on_error(decision, now, self._config)
        if entry is None:
            return None
        status = describe(
            decision,
            None,
            now=now,
            upstream_status=self._upstream_status,
            served_stale_on_error=True,
            collapsed=self._collapsed,
        )
        return self._serve(entry, now, status)

    def _serve(
        self,
        entry: Entry,
        now: float,
        cache_status: CacheStatus,
        *,
        stored: bool = True,
        refresh: Revalidate | None = None,
    ) -> Serve:
        """Serve ``entry`` to this request: its preconditions (§4.3.2) and Range (§14)."""
        age = response_age(entry, now)
        headers = self._request.headers
        if ("if-none-match" in headers or "if-modified-since" in headers) and client_not_modified(
            headers, entry
        ):
            return Serve(entry, 304, age, cache_status, (), stored, refresh)
        if entry.status == 200 and self._request.method == "GET" and "range" in headers:
            last_modified = parse_http_date(entry.last_modified) if entry.last_modified else None
            if if_range_holds(headers, entry.etag, last_modified):
                ranges = parse_range(headers.get("range") or "", entry.size)
                if isinstance(ranges, Unsatisfiable):
                    return Serve(entry, 416, age, cache_status, (), stored, refresh)
                if ranges is not None:
                    return Serve(entry, 206, age, cache_status, ranges, stored, refresh)
        return Serve(entry, entry.status, age, cache_status, (), stored, refresh)


def _as_received(entry: Entry, headers: Headers) -> Entry | None:
    """``entry`` with the response's end-to-end fields, or None when storing dropped none.

    Only qualified ``no-cache``/``private`` and Set-Cookie make the stored fields differ from
    the response's end-to-end ones (``stored_headers``), so other responses cost one check.
    """
    directives = entry.directives
    if not (directives.no_cache_fields or directives.private_fields or "set-cookie" in headers):
        return None
    fields = without_hop_by_hop(headers)
    if len(fields) == len(entry.headers):
        return None
    return replace(
        entry,
        headers=fields,
        client_headers=fields.without(("age", "surrogate-key")),
    )


def _fetch(decision: Miss | Revalidate) -> Fetch:
    return Fetch(decision.method, decision.headers, isinstance(decision, Revalidate))
