"""Our lean LRU, FIFO and LFU make exactly the choices of cachetools' LRUCache, FIFOCache and LFUCache.

A seeded random mix of inserts, overwrites (growing, shrinking, self-evicting), hits, deletions
and explicit popitem()s runs on both; after every step the contents, the eviction order, currsize
and the eviction notices must agree. (Iteration order differs: ours iterates oldest first, the
order the policy keeps; cachetools iterates in first-insertion order. The contract fixes none.)
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Any

import cachetools
import pytest
from cachetools import Cache

from cdn.cache.policies import FIFOPolicy, LFUPolicy, LRUPolicy


class _Heard:
    """cachetools' own class with the eviction notice, as the registry used to build it."""

    def __init__(self) -> None:
        self.notices: list[tuple[Hashable, Any]] = []

    def __call__(self, key: Hashable, value: Any) -> None:
        self.notices.append((key, value))


def _reference(kind: type[Cache], maxsize: int, heard: _Heard) -> Cache:
    class Reference(kind):  # type: ignore[misc,valid-type]
        def popitem(self) -> tuple[Hashable, Any]:
            key, value = super().popitem()
            heard(key, value)
            return key, value

    return Reference(maxsize, getsizeof=int)


@pytest.mark.parametrize(
    ("lean", "reference"),
    [
        (LRUPolicy, cachetools.LRUCache),
        (FIFOPolicy, cachetools.FIFOCache),
        (LFUPolicy, cachetools.LFUCache),
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lean_policy_matches_cachetools_step_for_step(
    lean: type[Cache], reference: type[Cache], seed: int
) -> None:
    rng = random.Random(seed)
    ours_heard, theirs_heard = _Heard(), _Heard()
    ours = lean(500, getsizeof=int)
    ours.on_evict = ours_heard  # type: ignore[attr-defined]
    theirs = _reference(reference, 500, theirs_heard)
    for _ in range(4000):
        key = rng.randrange(60)
        action = rng.random()
        if action < 0.45:
            size = rng.choice([0, 1, 7, 40, 90, 200, 499, 500, 501])
            outcomes = []
            for cache in (ours, theirs):
                try:
                    cache[key] = size
                    outcomes.append("stored")
                except ValueError as error:
                    outcomes.append(str(error))
            assert outcomes[0] == outcomes[1]
        elif action < 0.8:
            if key in theirs:
                assert ours[key] == theirs[key]
            else:
                assert key not in ours
        elif action < 0.95:
            if key in theirs:
                del ours[key], theirs[key]
            else:
                with pytest.raises(KeyError):
                    del ours[key]
        elif len(theirs):
            assert ours.popitem() == theirs.popitem()
        order = getattr(theirs, f"_{reference.__name__}__order", None)  # oldest first
        if order is not None:  # LRU and FIFO keep one; LFU's victim order is checked by popitem
            assert list(ours.data) == list(order)  # type: ignore[attr-defined]
        assert dict(ours.items()) == {k: Cache.__getitem__(theirs, k) for k in theirs}
        assert ours.currsize == theirs.currsize
        assert ours_heard.notices == theirs_heard.notices
    assert ours.evictions == len(ours_heard.notices)  # type: ignore[attr-defined]


def test_lru_touch_is_a_use_and_fifo_has_none() -> None:
    lru, fifo = LRUPolicy(3), FIFOPolicy(3)
    for key in "abc":
        lru[key] = fifo[key] = key
    lru.touch("a")  # type: ignore[attr-defined]
    lru["d"] = "d"
    assert list(lru) == ["b", "c", "a", "d"][1:]
    assert fifo.touch is None  # type: ignore[attr-defined]
