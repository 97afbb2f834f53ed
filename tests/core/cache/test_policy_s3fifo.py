"""S3-FIFO (SOSP'23) as libCacheSim's original: small, main (2-bit CLOCK) and ghost FIFOs in bytes."""

from __future__ import annotations

import pytest

from cdn.cache.policies import S3FIFOCache


def by_size(value: int) -> int:
    return value


def new_cache() -> S3FIFOCache:
    # small queue 100 B, main 900 B, ghost 900 B
    return S3FIFOCache(1000, by_size)


def test_queue_capacities_follow_libcachesim() -> None:
    cache = S3FIFOCache(2_029_769, by_size)
    assert cache.small_capacity == 202_976
    assert cache.main_capacity == 2_029_769 - 202_976
    assert cache.ghost_capacity == 1_826_792


def test_new_objects_enter_the_small_queue() -> None:
    cache = new_cache()
    cache["a"] = 10
    assert cache.queue_of("a") == "small"
    assert cache.frequency("a") == 0


def test_objects_not_smaller_than_the_small_queue_are_not_admitted() -> None:
    cache = new_cache()
    with pytest.raises(ValueError, match="too large"):
        cache["big"] = 100
    cache["fits"] = 99
    assert "big" not in cache and "fits" in cache


def test_hits_count_up_the_frequency() -> None:
    cache = new_cache()
    cache["a"] = 10
    cache["a"], cache["a"], cache["a"]
    assert cache.frequency("a") == 3


def test_a_small_object_hit_twice_moves_to_main_when_it_reaches_the_tail() -> None:
    cache = new_cache()
    for key in range(10):
        cache[key] = 50  # until the first eviction everything enters small
    cache[0], cache[0]
    for key in range(10, 21):
        cache[key] = 50  # the 21st forces the first eviction
    assert cache.queue_of(0) == "main"
    assert cache.frequency(0) == 0


def test_a_small_object_hit_once_is_evicted_into_the_ghost() -> None:
    cache = new_cache()
    for key in range(20):
        cache[key] = 50
    cache[0]
    cache[20] = 50  # evicts from small; 0 has freq 1 < 2
    assert 0 not in cache
    assert cache.queue_of(0) == "ghost"


def test_a_ghost_key_comes_back_into_main() -> None:
    cache = new_cache()
    for key in range(21):
        cache[key] = 50
    assert cache.queue_of(0) == "ghost"
    cache[0] = 50
    assert cache.queue_of(0) == "main"


def test_main_reinserts_hit_objects_with_a_decremented_two_bit_counter() -> None:
    cache = new_cache()
    for key in range(20):
        cache[key] = 50
    for key in range(20):
        cache[key], cache[key]
    cache[20] = 50  # small drains into main (counters reset), main's unhit tail 0 goes
    assert 0 not in cache and cache.queue_of(1) == "main"
    for _ in range(5):
        cache[1]
    cache[21] = 50  # main is over its share: its tail 1 is reinserted, 2 is evicted
    assert 1 in cache and 2 not in cache
    assert cache.frequency(1) == 2  # min(5, 3) - 1


def test_the_ghost_queue_is_bounded_in_bytes() -> None:
    cache = new_cache()
    for key in range(500):
        cache[key] = 50
    ghosts = sum(1 for key in range(500) if cache.queue_of(key) == "ghost")
    assert ghosts * 50 <= cache.ghost_capacity


def test_ratios_are_validated() -> None:
    with pytest.raises(ValueError, match="small_ratio"):
        S3FIFOCache(1000, small_ratio=1.5)


def test_a_deleted_and_readded_key_is_evicted_at_its_new_place_in_the_queue() -> None:
    cache = new_cache()
    for key in "abc":
        cache[key] = 30
    del cache["a"]
    cache["a"] = 30  # now the newest in the small queue: b and c go first
    cache["d"] = 30
    assert [cache.popitem()[0] for _ in range(4)] == ["b", "c", "a", "d"]
    assert cache.currsize == 0 and cache.queue_of("a") == "ghost"


def test_insert_is_setitem_with_the_size_given() -> None:
    cache = new_cache()
    cache.insert("a", 5, 40)
    assert cache.currsize == 40 and cache["a"] == 5
