"""A body-less cache node: the core store plus the core decide/absorb, as the live edge uses them.

Rules: every stored entry comes out of ``cdn.http.decision.absorb`` on a synthetic origin response
built from the topology's CacheRule (Cache-Control, Expires, Vary, Surrogate-Key, extra headers)
with ``Date = now`` and an ETag, so TTL expiry, revalidation (a 304: a round trip, no body),
stale-while-revalidate and purges behave as on the edge. Simulated time is used as epoch seconds.
One shortcut, equal by construction to ``decide``'s own first branch: a request with no request
directives whose single variant-less entry is fresh, not invalidated and not no-cache is a Hit;
an empty key is a Miss (``uri-miss``). Everything else goes through ``decide``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

from cdn.cache.store import Store
from cdn.http.config import CacheConfig
from cdn.http.dates import format_http_date
from cdn.http.decision import (
    Freshen,
    Hit,
    Miss,
    Pass,
    Refetch,
    Request,
    Response,
    Revalidate,
    StaleHit,
    absorb,
    decide,
)
from cdn.http.decision import Store as StoreOutcome
from cdn.http.entry import Entry
from cdn.http.headers import Headers
from cdn.topology import CacheRule, rule_headers

# Fields a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5), as origin/ sends them.
NOT_MODIFIED_FIELDS = frozenset({"cache-control", "expires", "vary", "content-location"})

# Outcome codes of one request at one node (indexes into OUTCOMES).
HIT, STALE, REVALIDATED, MISS, COLLAPSED, BYPASS = range(6)
OUTCOMES = ("hit", "stale", "revalidated", "miss", "collapsed", "bypass")
# docs/metrics.md's hit: served without a body fetch by this request.
HIT_CODES = frozenset({HIT, STALE, REVALIDATED, COLLAPSED})

# What a fill did with the upstream answer (what the edge tells its collapsing followers).
STORED, UNCACHEABLE, NOT_STORED = range(3)  # stored | Pass with hit-for-pass | other Pass


@dataclass(frozen=True, slots=True)
class OriginHeaders:
    """The synthetic origin's response fields for one CacheRule (``{id}`` filled per object)."""

    rule: CacheRule

    def response(self, obj_id: int, size: int, now: float, age: int = 0) -> Response:
        """The 200 response for ``obj_id`` at ``now``; ``age`` > 0 when a cache upstream served it.

        Date is when the origin generated it (``now - age``): an upstream cache keeps its Date.
        """
        return Response(200, Headers(self.fields(obj_id, now, age)), size)

    def not_modified(self, obj_id: int, now: float, age: int = 0) -> Response:
        """The 304 answer to a revalidation of ``obj_id`` at ``now`` (objects never change)."""
        return Response(304, Headers(self.fields(obj_id, now, age, body=False)), 0)

    def fields(self, obj_id: int, now: float, age: int, body: bool = True) -> list[tuple[str, str]]:
        """The header fields of the answer for ``obj_id`` at ``now`` (a 304's when not ``body``)."""
        # Date is the origin's generation time; the rule's fields (Expires too) are the core's,
        # as the live origin sends them (cdn.topology.rule_headers).
        generated = now - age
        fields = [("Date", format_http_date(generated)), ("ETag", f'"{obj_id}"')]
        if age > 0:
            fields.append(("Age", str(age)))
        rule_fields = rule_headers(self.rule, obj_id, generated)
        if body:
            fields.extend(rule_fields)
        else:  # a 304 repeats only the fields RFC 9110 §15.4.5 names, as the live origin does
            fields.extend(f for f in rule_fields if f[0].lower() in NOT_MODIFIED_FIELDS)
        return fields


# Entry fields recomputed per object and fetch; header copies shared with the template.
PER_FETCH_FIELDS = frozenset(
    {
        "key",
        "size",
        "request_time",
        "response_time",
        "surrogate_keys",
        "corrected_initial_age",
        "date",
        "etag",
        "fresh_until",
        "headers",
        "client_headers",
    }
)


