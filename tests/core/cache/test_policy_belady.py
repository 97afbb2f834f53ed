"""Belady's MIN: evicts the object whose next use is farthest, told by schedule() before each access."""

from __future__ import annotations

from cdn.cache.policies import BeladyCache, next_access_indices


def test_next_access_indices_point_at_the_next_request_of_the_same_key() -> None:
    assert next_access_indices("abacb") == [2, 4, None, None, None]


def test_evicts_the_object_used_farthest_in_the_future() -> None:
    keys = "abcacab"
    future = next_access_indices(keys)
    cache = BeladyCache(2)
    misses = []
    for index, key in enumerate(keys):
        cache.schedule(key, future[index])
        if key in cache:
            cache[key]
        else:
            misses.append(index)
            cache[key] = key
    # at c (index 2) a is next used at 3, b at 6: b goes
    assert misses == [0, 1, 2, 6]


def test_objects_never_used_again_go_first() -> None:
    cache = BeladyCache(2)
    cache.schedule("once", None)
    cache["once"] = 1
    cache.schedule("soon", 5)
    cache["soon"] = 1
    cache.schedule("new", 9)
    cache["new"] = 1
    assert set(cache) == {"soon", "new"}


def test_a_hit_reschedules_the_object() -> None:
    cache = BeladyCache(2)
    cache.schedule("a", 1)
    cache["a"] = 1
    assert cache.next_access("a") == 1
    cache.schedule("a", None)
    cache["a"]
    assert cache.next_access("a") is None


def test_negative_next_access_means_never() -> None:
    cache = BeladyCache(2)
    cache.schedule("a", -1)
    cache["a"] = 1
    assert cache.next_access("a") is None


def test_belady_never_misses_more_than_lru_on_unit_sizes() -> None:
    import random

    from cdn.cache.policies import LRUPolicy

    rng = random.Random(4)
    keys = [int(rng.paretovariate(1.2)) % 300 for _ in range(5000)]
    future = next_access_indices(keys)
    belady, lru = BeladyCache(50), LRUPolicy(50)
    misses = {"belady": 0, "lru": 0}
    for index, key in enumerate(keys):
        belady.schedule(key, future[index])
        for name, cache in (("belady", belady), ("lru", lru)):
            if key in cache:
                cache[key]
            else:
                misses[name] += 1
                cache[key] = key
    assert misses["belady"] <= misses["lru"]
