"""The cachetools policies in the registry: LRU recency, FIFO without reordering, LFU frequency."""

from __future__ import annotations

from cdn.cache.policies import FIFOPolicy, LFUPolicy, LRUPolicy


def test_lru_a_hit_protects_the_object_from_the_next_eviction() -> None:
    cache = LRUPolicy(3)
    for key in "abc":
        cache[key] = key
    cache["a"]
    cache["d"] = "d"
    assert set(cache) == {"a", "c", "d"}


def test_lru_evicts_the_least_recently_used() -> None:
    cache = LRUPolicy(3)
    for key in "abc":
        cache[key] = key
    cache["b"], cache["a"]
    cache["d"] = "d"
    assert "c" not in cache


def test_fifo_a_hit_does_not_reorder() -> None:
    cache = FIFOPolicy(3)
    for key in "abc":
        cache[key] = key
    cache["a"]
    cache["d"] = "d"
    assert set(cache) == {"b", "c", "d"}


def test_lfu_evicts_the_least_frequently_used() -> None:
    cache = LFUPolicy(3)
    for key in "abc":
        cache[key] = key
    cache["a"], cache["a"], cache["c"]
    cache["d"] = "d"
    assert set(cache) == {"a", "c", "d"}


def test_byte_capacity_evicts_as_many_objects_as_needed() -> None:
    cache = LRUPolicy(100, getsizeof=len)
    cache["a"] = "x" * 40
    cache["b"] = "x" * 40
    cache["c"] = "x" * 90
    assert list(cache) == ["c"]
    assert cache.currsize == 90