class EntryTemplate:
    """absorb()'s Store outcome for one CacheRule, re-stamped per object and time.

    absorb() on the synthetic origin's 200 differs between objects and instants only in the
    per-object fields (key, size, ETag, surrogate keys) and the §4.2.3 times; everything else
    (directives, lifetime, stale-* allowances, variant) is a function of the rule. The template
    is built by calling absorb() for two objects at two instants and is used only when every
    other Entry field agrees; ``entry_for`` recomputes the per-fetch fields with the same §4.2.3
    formulas, and the object's own header fields (so a 304 merged into a built-out entry keeps
    its Surrogate-Key, ETag and Date). tests/sim checks that runs with and without templates
    give the same report.
    """

    __slots__ = (
        "_at",
        "_id_tags",
        "_plain_tags",
        "_values",
        "fields",
        "lifetime",
        "no_cache",
        "origin",
    )

    def __init__(self, base: Entry, origin: OriginHeaders) -> None:
        tags = origin.rule.surrogate_keys
        self.origin = origin
        names = [f.name for f in dataclasses.fields(Entry)]
        self.fields = {name: getattr(base, name) for name in names}
        self._values = [self.fields[name] for name in names]  # positional: faster than **kwargs
        self._at = {name: names.index(name) for name in PER_FETCH_FIELDS}
        self.lifetime = base.freshness_lifetime
        self.no_cache = base.no_cache
        self._plain_tags = tuple(tag for tag in tags if "{id}" not in tag)
        self._id_tags = tuple(tuple(tag.split("{id}", 1)) for tag in tags if "{id}" in tag)

    @classmethod
    def probe(
        cls, origin: OriginHeaders, request: Request, config: CacheConfig
    ) -> EntryTemplate | None:
        """The template of ``origin``'s rule, or None when absorb's result is not invariant."""
        entries = []
        for obj_id, t0, t1 in ((0, 0.0, 0.25), (1, 86_400.5, 86_401.9)):
            decision = decide(request, "/probe", (), t0, config)
            response = origin.response(obj_id, 1 + obj_id, t1)
            outcome = absorb(request, "/probe", decision, response, t0, t1, config)
            if not isinstance(outcome, StoreOutcome):
                return None
            entries.append(outcome.entry)
        a, b = entries
        for f in dataclasses.fields(Entry):
            if f.name in PER_FETCH_FIELDS:
                continue
            if getattr(a, f.name) != getattr(b, f.name):
                return None
        if a.last_modified is not None or a.corrected_initial_age != 0.25:
            return None  # validators or Age we do not re-stamp
        template = cls(a, origin)
        again = template.entry_for("/probe", 1, 2, 86_400.5, 86_401.9)
        if any(getattr(again, f.name) != getattr(b, f.name) for f in dataclasses.fields(Entry)):
            return None  # re-stamping does not reproduce absorb(): use absorb every time
        return template

    def refreshes_like_fills(
        self, origin: OriginHeaders, request: Request, config: CacheConfig
    ) -> bool:
        """Whether absorbing a 304 for a stale fill gives the fill of the revalidation's times.

        Checked as ``probe`` checks fills: for two objects and instants (Age 0 and Age > 0),
        a stored fill revalidated once it is stale and freshened by the synthetic 304 through
        the exact ``absorb`` must equal ``entry_for`` at the revalidation's request and response
        times in every field (header fields in any order: a 304's merge lists the kept fields
        first, and the sim sends no headers). Then a refresh stores a ``Filled`` record.
        """
        lifetime = self.lifetime if math.isfinite(self.lifetime) else 0.0
        cases = ((3, 10.0, 10.3, 0, 0.4, 0), (4, 86_400.5, 86_401.9, 2, 1.6, 7))
        for obj_id, filled_at, arrived, fill_age, took, age in cases:
            key = f"/probe/{obj_id}"
            stored = Filled(key, obj_id, 1 + obj_id, filled_at, arrived, fill_age, self)
            asked = arrived + lifetime + 5.5
            decision = decide(request, key, [stored.entry()], asked, config)
            if isinstance(decision, StaleHit):
                decision = decision.refresh
            if not isinstance(decision, Revalidate):
                return False
            answer = origin.not_modified(obj_id, asked + took, age)
            outcome = absorb(request, key, decision, answer, asked, asked + took, config)
            if not isinstance(outcome, Freshen) or len(outcome.entries) != 1:
                return False
            expected = self.entry_for(key, obj_id, 1 + obj_id, asked, asked + took, age)
            if not _agree(outcome.entry, expected):
                return False
        return True

    def surrogate_keys_of(self, obj_id: int) -> frozenset[str]:
        """The surrogate keys of ``obj_id``'s entry (``{id}`` filled in)."""
        text = str(obj_id)
        return frozenset(
            (*self._plain_tags, *(f"{head}{text}{tail}" for head, tail in self._id_tags))
        )

    def entry_for(
        self,
        key: str,
        obj_id: int,
        size: int,
        request_time: float,
        response_time: float,
        age: int = 0,
    ) -> Entry:
        """The entry absorb() would store for ``obj_id`` fetched over [request_time, response_time]."""
        times = Filled(key, obj_id, size, request_time, response_time, age, self)  # §4.2.3
        values = self._values.copy()
        at = self._at
        values[at["key"]] = key
        values[at["size"]] = size
        values[at["request_time"]] = request_time
        values[at["response_time"]] = response_time
        id_tags = self._id_tags
        if id_tags:
            text = str(obj_id)
            if len(id_tags) == 1:  # the common rule: one per-object tag (no generator)
                head, tail = id_tags[0]
                values[at["surrogate_keys"]] = frozenset((*self._plain_tags, head + text + tail))
            else:
                values[at["surrogate_keys"]] = frozenset(
                    (*self._plain_tags, *(f"{head}{text}{tail}" for head, tail in id_tags))
                )
        values[at["corrected_initial_age"]] = times.corrected_initial_age
        values[at["date"]] = times.date
        values[at["etag"]] = f'"{obj_id}"'
        values[at["fresh_until"]] = times.fresh_until
        headers = Headers(self.origin.fields(obj_id, response_time, age))
        values[at["headers"]] = headers
        values[at["client_headers"]] = headers.without(("age", "surrogate-key"))
        return Entry.from_fields(values)


