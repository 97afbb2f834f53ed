"""The byte-bounded store of cached entries shared by the live edge and the simulator.

Rules: pure (no I/O, no clock, no randomness); bodies never enter it, only entries (frozen
dataclasses with ``key``, ``variant``, ``size``, ``surrogate_keys``, ``invalidated``).
- Capacity: the sum of stored sizes never exceeds ``capacity``; an object larger than the capacity
  (or than the policy admits: s3fifo takes objects under 10% of it) is not admitted.
- Slots: each (primary key, variant) pair is one object for the eviction policy; a variant-less
  entry's slot is its key itself (so the fast path and ``put`` agree), else ``(key, variant)``.
- A key holds either one variant-less entry or Vary'd variants, never both: the newest response
  says whether the URL varies, so ``put`` of a Vary'd entry replaces the key's variant-less one
  and ``put`` of a variant-less entry replaces all its variants (RFC 9111 §4: the most recent
  response wins). A hit on ``slots.get(key)`` is then exactly what variant selection picks.
- One map: the policy's ``data`` (slot -> entry) is the store's only map of entries, so a lookup,
  a hit's bookkeeping and an insertion touch one hash table, not two (the simulator's world runs
  are bound by memory traffic). An entry's weight is its ``size``; ``request`` stores the bare
  size (an int) instead, so a store serves either ``put`` or ``request``, not both.
- Evictions happen inside the policy (which drops the entry from ``data`` and counts them); its
  ``on_evict`` hook is needed only to keep the variants and surrogate-key (tag) indexes in step
  and to tell the removal listener, so it is unset (no call per eviction) until the store holds
  a Vary'd entry or a tag index, or is the listener itself while the store has no index.
- The removal listener (``set_removal_listener``) hears of every entry that leaves by eviction or
  hard purge, not of replacements by ``put``.
- ``touch(slot)`` (None when a hit changes nothing) is ``record_hit``'s effect on the policy for a
  slot just read from ``slots``, without the store's counters: for callers that count hits
  themselves (the simulator's nodes), one call per hit.
- ``plain_insert`` is ``put`` of a variant-less entry into an empty slot as the policy's own
  insertion, offered (not None) only while that is all ``put`` would do (no index, no schedule).
- Hot paths read the policy's ``data`` dict and call its ``touch`` directly (see
  ``cdn.cache.policies.base``) rather than going through the mapping's Python methods.
- Accounting is the caller's single verdict per request: ``record_hit(entry)`` when a stored entry
  was served, ``record_miss(size)`` when it was not; ``request(key, size)`` does lookup, accounting
  and admission in one call for the simulator's trace replay (body-less, variant-less objects).
- Purges (by key, prefix or tag) act on entries stored with ``put``; hard removes them, soft
  replaces them in place with ``invalidated=True`` (same size: the policy's state is untouched;
  they stay, stale, until evicted).
- The tag index is built on first use (``purge_tag`` / ``tagged``) from the stored entries and
  kept in step from then on, so a store never purged by tag pays nothing per insertion for it.

Length: over 400 lines because the rules above are one data structure's invariants (one map,
two indexes, one accounting), kept in one class so each hot path touches one object.

Over 400 lines on purpose: the store's accounting, variants, tags and purges share one
entry map; they are one job (keeping entries) with several doors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, Protocol

from cdn.cache.policies import make_policy


class Storable(Protocol):
    """What the store needs from an entry (``cdn.http``'s Entry is one; any frozen dataclass fits)."""

    @property
    def key(self) -> str:
        """Primary cache key (normally the effective request URI)."""
        ...

    @property
    def variant(self) -> tuple[Any, ...]:
        """Secondary key from the Vary-nominated request headers; () when there is no Vary."""
        ...

    @property
    def size(self) -> int:
        """Body size in bytes, the object's weight against the capacity."""
        ...

    @property
    def surrogate_keys(self) -> frozenset[str]:
        """Tags the entry can be purged by (Surrogate-Key / Cache-Tag)."""
        ...

    @property
    def invalidated(self) -> bool:
        """Marked stale by a soft purge."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of a store's counters and occupancy."""

    capacity: int
    objects: int
    bytes_stored: int
    hits: int
    misses: int
    bytes_hit: int
    bytes_missed: int
    evictions: int

    @property
    def requests(self) -> int:
        """Requests accounted (hits + misses)."""
        return self.hits + self.misses

    @property
    def hit_ratio(self) -> float:
        """Hits over requests (0.0 before any request)."""
        requests = self.hits + self.misses
        return self.hits / requests if requests else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        """Bytes served from the cache over bytes requested (0.0 before any request)."""
        total = self.bytes_hit + self.bytes_missed
        return self.bytes_hit / total if total else 0.0

    def as_dict(self) -> dict[str, int | float]:
        """The counters plus the derived ratios, for JSON reports."""
        fields = dataclasses.asdict(self)
        fields.update(
            requests=self.requests, hit_ratio=self.hit_ratio, byte_hit_ratio=self.byte_hit_ratio
        )
        return fields


def slot_of(key: Hashable, variant: tuple[Any, ...] = ()) -> Hashable:
    """The policy key of (key, variant): the key itself without Vary, else the pair."""
    return (key, variant) if variant else key


def weight(value: Any) -> int:
    """A stored value's weight against the capacity: an entry's ``size``, or a bare size."""
    return value if type(value) is int else value.size


class Store:
    """A byte-bounded cache of entries with variants, a tag index, purges and stats."""

    __slots__ = (
        "_bytes_hit",
        "_bytes_missed",
        "_data",
        "_hits",
        "_indexed",
        "_insert",
        "_misses",
        "_on_remove",
        "_policy",
        "_schedule",
        "_tags",
        "_touch",
        "_variants",
        "plain_insert",
        "policy_name",
        "touch",
    )

    def __init__(self, capacity_bytes: int, policy: str = "lru", **policy_options: Any) -> None:
        """Make an empty store of ``capacity_bytes`` evicting by ``policy`` (a POLICIES name)."""
        if isinstance(capacity_bytes, bool) or not isinstance(capacity_bytes, int):
            raise TypeError(f"capacity_bytes must be an int, got {capacity_bytes!r}")
        if capacity_bytes < 0:
            raise ValueError(f"capacity_bytes must be >= 0, got {capacity_bytes}")
        self.policy_name = policy
        self._policy = make_policy(policy, capacity_bytes, weight, None, **policy_options)
        self._data: dict[Hashable, Any] = self._policy.data  # type: ignore[attr-defined]
        self._touch = self._policy.touch  # type: ignore[attr-defined]
        self._insert = self._policy.insert  # type: ignore[attr-defined]
        self._schedule = getattr(self._policy, "schedule", None)
        # ``touch(slot)``: a hit's effect on the policy without the store's counters (or None).
        self.touch: Callable[[Hashable], Any] | None = (
            self._touch if self._schedule is None else self._touch_scheduled
        )
        # primary key -> its Vary'd variants (a dict used as an ordered set)
        self._variants: dict[str, dict[tuple[Any, ...], None]] = {}
        self._tags: dict[str, set[Hashable]] | None = None  # built on first use
        self._indexed = False  # a variants or tag index exists: evictions must unindex
        self._on_remove: Callable[[Hashable, Storable], None] | None = None
        # ``plain_insert(key, entry, size)``: put's shortcut for a new plain slot (see ``_hook``).
        self.plain_insert: Callable[[Hashable, Storable, int], None] | None = None
        self._hook()
        self._hits = self._misses = self._bytes_hit = self._bytes_missed = 0

    def set_removal_listener(self, listener: Callable[[Hashable, Storable], None] | None) -> None:
        """Call ``listener(slot, entry)`` for each entry evicted or purged (hard) from now on.

        Replacements by ``put`` are not removals. None stops the calls.
        """
        self._on_remove = listener
        self._hook()

    # -- reading -------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Capacity in bytes."""
        return self._policy.maxsize

    @property
    def bytes_stored(self) -> int:
        """Sum of the sizes of the stored objects."""
        return self._policy.currsize

    def __len__(self) -> int:
        return len(self._policy)

    def __contains__(self, key: object) -> bool:
        """Whether any entry is stored under primary ``key``."""
        return key in self._data or key in self._variants

    @property
    def slots(self) -> Mapping[Hashable, Storable]:
        """The stored entries by slot, live (read it, never write it).

        A variant-less entry's slot is its key, so ``slots.get(key)`` is ``get(key)`` as one C
        call, for hot paths.
        """
        return self._data

    @property
    def varied_keys(self) -> Mapping[str, Any]:
        """The primary keys that hold Vary'd variants, live (read it, never write it)."""
        return self._variants

    def lookup(self, key: str) -> list[Storable]:
        """All stored variants of ``key`` (no accounting, no recency change)."""
        data = self._data
        entry = data.get(key)
        variants = self._variants.get(key)
        if variants is None:
            return [] if entry is None else [entry]
        found = [data[(key, variant)] for variant in variants]
        if entry is not None:
            found.insert(0, entry)
        return found

    def get(self, key: str, variant: tuple[Any, ...] = ()) -> Storable | None:
        """The entry stored for ``key`` and ``variant``, or None (no accounting)."""
        return self._data.get((key, variant) if variant else key)

    def entries(self) -> Iterator[Storable]:
        """Every stored entry (in no particular order)."""
        yield from self._data.values()

    def tagged(self, tag: str) -> list[Storable]:
        """The stored entries carrying surrogate key ``tag``."""
        data = self._data
        return [data[slot] for slot in self._tag_index().get(tag, ())]

    def stats(self) -> CacheStats:
        """A snapshot of the counters and the occupancy."""
        policy = self._policy
        return CacheStats(
            capacity=policy.maxsize,
            objects=len(policy),
            bytes_stored=policy.currsize,
            hits=self._hits,
            misses=self._misses,
            bytes_hit=self._bytes_hit,
            bytes_missed=self._bytes_missed,
            evictions=policy.evictions,
        )

    # -- the per-request verdict ---------------------------------------------------------------

    def record_hit(self, entry: Storable, next_access: int | None = None) -> None:
        """Count ``entry`` as served from the cache and tell the policy it was used."""
        self._hits += 1
        self._bytes_hit += entry.size
        slot = (entry.key, entry.variant) if entry.variant else entry.key
        if self._schedule is not None:
            self._schedule(slot, next_access)
        if slot in self._data:  # it may have been evicted since the lookup
            touch = self._touch
            if touch is not None:
                touch(slot)

    def record_plain_hit(self, key: str, size: int) -> None:
        """``record_hit`` of the variant-less entry stored under ``key`` with ``size`` bytes."""
        self._hits += 1
        self._bytes_hit += size
        if self._schedule is not None:
            self._schedule(key, None)
        touch = self._touch
        if touch is not None and key in self._data:  # it may have been evicted since the lookup
            touch(key)

    def _touch_scheduled(self, slot: Hashable) -> None:
        """``touch`` of a policy that needs a schedule (belady): told of the use first."""
        self._schedule(slot, None)  # type: ignore[misc]
        if self._touch is not None:
            self._touch(slot)

    def record_miss(self, size: int = 0) -> None:
        """Count a request not served from the cache; ``size`` is the body fetched upstream."""
        self._misses += 1
        self._bytes_missed += size

    def put(self, entry: Storable, next_access: int | None = None) -> bool:
        """Store ``entry`` (replacing the same key and variant); False when it is not admitted.

        A same-size replacement (e.g. headers freshened by a 304) keeps the policy's state for the
        slot; a different size is a new object: the old version is removed first, so it is never
        counted as an eviction. A replacement that is not admitted still drops the old version.
        """
        slot = (entry.key, entry.variant) if entry.variant else entry.key
        policy = self._policy
        if self._schedule is not None:
            self._schedule(slot, next_access)
        old = self._data.get(slot)
        if old is None:
            if type(slot) is tuple or self._variants:  # else there is nothing to supersede
                self._supersede(entry.key, slot)
        elif old.size != entry.size:
            del policy[slot]
        try:
            self._insert(slot, entry, entry.size)
        except ValueError:
            if old is not None:  # the superseded version goes too
                if slot in self._data:
                    del policy[slot]
                self._unindex(slot, old)
            return False
        if old is not None:
            self._unindex(slot, old)
        if slot is not entry.key or self._tags is not None:
            self._index(slot, entry)
        return True

    def request(self, key: Hashable, size: int, next_access: int | None = None) -> bool:
        """Replay one request of a body-less, variant-less object: True on a hit.

        Counts the hit or miss, and on a miss admits the object if it fits (storing its size,
        not an entry). ``key`` is a str or int; ``next_access`` feeds belady (the index of the
        next request, None = never).
        """
        if self._schedule is not None:
            self._schedule(key, next_access)
        if key in self._data:
            touch = self._touch  # the policy's hit bookkeeping (recency, visited bit, frequency)
            if touch is not None:
                touch(key)
            self._hits += 1
            self._bytes_hit += size
            return True
        self._misses += 1
        self._bytes_missed += size
        try:  # noqa: SIM105 -- suppress() costs a context manager per miss on the hot path
            self._insert(key, size, size)
        except ValueError:  # larger than the policy admits
            pass
        return False

    # -- purges ----------------------------------------------------------------------------------

    def remove(self, key: str) -> int:
        """Remove every variant of ``key``; return how many entries went."""
        return self.purge_key(key)

    def purge_key(self, key: str, soft: bool = False) -> int:
        """Purge every variant of ``key`` (hard: remove; soft: mark stale); return the count."""
        slots: list[Hashable] = [key] if key in self._data else []
        slots.extend((key, variant) for variant in self._variants.get(key, ()))
        return self._purge(slots, soft)

    def purge_prefix(self, prefix: str, soft: bool = False) -> int:
        """Purge every entry whose primary key starts with ``prefix``; return the count.

        Cost: a scan of the stored slots, O(entries) (tags are the cheap way to group).
        """
        slots: list[Hashable] = [
            slot
            for slot in self._data
            if (slot[0] if type(slot) is tuple else slot).startswith(prefix)  # type: ignore[union-attr]
        ]
        return self._purge(slots, soft)

    def purge_tag(self, tag: str, soft: bool = False) -> int:
        """Purge every entry carrying surrogate key ``tag``; cost O(entries with that tag)."""
        slots = self._tag_index().get(tag)
        if not slots:
            return 0
        return self._purge(list(slots), soft)

    # -- internals -------------------------------------------------------------------------------

    def _supersede(self, key: str, slot: Hashable) -> None:
        """Replace what a new entry in ``slot`` supersedes: the other kind of entry under ``key``."""
        data = self._data
        if type(slot) is tuple:  # a Vary'd entry: the key's plain one goes
            plain = data.get(key)
            if plain is not None:
                del self._policy[key]
                self._unindex(key, plain)
            return
        variants = self._variants.get(key)
        if variants:
            for variant in list(variants):
                old_slot = (key, variant)
                old = data[old_slot]
                del self._policy[old_slot]
                self._unindex(old_slot, old)

    def _tag_index(self) -> dict[str, set[Hashable]]:
        tags = self._tags
        if tags is None:
            tags = self._tags = {}
            self._indexed = True
            self._hook()
            for slot, entry in self._data.items():
                for tag in entry.surrogate_keys:
                    tags.setdefault(tag, set()).add(slot)
        return tags

    def _purge(self, slots: list[Hashable], soft: bool) -> int:
        data = self._data
        if soft:
            for slot in slots:
                entry = data[slot]
                if not entry.invalidated:
                    # In place, same size: the policy's state for the slot is untouched.
                    data[slot] = dataclasses.replace(entry, invalidated=True)
        else:
            for slot in slots:
                self._drop(slot, data[slot])
        return len(slots)

    def _drop(self, slot: Hashable, entry: Storable) -> None:
        del self._policy[slot]
        self._unindex(slot, entry)
        if self._on_remove is not None:
            self._on_remove(slot, entry)

    def _hook(self) -> None:
        """Point the policy's eviction hook at what an eviction must update (or at nothing).

        Also sets ``plain_insert``: while the store keeps no index (no Vary'd entry, no tag
        index) and its policy needs no schedule, ``put`` of a variant-less entry under a key
        that holds nothing is exactly the policy's insertion (nothing to supersede, unindex or
        index), so ``plain_insert(key, entry, entry.size)`` is that insertion, raising
        ValueError where ``put`` returns False; otherwise None (call ``put``). Read it per use:
        it changes when an index appears.
        """
        self._policy.on_evict = (  # type: ignore[attr-defined]
            self._evicted if self._indexed else self._on_remove
        )
        plain = not self._indexed and self._schedule is None
        self.plain_insert = self._insert if plain else None

    def _evicted(self, slot: Hashable, entry: Storable) -> None:
        self._unindex(slot, entry)
        if self._on_remove is not None:
            self._on_remove(slot, entry)

    def _index(self, slot: Hashable, entry: Storable) -> None:
        if type(slot) is tuple:
            variants = self._variants.get(entry.key)
            if variants is None:
                variants = self._variants[entry.key] = {}
                if not self._indexed:
                    self._indexed = True
                    self._hook()
            variants[entry.variant] = None
        tags = self._tags
        if tags is None:
            return
        for tag in entry.surrogate_keys:
            slots = tags.get(tag)
            if slots is None:
                tags[tag] = {slot}
            else:
                slots.add(slot)

    def _unindex(self, slot: Hashable, entry: Storable) -> None:
        """Forget ``entry`` (gone from ``slot``) in the variants and tag indexes."""
        if type(slot) is tuple:
            key, variant = slot
            variants = self._variants.get(key)
            if variants is not None:
                variants.pop(variant, None)
                if not variants:
                    del self._variants[key]
        tags = self._tags
        if tags is None:
            return
        for tag in entry.surrogate_keys:
            slots = tags.get(tag)
            if slots is not None:
                slots.discard(slot)
                if not slots:
                    del tags[tag]
