"""SIEVE (NSDI'24) as libCacheSim's Sieve.c: visited bits, a hand walking tail to head, no reordering."""

from __future__ import annotations

from cdn.cache.policies import SieveCache


def filled(*keys: str, maxsize: int | None = None) -> SieveCache:
    cache = SieveCache(maxsize or len(keys))
    for key in keys:
        cache[key] = key
    return cache


def test_new_objects_enter_at_the_head_unvisited() -> None:
    cache = filled("a", "b", "c")
    assert cache.order() == ["c", "b", "a"]
    assert not any(cache.visited(key) for key in "abc")


def test_a_hit_sets_the_visited_bit_without_moving_the_object() -> None:
    cache = filled("a", "b", "c")
    cache["a"]
    assert cache.visited("a")
    assert cache.order() == ["c", "b", "a"]


def test_the_first_eviction_evicts_the_unvisited_tail() -> None:
    cache = filled("a", "b", "c")
    cache["d"] = "d"
    assert "a" not in cache
    assert cache.order() == ["d", "c", "b"]


def test_the_hand_clears_visited_bits_and_evicts_the_first_unvisited() -> None:
    cache = filled("a", "b", "c", "d")
    cache["a"], cache["b"]
    cache["e"] = "e"
    assert "c" not in cache
    assert not cache.visited("a") and not cache.visited("b")
    assert cache.order() == ["e", "d", "b", "a"]  # survivors keep their places


def test_the_hand_rests_on_the_victims_head_side_neighbour() -> None:
    cache = filled("a", "b", "c", "d")
    cache["a"], cache["b"]
    cache["e"] = "e"  # evicts c; the hand moves to d
    assert cache.hand == "d"
    cache["f"] = "f"  # resumes at d, not at the tail
    assert "d" not in cache and "a" in cache
    assert cache.hand == "e"


def test_evicting_the_head_sends_the_hand_back_to_the_tail() -> None:
    cache = filled("a", "b")
    cache["a"]
    cache["c"] = "c"  # a visited -> cleared; b (the head) is evicted
    assert set(cache) == {"a", "c"}
    assert cache.hand is None
    cache["d"] = "d"  # the hand restarts at the tail: a
    assert set(cache) == {"c", "d"}
    assert cache.hand == "c"


def test_the_hand_wraps_from_head_to_tail_when_everything_was_visited() -> None:
    cache = filled("a", "b", "c")
    for key in "abc":
        cache[key]
    cache["d"] = "d"  # one full sweep clears every bit, then the tail goes
    assert "a" not in cache
    assert not any(cache.visited(key) for key in "bc")


def test_removing_the_object_under_the_hand_moves_the_hand_headward() -> None:
    cache = filled("a", "b", "c", "d")
    cache["a"], cache["b"]
    cache["e"] = "e"
    assert cache.hand == "d"
    del cache["d"]
    assert cache.hand == "e"


def test_a_one_hit_wonder_leaves_before_a_visited_older_object() -> None:
    cache = filled("old", "x", maxsize=2)
    cache["old"]
    cache["y"] = "y"
    assert "old" in cache and "x" not in cache
