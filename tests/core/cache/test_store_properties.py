"""Property: whatever puts, hits, misses, purges and evictions happen, the store stays consistent.

Invariants checked after every step, for every policy: the byte budget holds; ``bytes_stored`` and
``objects`` match the stored entries; evictions balance the new slots admitted and the slots purged;
hits and misses add up; the tag index names exactly the stored entries carrying each tag.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from cdn.cache import POLICIES, Store

KEYS = st.sampled_from([f"/k/{index}" for index in range(12)] + ["/other/1", "/other/2"])
VARIANTS = st.sampled_from([(), ("gzip",), ("br",)])
TAGS = ["red", "green", "blue"]
CAPACITY = 600


@dataclasses.dataclass(frozen=True)
class Obj:
    key: str
    size: int
    variant: tuple[Any, ...] = ()
    surrogate_keys: frozenset[str] = frozenset()
    invalidated: bool = False


class StoreMachine(RuleBasedStateMachine):
    policy = "lru"

    @initialize()
    def start(self) -> None:
        self.store = Store(CAPACITY, self.policy)
        self.requests = 0
        self.new_slots = 0
        self.dropped = 0

    def _slots(self) -> set[tuple[str, tuple[Any, ...]]]:
        return {(entry.key, entry.variant) for entry in self.store.entries()}

    @rule(
        key=KEYS,
        variant=VARIANTS,
        size=st.integers(min_value=0, max_value=59),
        tags=st.frozensets(st.sampled_from(TAGS)),
    )
    def put(self, key: str, variant: tuple[Any, ...], size: int, tags: frozenset[str]) -> None:
        slots = self._slots()
        existed = (key, variant) in slots
        if not existed:  # a new slot supersedes the key's entries of the other kind
            self.dropped += sum(1 for k, v in slots if k == key and bool(v) != bool(variant))
        admitted = self.store.put(Obj(key, size, variant, tags))
        if admitted and not existed:
            self.new_slots += 1
        if not admitted and existed:
            self.dropped += 1

    @rule(key=KEYS)
    def serve(self, key: str) -> None:
        self.requests += 1
        entries = self.store.lookup(key)
        if entries:
            self.store.record_hit(entries[0])
        else:
            self.store.record_miss(7)

    @rule(key=KEYS, soft=st.booleans())
    def purge_key(self, key: str, soft: bool) -> None:
        expected = len(self.store.lookup(key))
        assert self.store.purge_key(key, soft=soft) == expected
        if not soft:
            self.dropped += expected
            assert self.store.lookup(key) == []

    @rule(prefix=st.sampled_from(["/k/1", "/other/", "/", "/none"]), soft=st.booleans())
    def purge_prefix(self, prefix: str, soft: bool) -> None:
        expected = sum(1 for entry in self.store.entries() if entry.key.startswith(prefix))
        assert self.store.purge_prefix(prefix, soft=soft) == expected
        if not soft:
            self.dropped += expected

    @rule(tag=st.sampled_from(TAGS), soft=st.booleans())
    def purge_tag(self, tag: str, soft: bool) -> None:
        expected = [entry for entry in self.store.entries() if tag in entry.surrogate_keys]
        assert self.store.purge_tag(tag, soft=soft) == len(expected)
        if soft:
            assert all(entry.invalidated for entry in self.store.tagged(tag))
        else:
            self.dropped += len(expected)
            assert self.store.tagged(tag) == []

    @precondition(lambda self: len(self.store) > 0)
    @rule()
    def evict_one(self) -> None:
        self.store._policy.popitem()  # the policy's own eviction, as a full cache would do

    @invariant()
    def no_key_is_both_plain_and_varied(self) -> None:
        slots = self._slots()
        plain = {key for key, variant in slots if not variant}
        varied = {key for key, variant in slots if variant}
        assert not plain & varied

    @invariant()
    def within_budget(self) -> None:
        stats = self.store.stats()
        assert 0 <= stats.bytes_stored <= stats.capacity == CAPACITY

    @invariant()
    def occupancy_matches_entries(self) -> None:
        entries = list(self.store.entries())
        stats = self.store.stats()
        assert stats.bytes_stored == sum(entry.size for entry in entries)
        assert stats.objects == len(entries) == len(self.store)

    @invariant()
    def evictions_balance_admissions(self) -> None:
        stats = self.store.stats()
        assert self.new_slots - self.dropped - stats.evictions == stats.objects

    @invariant()
    def hits_and_misses_add_up(self) -> None:
        stats = self.store.stats()
        assert stats.hits + stats.misses == self.requests
        assert stats.bytes_missed == 7 * stats.misses

    @invariant()
    def tag_index_matches_entries(self) -> None:
        entries = list(self.store.entries())
        for tag in TAGS:
            want = sorted((e.key, e.variant, e.size) for e in entries if tag in e.surrogate_keys)
            have = sorted((e.key, e.variant, e.size) for e in self.store.tagged(tag))
            assert have == want


def _machine_for(policy: str) -> type[StoreMachine]:
    return type(f"StoreMachine_{policy}", (StoreMachine,), {"policy": policy})


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_store_stays_consistent(policy: str) -> None:
    machine = _machine_for(policy)
    machine.TestCase.settings = settings(
        max_examples=50, stateful_step_count=30, deadline=None, derandomize=True
    )
    machine.TestCase().runTest()
