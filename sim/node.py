"""One cache node (shield or edge) serving a request: peers, collapsing, lookup, fill, upstream.

Rules: thin over the core (``NodeCache`` wraps cdn.cache's Store and cdn.http's decide/absorb,
``cdn.collapse.Collapser`` decides collapsing); nothing waits on an event. Per node and key it
keeps the completion time of the fetch led there (later requests for the key before then wait for
it; after a stale-while-revalidate refresh starts they are served stale). A miss is stored as soon
as it is decided, stamped with its completion time; the in-flight check comes before the cache
lookup, so nothing is served before it has arrived.

A template fill (sim.templates.Filled, the common case) is its own in-flight record: it holds the
lead time (``request_time``) and the completion time (``response_time``), so such a lead is not
also kept in the leaders map, which costs a map insertion per miss and a lookup per request. The
map keeps every other lead: revalidations, non-template fills, forwards to a peer, leads told to
the Collapser, and template fills the store did not admit (too large). A template fill that
leaves the store (evicted or purged) while still in flight stays a lead through ``gone``, where
the store's removal listener puts what it lets go until the sweep after the fetch arrived. A template exists only for a cacheable rule, so
a node with one never marks hit-for-pass; were it to, the map would take over every lead.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from cdn.collapse import Collapser, Follow, Lead
from cdn.http.decision import plain_fresh, response_age
from cdn.topology import Node
from sim.nodecache import NodeCache, Refresh
from sim.origin import OriginSim
from sim.outcomes import (
    BYPASS,
    COLLAPSED,
    HIT,
    MISS,
    OUTCOMES,
    REVALIDATED,
    STALE,
    STORED,
    UNCACHEABLE,
    Fill,
    Outcome,
)
from sim.queueing import ServerQueue
from sim.routing import PeerOwners
from sim.templates import Filled

# The outcome counters' indexes as exact ints (a list indexed by an IntEnum member takes
# CPython's generic subscript path; by an int, the specialised one): the per-visit counts.
_HIT_AT, _MISS_AT = int(HIT), int(MISS)


class InFlight(NamedTuple):
    """A fetch led at a node: when it completes, what its fill did, and when it was led.

    ``lead_t`` is None once the Collapser was told of the lead (see ``CacheNodeSim.leaders``).
    """

    done: float
    result: Fill
    lead_t: float | None


class CacheNodeSim:
    """A shield or edge: its queue, its NodeCache, its collapsing, its upstream, peers, counters."""

    __slots__ = (
        "_get",
        "_put",
        "_record_hit",
        "_touch",
        "_varied",
        "bytes",
        "bytes_collapsed",
        "bytes_hit",
        "cache",
        "collapsed",
        "collapser",
        "forwarded",
        "forwarded_bytes",
        "gone",
        "hits",
        "leaders",
        "marked",
        "node",
        "origin_bytes",
        "outcomes",
        "owner_of",
        "peer_delay",
        "queue",
        "refreshing",
        "requests",
        "telling",
        "up_delay",
        "upstream",
        "upstream_bytes",
        "upstream_requests",
    )

    def __init__(
        self, node: Node, queue: ServerQueue, cache: NodeCache, collapser: Collapser[None]
    ) -> None:
        self.node = node
        self.queue = queue
        self.cache = cache
        # The store's methods the hot path calls, bound once; ``_get(key)`` reads the entry of
        # the variant the node's requests select (a C call when there is no Vary).
        store = cache.store
        self._get = partial(store.get, variant=cache.variant) if cache.variant else store.slots.get
        self._put = store.put
        self._record_hit = store.record_hit
        # A plain hit is told to the policy only (the node counts its hits, not the store).
        self._touch = store.touch
        self._varied = store.varied_keys
        self.collapser = collapser
        self.upstream: CacheNodeSim | OriginSim | None = None
        self.up_delay = 0.0
        self.owner_of: PeerOwners[CacheNodeSim] | None = None
        self.peer_delay: dict[str, float] = {}
        # key -> (completion time, fill result, lead time or None) of the fetch led here; the
        # Collapser learns the end (finish/abandon) lazily, at the next request for the key or
        # the next sweep. Until this node's first hit-for-pass mark, with nothing in flight for
        # the key, join() can only say Lead and change nothing but its in-flight map, so a lead
        # is told to it (join at its lead time, kept in the tuple) only when a follower comes or
        # it ends uncacheable; most fills never need the Collapser at all.
        self.leaders: dict[str, InFlight] = {}
        self.marked = False  # a hit-for-pass mark was made: join every lead at once
        # Some lead may be told or uncacheable, so ending it is more than forgetting it (sweep's
        # shortcut is off); set when such a lead is recorded, recomputed by sweep.
        self.telling = False
        self.refreshing: dict[str, float] = {}  # key -> end of its background refresh
        # slot -> entry the store let go (evicted or purged), kept until the sweep after its
        # fetch arrived: a template fill evicted in flight is still a lead (a C-level listener:
        # no Python call per eviction).
        self.gone: dict[str, object] = {}
        if cache.template is not None:
            store.set_removal_listener(self.gone.__setitem__)
        self.requests = self.hits = self.bytes = self.bytes_hit = self.bytes_collapsed = 0
        self.upstream_requests = self.upstream_bytes = self.origin_bytes = 0
        self.collapsed = self.forwarded = self.forwarded_bytes = 0
        self.outcomes = [0] * len(OUTCOMES)

    def serve(
        self, key: str, obj: int, size: int, t: float, from_peer: bool, conditional: bool
    ) -> tuple[float, Outcome, bool, int]:
        """Handle a request arriving at ``t``.

        Returns (response-ready time, outcome, whether the body came from upstream, Age of the
        response in whole seconds, which the requesting cache subtracts from its freshness).
        """
        self.requests += 1
        t = self.queue.finish(t)  # served: the queue's Lindley step (sim.queueing)
        leaders = self.leaders
        leader = leaders.get(key) if leaders else None
        if leader is not None and leader.done <= t:
            if leader.lead_t is not None and leader.result != UNCACHEABLE:
                del leaders[key]  # _end_lead's first case: never told, nothing to tell
            else:
                self._end_lead(key, leader)
            leader = None
        owners = self.owner_of
        if owners is not None and not from_peer:
            owner = owners.memo.get(obj) or owners(obj)
            if owner is not self:
                if leader is not None:
                    return self._follow(key, obj, size, t, conditional, leader, owner)
                return self._forward(key, obj, size, t, conditional, owner, True)
        if not conditional:
            self.bytes += size
        cache = self.cache
        if self.refreshing:
            refresh_until = self.refreshing.get(key)
            if refresh_until is not None:
                if refresh_until > t:
                    self._count_hit(STALE, size, conditional)
                    return t, STALE, False, cache.age_of(key, t)
                del self.refreshing[key]
        if leader is not None:
            return self._follow(key, obj, size, t, conditional, leader, None)
        entry = self._get(key)
        pending = entry if entry is not None or not self.gone else self.gone.get(key)
        if type(pending) is Filled and pending.response_time > t and not self.marked:
            # A template fill still in flight: its own lead record (see the module docstring).
            leader = InFlight(pending.response_time, STORED, pending.request_time)
            return self._follow(key, obj, size, t, conditional, leader, None)
        # The cache step's first branch (a plain fresh hit) on the stored fill or entry.
        if entry is not None and plain_fresh(entry, t):
            if cache.variant:
                self._record_hit(entry)
            elif self._touch is not None:
                self._touch(key)
            self.outcomes[_HIT_AT] += 1
            self.hits += 1
            if not conditional:
                self.bytes_hit += size
            return t, HIT, False, response_age(entry, t)
        plain = entry is None and not cache.variant and key not in self._varied
        if plain:
            code, found = MISS, None
        else:
            code, found, age = cache.decide(key, t)
            if code == HIT:
                self._count_hit(HIT, size, conditional)
                return t, HIT, False, age
            if code == STALE:
                self._count_hit(STALE, size, conditional)
                done, up_age = self._fetch(key, obj, size, t, True)
                cache.refresh(key, obj, size, found, t, done, up_age)
                self.refreshing[key] = done
                return t, STALE, False, age
            if code == BYPASS:
                self.outcomes[BYPASS] += 1
                done, up_age = self._fetch(key, obj, size, t, conditional)
                return done, BYPASS, not conditional, up_age
        lead = self.marked is False or type(self.collapser.join(key, t, None)) is Lead
        if code == REVALIDATED:
            assert found is not None
            done, up_age = self._fetch(key, obj, size, t, True)
            result = STORED
            refreshed = cache.refresh(key, obj, size, found, t, done, up_age)
            if refreshed == Refresh.REFETCH:  # a 304 that matched nothing: fetch it whole
                asked = done
                done, up_age = self._fetch(key, obj, size, asked, False)
                result = cache.fill(key, obj, size, found, asked, done, up_age)
            if lead:
                self.leaders[key] = InFlight(done, result, None if self.marked else t)
            if refreshed == Refresh.RENEWED:
                self._count_hit(REVALIDATED, size, conditional)
                return done, REVALIDATED, False, cache.age_of(key, done)
            self.outcomes[MISS] += 1  # a new full response came (a changed object): a miss
            return done, MISS, not conditional, up_age
        # A miss fetches the whole object even for a conditional request (decide() strips the
        # client's validators from a miss): the node stores it and answers 304 downstream.
        self.outcomes[_MISS_AT] += 1
        # self._fetch(key, obj, size, t, False), inlined.
        upstream = self.upstream
        delay = self.up_delay
        self.upstream_requests += 1
        self.upstream_bytes += size
        if type(upstream) is OriginSim:
            self.origin_bytes += size
            done = upstream.fetch(t + delay, size, False) + delay
            up_age = 0
        else:
            done, _, _, up_age = upstream.serve(key, obj, size, t + delay, False, False)
            done += delay
        template = cache.template
        if found is None and template is not None:  # NodeCache.fill's template path, inlined
            filled = Filled(key, obj, size, t, done, up_age, template)
            insert = cache.store.plain_insert
            if plain and insert is not None:  # nothing stored under the key: put's shortcut
                try:
                    insert(key, filled, size)
                    stored = True
                except ValueError:  # not admitted (too large)
                    stored = False
            else:
                stored = self._put(filled)
            if lead and (self.marked or not stored):  # else the fill is its own lead record
                self.leaders[key] = InFlight(done, STORED, None if self.marked else t)
            return done, MISS, not conditional, up_age
        else:
            result = cache.fill(key, obj, size, found, t, done, up_age)
            if result == UNCACHEABLE:
                self.telling = True
        if lead:
            self.leaders[key] = InFlight(done, result, None if self.marked else t)
        return done, MISS, not conditional, up_age

    def _count_hit(self, code: Outcome, size: int, conditional: bool) -> None:
        self.outcomes[code] += 1
        self.hits += 1
        if not conditional:
            self.bytes_hit += size

    def _forward(
        self,
        key: str,
        obj: int,
        size: int,
        t: float,
        conditional: bool,
        owner: CacheNodeSim,
        join: bool,
    ) -> tuple[float, Outcome, bool, int]:
        """Pass a request for a key ``owner`` holds to it (one peer hop each way).

        As on the edge the non-owner collapses first (``join``): its leader's answer is served
        to its followers (the peer's response is served, not stored, by the non-owner).
        """
        lead = join and (self.marked is False or type(self.collapser.join(key, t, None)) is Lead)
        self.forwarded += 1
        delay = self.peer_delay[owner.node.name]
        done, code, upstream, age = owner.serve(key, obj, size, t + delay, True, conditional)
        done += delay
        if not conditional:
            self.bytes += size
            self.forwarded_bytes += size
        if lead:
            self.leaders[key] = InFlight(done, self.cache.relayed, None if self.marked else t)
            if self.cache.relayed == UNCACHEABLE:
                self.telling = True
        return done, code, upstream, age

    def _follow(
        self,
        key: str,
        obj: int,
        size: int,
        t: float,
        conditional: bool,
        leader: InFlight,
        owner: CacheNodeSim | None,
    ) -> tuple[float, Outcome, bool, int]:
        """A request for a key whose fetch is in flight here: the core Collapser decides."""
        done, result, lead_t = leader
        if lead_t is not None:  # tell the Collapser of the lead now (no mark exists: as then)
            self.collapser.join(key, lead_t, None)
            self.leaders[key] = InFlight(done, result, None)
            self.telling = True
        joined = self.collapser.join(key, t, None)
        if type(joined) is Follow:
            self.collapsed += 1
            if done <= joined.deadline and result == STORED:
                if owner is not None and not conditional:
                    self.bytes += size
                self._count_hit(COLLAPSED, size, conditional)
                if not conditional:
                    self.bytes_collapsed += size
                return done, COLLAPSED, not conditional, self.cache.age_of(key, done)
            if done > joined.deadline:  # timed out: leave and fetch alone
                self.collapser.leave(key, None)
                t = joined.deadline
            else:  # woken by an uncacheable or abandoned leader: fetch alone now
                t = done
        # Alone (waiters full, timed out, released): fetch without storing; the leader's copy
        # is the one kept.
        if owner is not None:
            return self._forward(key, obj, size, t, conditional, owner, False)
        self.outcomes[MISS] += 1
        done, up_age = self._fetch(key, obj, size, t, False)
        return done, MISS, not conditional, up_age

    def _end_lead(self, key: str, leader: InFlight) -> None:
        """Tell the Collapser how the fetch led here ended (as the edge's Ticket does)."""
        del self.leaders[key]
        done, result, lead_t = leader
        collapser = self.collapser
        if lead_t is not None:  # never told: nobody waited, so only an uncacheable end matters
            if result != UNCACHEABLE:
                return
            self._tell_leads()
            collapser.join(key, lead_t, None)
        if result == STORED:
            collapser.finish(key, True, done)
        elif result == UNCACHEABLE:
            collapser.finish(key, False, done)
            self.marked = self.telling = True
        else:
            collapser.abandon(key)

    def _tell_leads(self) -> None:
        """Join every untold lead (before the first hit-for-pass mark; from then on, at once)."""
        if self.marked:
            return
        leaders = self.leaders
        for key, (done, result, lead_t) in list(leaders.items()):
            if lead_t is not None:
                self.collapser.join(key, lead_t, None)
                leaders[key] = InFlight(done, result, None)
                self.telling = True

    def _fetch(
        self, key: str, obj: int, size: int, t: float, conditional: bool
    ) -> tuple[float, int]:
        upstream = self.upstream
        delay = self.up_delay
        self.upstream_requests += 1
        if not conditional:
            self.upstream_bytes += size
        if isinstance(upstream, OriginSim):
            if not conditional:
                self.origin_bytes += size
            return upstream.fetch(t + delay, size, conditional) + delay, 0
        assert upstream is not None
        done, _, _, age = upstream.serve(key, obj, size, t + delay, False, conditional)
        return done + delay, age

    def sweep(self, now: float) -> None:
        """End the fetches and refreshes that completed before ``now`` (bounds memory)."""
        leaders = self.leaders
        if self.telling:
            ended = [(done, key) for key, (done, _, _) in leaders.items() if done <= now]
            for _, key in sorted(ended):
                self._end_lead(key, leaders[key])
            self.telling = self.marked or any(
                lead_t is None or result == UNCACHEABLE for _, result, lead_t in leaders.values()
            )
        else:  # every lead is untold and cacheable: ending one only forgets it (_end_lead)
            self.leaders = {key: lead for key, lead in leaders.items() if lead.done > now}
        refreshing = self.refreshing
        if refreshing:
            self.refreshing = {k: until for k, until in refreshing.items() if until > now}
        gone = self.gone
        if gone:  # in place: the store holds its __setitem__
            pending = [
                (k, e) for k, e in gone.items() if type(e) is Filled and e.response_time > now
            ]
            gone.clear()
            gone.update(pending)
