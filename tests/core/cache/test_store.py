"""The entry store: byte budget, variants, the tag index, purges and the shared hit/miss accounting."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from cdn.cache import POLICIES, CacheStats, Store


@dataclasses.dataclass(frozen=True)
class Obj:
    """A stand-in for cdn.http's Entry: only what the store relies on."""

    key: str
    size: int
    variant: tuple[Any, ...] = ()
    surrogate_keys: frozenset[str] = frozenset()
    invalidated: bool = False


def tagged(key: str, size: int, *tags: str, variant: tuple[Any, ...] = ()) -> Obj:
    return Obj(key, size, variant, frozenset(tags))


def test_a_put_entry_is_found_by_its_key() -> None:
    store = Store(1000)
    entry = Obj("/a", 10)
    assert store.put(entry)
    assert store.lookup("/a") == [entry]
    assert store.get("/a") == entry
    assert "/a" in store and len(store) == 1


def test_lookup_of_an_unknown_key_is_empty() -> None:
    assert Store(1000).lookup("/nope") == []


def test_variants_of_one_key_are_stored_side_by_side() -> None:
    store = Store(1000)
    gzip = Obj("/a", 10, (("accept-encoding", "gzip"),))
    plain = Obj("/a", 30, (("accept-encoding", ""),))
    store.put(gzip)
    store.put(plain)
    assert sorted(store.lookup("/a"), key=lambda e: e.size) == [gzip, plain]
    assert store.get("/a", gzip.variant) == gzip
    assert store.bytes_stored == 40


def test_a_varied_entry_replaces_the_plain_entry_of_its_key() -> None:
    store = Store(1000)
    store.put(Obj("/a", 10))
    gzip = Obj("/a", 20, (("accept-encoding", "gzip"),))
    store.put(gzip)
    assert store.lookup("/a") == [gzip]
    assert store.get("/a") is None
    assert store.bytes_stored == 20
    assert store.stats().evictions == 0


def test_a_plain_entry_replaces_every_variant_of_its_key() -> None:
    store = Store(1000)
    store.put(Obj("/a", 10, (("accept-encoding", "gzip"),)))
    store.put(Obj("/a", 20, (("accept-encoding", "br"),)))
    plain = Obj("/a", 5)
    store.put(plain)
    assert store.lookup("/a") == [plain]
    assert store.bytes_stored == 5
    assert store.stats().evictions == 0


def test_put_replaces_the_same_key_and_variant() -> None:
    store = Store(1000)
    store.put(Obj("/a", 10))
    store.put(Obj("/a", 25))
    assert [e.size for e in store.lookup("/a")] == [25]
    assert store.bytes_stored == 25 and len(store) == 1


def test_an_entry_larger_than_the_capacity_is_not_admitted() -> None:
    store = Store(100)
    assert not store.put(Obj("/big", 101))
    assert store.lookup("/big") == [] and store.bytes_stored == 0


def test_a_rejected_replacement_drops_the_version_it_supersedes() -> None:
    store = Store(100)
    store.put(Obj("/a", 10))
    assert not store.put(Obj("/a", 500))
    assert store.lookup("/a") == []


def test_zero_capacity_admits_only_empty_bodies() -> None:
    store = Store(0)
    assert not store.put(Obj("/a", 1))
    assert store.put(Obj("/empty", 0))


def test_evictions_keep_the_byte_budget_and_count() -> None:
    store = Store(100)
    for index in range(5):
        store.put(Obj(f"/{index}", 30))
    stats = store.stats()
    assert stats.bytes_stored == 90 and stats.objects == 3
    assert stats.evictions == 2
    assert store.lookup("/0") == [] and store.lookup("/1") == []


def test_an_evicted_entry_leaves_the_tag_index() -> None:
    store = Store(100)
    store.put(tagged("/old", 60, "product-1"))
    store.put(tagged("/new", 60, "product-1"))
    assert store.tagged("product-1") == [tagged("/new", 60, "product-1")]


def test_record_hit_and_record_miss_count_requests_and_bytes() -> None:
    store = Store(1000)
    entry = Obj("/a", 10)
    store.record_miss(10)
    store.put(entry)
    store.record_hit(entry)
    store.record_hit(entry)
    stats = store.stats()
    assert (stats.hits, stats.misses, stats.bytes_hit, stats.bytes_missed) == (2, 1, 20, 10)
    assert stats.requests == 3
    assert stats.hit_ratio == pytest.approx(2 / 3)
    assert stats.byte_hit_ratio == pytest.approx(20 / 30)


def test_record_hit_refreshes_recency_in_lru() -> None:
    store = Store(100, "lru")
    first, second = Obj("/1", 40), Obj("/2", 40)
    store.put(first)
    store.put(second)
    store.record_hit(first)
    store.put(Obj("/3", 40))
    assert store.lookup("/1") == [first] and store.lookup("/2") == []


