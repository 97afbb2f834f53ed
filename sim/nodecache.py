"""A body-less cache node: the core store driven by the core's cache step, as the live edge does.

Rules: every request that is not a plain fresh hit runs the core's ``CacheStep`` (variant
lookup, decide, collapsing, absorb, freshening), with the synthetic origin's answers
(``sim.origin_headers``) as the upstream; simulated time is used as epoch seconds. The plain
hit and the template fills are caches of the step's output: the node checks a stored fill with
the core's ``plain_fresh`` and ``response_age`` (the step's first branch on a fill without
building its Entry), and a template fill is what absorb() would store, verified by
``EntryTemplate.probe`` (``exact=True`` turns templates off; tests/sim checks both agree).
"""

from __future__ import annotations

from cdn.cache.store import Store
from cdn.http.config import CacheConfig
from cdn.http.decision import Pass, Request, absorb, decide, response_age
from cdn.http.decision import Store as StoreOutcome
from cdn.http.headers import Headers
from cdn.http.step import CacheStep, Fetch, Forward, Join, Keep, Relay, Renew, Serve
from sim.origin_headers import OriginHeaders
from sim.outcomes import (
    BYPASS,
    HIT,
    MISS,
    NOT_STORED,
    REVALIDATED,
    STALE,
    STORED,
    UNCACHEABLE,
    Fill,
    Outcome,
)
from sim.templates import EntryTemplate, Filled

__all__ = ["NodeCache", "Refresh"]


class Refresh:
    """What a revalidation's answer did (``NodeCache.refresh``)."""

    RENEWED = "renewed"  # a 304 freshened the stored entry
    REPLACED = "replaced"  # a new full response came and was absorbed (a miss after all)
    REFETCH = "refetch"  # a 304 matched nothing: fetch again unconditionally, then ``fill``


class NodeCache:
    """One node's cache: ``decide`` runs the step, ``fill``/``refresh`` hand it the answer.

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
        store: Store | None = None,
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """``store``: share another NodeCache's store (a node's behaviors, sim.behaviors);
        ``fields``: what the node's requests carry besides Host (a normalised Accept-Encoding
        on a compressing behavior, sim.compression)."""
        self.store = Store(capacity, policy) if store is None else store
        self._get = self.store.get
        self.config = config
        self.origin = origin
        self.request = Request("GET", "/", Headers([("Host", "cdnlab"), *fields]))
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
        return 0 if entry is None else response_age(entry, now)

    def decide(self, key: str, now: float) -> tuple[Outcome, CacheStep, int]:
        """Run the cache step for a GET of ``key`` at ``now``: (outcome, step, Age if served).

        HIT/STALE are served from the store (STALE also needs ``refresh`` in the background);
        REVALIDATED and MISS must go upstream, then ``refresh`` / ``fill`` with the step.
        Counts the store's hit or miss.
        """
        step = CacheStep(self.store, self.config, self.request, key, now)
        action = step.next()
        if type(action) is Serve:
            self.store.record_hit(action.entry)
            return (HIT if action.cache_status.label == "hit" else STALE), step, action.age
        if type(action) is Join:  # the node collapses on its own (sim.node), before this
            action = step.joined(None, now, waited=False)
        if type(action) is Forward:
            return BYPASS, step, 0
        self.store.record_miss(0)
        assert type(action) is Fetch, action
        return (REVALIDATED if action.conditional else MISS), step, 0

    def fill(
        self,
        key: str,
        obj_id: int,
        size: int,
        step: CacheStep | None,
        request_time: float,
        done: float,
        age: int = 0,
    ) -> Fill:
        """Absorb the upstream 200 (Age ``age``) for a miss sent at ``request_time``, received at ``done``.

        ``step`` is None for the node's plain miss (nothing stored under ``key``).
        """
        template = self.template
        if step is None and template is not None:
            self.store.put(Filled(key, obj_id, size, request_time, done, age, template))
            return STORED
        if step is None:
            step = CacheStep(self.store, self.config, self.request, key, request_time)
            step.next()
        answer = self.origin.answer(step.upstream_request(), obj_id, size, done, age)
        return self._keep(step.received(answer, request_time, done))

    def refresh(
        self,
        key: str,
        obj_id: int,
        size: int,
        step: CacheStep,
        request_time: float,
        done: float,
        age: int = 0,
    ) -> str:
        """Absorb the answer to a revalidation (a Refresh value: renewed, replaced, refetch)."""
        if self.refresh_fills:
            stored = self.store.get(key)
            if type(stored) is Filled and not stored.invalidated:
                self.store.put(
                    Filled(key, obj_id, size, request_time, done, age, self.template)  # type: ignore[arg-type]
                )
                return Refresh.RENEWED
        answer = self.origin.answer(step.upstream_request(), obj_id, size, done, age)
        action = step.received(answer, request_time, done)
        if type(action) is Fetch:
            return Refresh.REFETCH
        if type(action) is Renew:
            for entry in action.entries:
                self.store.put(entry)
            return Refresh.RENEWED
        self._keep(action)
        return Refresh.REPLACED

    def _keep(self, action: object) -> Fill:
        """Do what the step said of a full answer: store it, or relay it (and invalidate)."""
        if type(action) is Keep:
            self.store.put(action.entry)
            return STORED
        if type(action) is Renew:
            for entry in action.entries:
                self.store.put(entry)
            return STORED
        if type(action) is Relay:
            for target in action.invalidate:
                self.store.purge_key(target)
            return UNCACHEABLE if action.hit_for_pass else NOT_STORED
        return NOT_STORED  # a stale entry stood in for an error answer