def _agree(a: Entry, b: Entry) -> bool:
    """Whether two entries agree in every field, their header fields in any order."""
    for f in dataclasses.fields(Entry):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, Headers) and isinstance(y, Headers):
            if sorted((n.lower(), v) for n, v in x) != sorted((n.lower(), v) for n, v in y):
                return False
        elif x != y:
            return False
    return True


@dataclass(slots=True, init=False)
class Filled:
    """A template fill as the store keeps it: what ``EntryTemplate.entry_for`` needs, not its Entry.

    The store needs only the Storable fields and the hit shortcut only ``invalidated``,
    ``no_cache``, ``fresh_until`` and the §4.2.3 times, so a fill stores these and the Entry is
    built (``entry()``: the very Entry ``entry_for`` returns) only when ``decide`` must look at
    it. ``Filled(key, obj_id, size, request_time, response_time, age, template)`` computes the
    §4.2.3 times itself with ``entry_for``'s formulas (one call per fill, the simulator's most
    frequent allocation). A soft purge replaces it with ``invalidated=True``
    (``dataclasses.replace`` passes the same arguments), as an Entry.
    """

    key: str
    obj_id: int
    size: int
    request_time: float
    response_time: float
    age: int
    template: EntryTemplate
    invalidated: bool
    corrected_initial_age: float = field(init=False)
    fresh_until: float = field(init=False)
    no_cache: bool = field(init=False)  # the rule's unqualified no-cache (read per hit)
    # Template fills have no variant (a class attribute: the store reads it per put and hit).
    variant: ClassVar[tuple[()]] = ()

    def __init__(
        self,
        key: str,
        obj_id: int,
        size: int,
        request_time: float,
        response_time: float,
        age: int,
        template: EntryTemplate,
        invalidated: bool = False,
    ) -> None:
        self.key = key
        self.obj_id = obj_id
        self.size = size
        self.request_time = request_time
        self.response_time = response_time
        self.age = age
        self.template = template
        self.invalidated = invalidated
        date = float(int(response_time - age))  # Date has whole seconds (format truncates)
        initial_age = age + response_time - request_time  # §4.2.3: max(apparent, corrected)
        if response_time > date and response_time - date > initial_age:  # max(), without a call
            initial_age = response_time - date
        elif not initial_age > 0.0:
            initial_age = 0.0
        self.corrected_initial_age = initial_age
        self.fresh_until = response_time + template.lifetime - initial_age
        self.no_cache = template.no_cache

    @property
    def date(self) -> float:
        """The Date of the stored response, in whole seconds (the origin's generation time)."""
        return float(int(self.response_time - self.age))

    @property
    def surrogate_keys(self) -> frozenset[str]:
        """The fill's tags (read only when a store builds its tag index for a purge)."""
        return self.template.surrogate_keys_of(self.obj_id)

    def entry(self) -> Entry:
        """The Entry absorb() would have stored for this fill."""
        entry = self.template.entry_for(
            self.key, self.obj_id, self.size, self.request_time, self.response_time, self.age
        )
        if self.invalidated:
            entry = dataclasses.replace(entry, invalidated=True)
        return entry


