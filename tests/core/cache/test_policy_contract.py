"""The cachetools ``Cache`` contract, run over every policy in the registry.

Each test takes ``new_cache``, a factory for the policy under test; ``replay`` drives a request
sequence and, for policies that need the future (belady), supplies it from the whole sequence.
Sizes stay under 10% of the capacity, which S3-FIFO requires for admission.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pytest
from cachetools import Cache

from cdn.cache.policies import NEEDS_FUTURE, POLICIES, make_policy, next_access_indices

NewCache = Callable[..., Cache]


@pytest.fixture(params=sorted(POLICIES))
def policy_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def new_cache(policy_name: str) -> NewCache:
    def factory(maxsize: int, getsizeof: Callable[[Any], int] | None = None, **kw: Any) -> Cache:
        return make_policy(policy_name, maxsize, getsizeof, **kw)

    return factory


def replay(cache: Cache, keys: Sequence[Hashable], size: int = 1) -> int:
    """Request ``keys`` in order (insert on miss); return the number of misses."""
    future = next_access_indices(keys) if hasattr(cache, "schedule") else None
    misses = 0
    for index, key in enumerate(keys):
        if future is not None:
            cache.schedule(key, future[index])  # type: ignore[attr-defined]
        if key in cache:
            cache[key]
        else:
            misses += 1
            cache[key] = size
    return misses


def by_size(value: int) -> int:
    return value


def test_registry_names_every_required_policy() -> None:
    assert {"lru", "fifo", "lfu", "sieve", "s3fifo", "belady"} <= set(POLICIES)
    assert set(POLICIES) >= NEEDS_FUTURE


def test_unknown_policy_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown eviction policy 'arc'.*lru"):
        make_policy("arc", 10)


def test_new_cache_is_empty(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    assert len(cache) == 0
    assert cache.currsize == 0
    assert cache.maxsize == 1000
    assert list(cache) == []


def test_inserted_value_is_returned(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    cache["a"] = 10
    assert "a" in cache
    assert cache["a"] == 10
    assert cache.get("a") == 10


def test_missing_key_raises_key_error_and_get_gives_default(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    with pytest.raises(KeyError):
        cache["nope"]
    assert cache.get("nope", "default") == "default"
    assert "nope" not in cache


def test_currsize_is_the_sum_of_value_sizes(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    for key, size in zip("abcde", (10, 20, 30, 40, 50), strict=True):
        cache[key] = size
    assert cache.currsize == 150
    assert len(cache) == 5


def test_overwrite_replaces_value_and_size(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    cache["a"] = 10
    cache["b"] = 20
    cache["a"] = 40
    assert cache["a"] == 40
    assert cache.currsize == 60
    assert len(cache) == 2


def test_without_getsizeof_each_item_counts_one(new_cache: NewCache) -> None:
    cache = new_cache(100)
    for key in range(150):
        cache[key] = object()
    assert len(cache) == 100
    assert cache.currsize == 100


def test_eviction_keeps_currsize_within_maxsize(new_cache: NewCache) -> None:
    rng = random.Random(7)
    cache = new_cache(1000, by_size)
    for step in range(2000):
        key = rng.randrange(300)
        if key in cache and rng.random() < 0.5:
            cache[key]
        else:
            cache[key] = rng.randrange(1, 90)
        assert cache.currsize <= 1000, f"over budget after step {step}"
    assert cache.currsize == sum(Cache.__getitem__(cache, key) for key in cache)


def test_value_larger_than_maxsize_is_rejected_and_cache_unchanged(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    cache["a"] = 10
    with pytest.raises(ValueError, match="too large"):
        cache["big"] = 1001
    assert "big" not in cache
    assert list(cache) == ["a"]
    assert cache.currsize == 10


def test_popitem_on_empty_cache_raises_key_error(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    with pytest.raises(KeyError):
        cache.popitem()


def test_popitem_removes_and_returns_one_item(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    cache["a"] = 10
    cache["b"] = 20
    key, value = cache.popitem()
    assert (key, value) in {("a", 10), ("b", 20)}
    assert key not in cache
    assert len(cache) == 1
    assert cache.currsize == 30 - value


def test_popitem_drains_the_cache(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    for key in range(20):
        cache[key] = 5
    drained = {cache.popitem()[0] for _ in range(20)}
    assert drained == set(range(20))
    assert len(cache) == 0 and cache.currsize == 0


def test_delete_removes_item_and_its_size(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    cache["a"] = 10
    cache["b"] = 20
    del cache["a"]
    assert "a" not in cache
    assert cache.currsize == 20
    with pytest.raises(KeyError):
        del cache["a"]


def test_deleted_key_can_be_inserted_again(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    cache["a"] = 10
    del cache["a"]
    cache["a"] = 30
    assert cache["a"] == 30 and cache.currsize == 30


def test_iteration_len_and_membership_agree(new_cache: NewCache) -> None:
    cache = new_cache(100)
    replay(cache, [random.Random(3).randrange(200) for _ in range(1000)])
    keys = list(cache)
    assert len(keys) == len(cache) == len(set(keys))
    assert all(key in cache for key in keys)


def test_clear_empties_the_cache(new_cache: NewCache) -> None:
    cache = new_cache(1000, by_size)
    for key in range(30):
        cache[key] = 20
    cache.clear()
    assert len(cache) == 0 and cache.currsize == 0
    cache["again"] = 5
    assert list(cache) == ["again"]


def test_on_evict_hears_every_eviction_and_only_evictions(new_cache: NewCache) -> None:
    present: set[Hashable] = set()

    def evicted(key: Hashable, value: Any) -> None:
        assert key in present, f"{key!r} reported evicted but was not cached"
        assert value == 40
        present.discard(key)

    cache = new_cache(500, by_size)
    cache.on_evict = evicted  # type: ignore[attr-defined]
    rng = random.Random(11)
    for _ in range(500):
        key = rng.randrange(100)
        if key not in cache:
            cache[key] = 40
            present.add(key)
        assert present == set(cache)
    victim = next(iter(cache))
    del cache[victim]  # a removal is the owner's doing: not reported
    present.discard(victim)
    assert present == set(cache)


def test_evictions_balance_insertions(new_cache: NewCache) -> None:
    evictions = 0

    def count(key: Hashable, value: Any) -> None:
        nonlocal evictions
        evictions += 1

    cache = new_cache(50)
    cache.on_evict = count  # type: ignore[attr-defined]
    keys = [random.Random(5).randrange(120) for _ in range(800)]
    misses = replay(cache, keys)
    assert misses - evictions == len(cache)


def test_replay_is_deterministic(new_cache: NewCache) -> None:
    keys = [random.Random(9).randrange(60) for _ in range(600)]
    assert replay(new_cache(20), keys) == replay(new_cache(20), keys)


def test_a_cache_big_enough_for_everything_misses_once_per_key(new_cache: NewCache) -> None:
    keys = [random.Random(2).randrange(40) for _ in range(400)]
    assert replay(new_cache(1000), keys) == len(set(keys))


def test_negative_maxsize_is_rejected(policy_name: str) -> None:
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        make_policy(policy_name, -1)
