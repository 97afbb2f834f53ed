"""Simulator templates: caches of the cache step's output for the common fill, checked against it.

Rules: an ``EntryTemplate`` is absorb()'s Store outcome for one CacheRule, keyed by what it
depends on (the rule, the object, the fetch times); it is used only when ``probe`` showed that
re-stamping reproduces absorb() field for field, and ``Filled`` is what the store keeps for a
template fill (its Entry built on demand, ``.entry``). Nothing here decides: ``decide``,
``absorb`` and the cache step do (``sim.nodecache``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

from cdn.http.config import CacheConfig
from cdn.http.decision import Freshen, Request, Revalidate, StaleHit, absorb, decide
from cdn.http.decision import Store as StoreOutcome
from cdn.http.entry import Entry
from cdn.http.headers import Headers
from sim.origin_headers import OriginHeaders

__all__ = ["PER_FETCH_FIELDS", "EntryTemplate", "Filled"]

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
            decision = decide(request, key, [stored.entry], asked, config)
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
    built (``.entry``: the very Entry ``entry_for`` returns) only when ``decide`` must look at
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
        date = response_time - age  # Date has whole seconds (format truncates): as int()
        date = date // 1.0 if date >= 0.0 else float(int(date))  # floor: no calls when >= 0
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

    @property
    def entry(self) -> Entry:
        """The Entry absorb() would have stored for this fill (built on each read)."""
        entry = self.template.entry_for(
            self.key, self.obj_id, self.size, self.request_time, self.response_time, self.age
        )
        if self.invalidated:
            entry = dataclasses.replace(entry, invalidated=True)
        return entry