def entries_of(stored: list) -> list[Entry]:
    """The store's entries of a key as Entries (template fills built out)."""
    return [e.entry() if type(e) is Filled else e for e in stored]


class NodeCache:
    """One node's cache: ``lookup`` decides, ``fill``/``refresh`` absorb the upstream answer.

    ``exact=True`` calls absorb() for every fill and refresh instead of using the EntryTemplate.
    With a template, a 304 that freshens a stored (not soft-purged) template fill stores the
    revalidation's template fill, when ``EntryTemplate.refreshes_like_fills`` showed that to be
    what absorb() stores (the sim's objects never change, so the 304 always matches).
    """

    __slots__ = (
        "_get",
        "config",
        "origin",
        "refresh_fills",
        "relayed",
        "request",
        "store",
        "template",
        "variant",
    )

    def __init__(
        self,
        capacity: int,
        policy: str,
        config: CacheConfig,
        origin: OriginHeaders,
        exact: bool = False,
    ) -> None:
        self.store = Store(capacity, policy)
        self._get = self.store.get
        self.config = config
        self.origin = origin
        self.request = Request("GET", "/", Headers([("Host", "cdnlab")]))
        template = EntryTemplate.probe(origin, self.request, config)
        self.variant = template.fields["variant"] if template is not None else ()
        self.template = None if exact else template
        self.refresh_fills = self.template is not None and self.template.refreshes_like_fills(
            origin, self.request, config
        )
        # What absorb says of an origin answer relayed by a peer (the non-owner serves it to
        # its collapsed followers when cacheable, as the edge does, but does not store it).
        decision = decide(self.request, "/probe", (), 0.0, config)
        outcome = absorb(
            self.request, "/probe", decision, origin.response(0, 1, 0.25), 0.0, 0.25, config
        )
        if isinstance(outcome, StoreOutcome):
            self.relayed = STORED
        elif isinstance(outcome, Pass) and outcome.hit_for_pass:
            self.relayed = UNCACHEABLE
        else:
            self.relayed = NOT_STORED

    def age_of(self, key: str, now: float) -> int:
        """The Age (whole seconds, §5.1) of the entry stored for ``key`` at ``now``; 0 if none."""
        entry = self._get(key, self.variant)
        if entry is None:
            return 0
        age = entry.corrected_initial_age + now - entry.response_time
        return int(age) if age > 0 else 0

    def lookup(self, key: str, now: float) -> tuple[int, object]:
        """(outcome code, decision or entry) for a GET of ``key`` at ``now``.

        HIT/STALE are served from the cache (STALE also needs a background refresh);
        REVALIDATED and MISS must go upstream with the returned decision.
        """
        entry = self._get(key, self.variant)
        if entry is None:
            return (MISS, None) if not self.variant else self.decide(key, now)
        if not entry.invalidated and not entry.no_cache and now < entry.fresh_until:
            self.store.record_hit(entry)
            return HIT, entry
        return self.decide(key, now)

    def decide(self, key: str, now: float) -> tuple[int, object]:
        """``lookup`` past its shortcut: (outcome code, decision) from ``decide`` and accounting.

        For a caller that has already read ``get(key, variant)`` and found no fresh plain hit.
        """
        decision = decide(self.request, key, entries_of(self.store.lookup(key)), now, self.config)
        if isinstance(decision, Hit):
            self.store.record_hit(decision.entry)
            return HIT, decision.entry
        if isinstance(decision, StaleHit):
            self.store.record_hit(decision.entry)
            return STALE, decision
        if isinstance(decision, Revalidate):
            self.store.record_miss(0)
            return REVALIDATED, decision
        if isinstance(decision, Miss):
            self.store.record_miss(0)
            return MISS, decision
        return BYPASS, decision

    def fill(
        self,
        key: str,
        obj_id: int,
        size: int,
        decision: object,
        request_time: float,
        done: float,
        age: int = 0,
    ) -> int:
        """Absorb the upstream 200 (Age ``age``) for a miss sent at ``request_time``, received at ``done``.

        Returns STORED, UNCACHEABLE (a Pass with hit-for-pass) or NOT_STORED.
        """
        template = self.template
        if decision is None and template is not None:
            self.store.put(Filled(key, obj_id, size, request_time, done, age, template))
            return STORED
        if decision is None:
            decision = decide(self.request, key, (), request_time, self.config)
        response = self.origin.response(obj_id, size, done, age)
        outcome = absorb(self.request, key, decision, response, request_time, done, self.config)
        if isinstance(outcome, StoreOutcome):
            self.store.put(outcome.entry)
            return STORED
        if isinstance(outcome, Pass):
            for target in outcome.invalidate:
                self.store.purge_key(target)
            return UNCACHEABLE if outcome.hit_for_pass else NOT_STORED
        return NOT_STORED

    def refresh(
        self,
        key: str,
        obj_id: int,
        size: int,
        decision: object,
        request_time: float,
        done: float,
        age: int = 0,
    ) -> bool:
        """Absorb a 304 to a revalidation; False when it matched nothing and a refetch is due."""
        if self.refresh_fills:
            stored = self.store.get(key)
            if type(stored) is Filled and not stored.invalidated:
                self.store.put(
                    Filled(key, obj_id, size, request_time, done, age, self.template)  # type: ignore[arg-type]
                )
                return True
        if isinstance(decision, StaleHit):
            decision = decision.refresh
        response = self.origin.not_modified(obj_id, done, age)
        outcome = absorb(self.request, key, decision, response, request_time, done, self.config)
        if isinstance(outcome, Freshen):
            for entry in outcome.entries:
                self.store.put(entry)
            return True
        if isinstance(outcome, Refetch):
            self.fill(key, obj_id, size, outcome.miss, request_time, done, age)
            return False
        if isinstance(outcome, StoreOutcome):
            self.store.put(outcome.entry)
        return True


def entry_of(found: object) -> Entry | None:
    """The entry a lookup result refers to (None for a plain miss)."""
    if isinstance(found, Entry):
        return found
    return getattr(found, "entry", None)