def test_record_hit_on_an_entry_evicted_since_the_lookup_still_counts() -> None:
    store = Store(100)
    gone = Obj("/gone", 60)
    store.put(gone)
    store.put(Obj("/other", 60))
    store.record_hit(gone)
    assert store.stats().hits == 1 and store.lookup("/gone") == []


def test_request_fast_path_counts_and_admits_on_miss() -> None:
    store = Store(100)
    assert store.request(1, 40) is False
    assert store.request(1, 40) is True
    assert store.request(2, 500) is False  # too large: counted, not admitted
    assert store.request(2, 500) is False
    stats = store.stats()
    assert (stats.hits, stats.misses, stats.bytes_hit, stats.bytes_missed) == (1, 3, 40, 1040)
    assert stats.objects == 1 and stats.bytes_stored == 40


def test_request_and_put_share_the_slot_of_a_variantless_key() -> None:
    store = Store(100)
    store.put(Obj("/a", 10))
    assert store.request("/a", 10) is True


def test_purge_key_hard_removes_every_variant() -> None:
    store = Store(1000)
    store.put(Obj("/a", 10, ("gzip",)))
    store.put(Obj("/a", 20, ("br",)))
    store.put(Obj("/b", 30))
    assert store.purge_key("/a") == 2
    assert store.lookup("/a") == [] and store.bytes_stored == 30
    assert store.remove("/b") == 1
    assert store.purge_key("/nothing") == 0


def test_purge_key_soft_marks_every_variant_stale_and_keeps_them() -> None:
    store = Store(1000)
    store.put(Obj("/a", 10, ("gzip",)))
    store.put(Obj("/a", 20, ("br",)))
    assert store.purge_key("/a", soft=True) == 2
    assert all(entry.invalidated for entry in store.lookup("/a"))
    assert store.bytes_stored == 30 and len(store) == 2


def test_a_soft_purged_entry_stays_until_evicted() -> None:
    store = Store(100, "fifo")
    store.put(Obj("/stale", 50))
    store.purge_key("/stale", soft=True)
    store.put(Obj("/x", 40))
    assert store.lookup("/stale")[0].invalidated
    store.put(Obj("/y", 40))
    assert store.lookup("/stale") == []


def test_purge_prefix_matches_primary_keys_that_start_with_it() -> None:
    store = Store(1000)
    for key in ("/img/a.png", "/img/b.png", "/imgx", "/css/site.css"):
        store.put(Obj(key, 10))
    assert store.purge_prefix("/img/") == 2
    assert sorted(entry.key for entry in store.entries()) == ["/css/site.css", "/imgx"]


def test_purge_prefix_soft_marks_stale() -> None:
    store = Store(1000)
    store.put(Obj("/img/a.png", 10))
    assert store.purge_prefix("/img/", soft=True) == 1
    assert store.get("/img/a.png").invalidated  # type: ignore[union-attr]


def test_purge_tag_hard_removes_exactly_the_tagged_entries() -> None:
    store = Store(1000)
    store.put(tagged("/p/1", 10, "product-1", "catalog"))
    store.put(tagged("/p/2", 10, "product-2", "catalog"))
    store.put(tagged("/p/1", 10, "product-1", variant=("gzip",)))
    store.put(tagged("/p/1", 10, "product-1", variant=("br",)))
    assert store.purge_tag("product-1") == 2
    assert [entry.key for entry in store.entries()] == ["/p/2"]
    assert store.tagged("product-1") == []
    assert [entry.key for entry in store.tagged("catalog")] == ["/p/2"]


def test_purge_tag_soft_marks_stale_and_keeps_the_index() -> None:
    store = Store(1000)
    store.put(tagged("/p/1", 10, "product-1"))
    assert store.purge_tag("product-1", soft=True) == 1
    assert [entry.invalidated for entry in store.tagged("product-1")] == [True]
    assert store.purge_tag("unknown") == 0


def test_replacing_an_entry_moves_it_between_tags() -> None:
    store = Store(1000)
    store.put(tagged("/a", 10, "old"))
    store.put(tagged("/a", 10, "new"))
    assert store.tagged("old") == [] and len(store.tagged("new")) == 1


def test_stats_is_a_frozen_snapshot() -> None:
    store = Store(1000)
    before = store.stats()
    store.put(Obj("/a", 10))
    assert before.objects == 0 and store.stats().objects == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.hits = 3  # type: ignore[misc]
    assert isinstance(before, CacheStats)
    assert before.as_dict()["hit_ratio"] == 0.0


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_every_policy_runs_the_store(policy: str) -> None:
    store = Store(2000, policy)
    for index in range(200):
        store.put(tagged(f"/{index % 37}", 40 + index % 50, f"t{index % 5}"))
    stats = store.stats()
    assert stats.bytes_stored <= 2000
    assert stats.bytes_stored == sum(entry.size for entry in store.entries())


def test_unknown_policy_and_bad_capacity_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown eviction policy"):
        Store(10, "mru")
    with pytest.raises(ValueError, match=">= 0"):
        Store(-1)
    with pytest.raises(TypeError):
        Store("1MiB")  # type: ignore[arg-type]


def test_policy_options_reach_the_policy() -> None:
    store = Store(1000, "s3fifo", small_ratio=0.5)
    assert store.put(Obj("/a", 400))


@pytest.mark.parametrize("policy", ["lru", "fifo", "sieve", "s3fifo"])
def test_evictions_unindex_before_and_after_the_first_vary_and_tag(policy: str) -> None:
    # No eviction hook until a Vary'd entry or the tag index appears; then it unindexes.
    store = Store(1000, policy)
    for number in range(40):
        store.put(Obj(f"/plain{number}", 30))
    assert {entry.key for entry in store.entries()} == set(store._data)  # type: ignore[attr-defined]
    store.tagged("t")
    for number in range(40):
        store.put(tagged(f"/vary{number}", 30, "t", variant=("gzip",)))
    stored = {(entry.key, entry.variant) for entry in store.entries()}
    assert len(stored) == len(store) and store.bytes_stored == 30 * len(store)
    assert {(entry.key, entry.variant) for entry in store.tagged("t")} <= stored
    assert store.stats().evictions == 80 - len(store)


def test_record_plain_hit_is_record_hit_of_a_variant_less_entry() -> None:
    by_entry, by_key = Store(100, "lru"), Store(100, "lru")
    for store in (by_entry, by_key):
        store.put(Obj("/1", 40))
        store.put(Obj("/2", 40))
    by_entry.record_hit(Obj("/1", 40))
    by_key.record_plain_hit("/1", 40)
    for store in (by_entry, by_key):
        store.put(Obj("/3", 40))  # evicts /2: /1 was used more recently
    assert by_entry.stats() == by_key.stats()
    assert by_key.lookup("/2") == [] and by_key.get("/1") == Obj("/1", 40)


def test_slots_is_the_live_map_of_entries_by_slot() -> None:
    store = Store(1000)
    plain, varied = Obj("/b", 10), Obj("/a", 20, ("gzip",))
    store.put(plain)
    store.put(varied)
    assert store.slots.get("/b") is plain and store.slots[("/a", ("gzip",))] is varied
    store.purge_key("/a")
    store.purge_key("/b")
    assert not store.slots


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("indexed", [False, True], ids=["no-index", "tag-index"])
def test_the_removal_listener_hears_evictions_and_hard_purges_only(
    policy: str, indexed: bool
) -> None:
    store = Store(1000, policy)
    removed: list[tuple[object, Obj]] = []
    store.set_removal_listener(lambda slot, entry: removed.append((slot, entry)))
    if indexed:
        store.tagged("t")  # builds the tag index: evictions also unindex
    entries = [tagged(f"/{number}", 30, "t") for number in range(60)]
    for entry in entries:
        store.put(entry)
    assert len(removed) == store.stats().evictions == 60 - len(store)
    assert all(entry is entries[int(str(slot)[1:])] for slot, entry in removed)
    removed.clear()
    kept = next(iter(store.entries()))
    store.put(dataclasses.replace(kept))  # a same-size replacement is not a removal
    store.purge_key(kept.key, soft=True)  # nor is a soft purge
    assert removed == []
    count = store.purge_prefix("/")
    assert count == len(removed) > 0 and len(store) == 0
    store.set_removal_listener(None)
    store.put(Obj("/x", 30))
    store.purge_key("/x")
    assert len(removed) == count


def test_touch_is_record_hit_on_the_policy_without_the_counters() -> None:
    by_entry, by_touch = Store(100, "lru"), Store(100, "lru")
    for store in (by_entry, by_touch):
        store.put(Obj("/1", 40))
        store.put(Obj("/2", 40))
    by_entry.record_hit(Obj("/1", 40))
    assert by_touch.touch is not None
    by_touch.touch("/1")
    for store in (by_entry, by_touch):
        store.put(Obj("/3", 40))  # evicts /2: /1 was used more recently
    assert by_touch.lookup("/2") == [] and by_touch.get("/1") == Obj("/1", 40)
    assert by_touch.stats().hits == 0 and by_entry.stats().hits == 1


def test_plain_insert_is_put_of_a_new_plain_entry_until_an_index_exists() -> None:
    by_put, by_insert = Store(100, "s3fifo"), Store(100, "s3fifo")
    for number in range(20):  # past the capacity: evictions
        by_put.put(Obj(f"/{number}", 8))
        assert by_insert.plain_insert is not None
        by_insert.plain_insert(f"/{number}", Obj(f"/{number}", 8), 8)
    assert list(by_put.entries()) == list(by_insert.entries())
    assert by_put.stats() == by_insert.stats()
    assert by_put.put(Obj("/big", 50)) is False
    with pytest.raises(ValueError):  # not admitted: where put says False
        by_insert.plain_insert("/big", Obj("/big", 50), 50)
    by_insert.tagged("t")  # a tag index now exists: put must keep it
    assert by_insert.plain_insert is None
