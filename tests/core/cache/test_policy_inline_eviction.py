"""Inlined eviction loops choose as the plain algorithm does, and survive a raising listener.

S3-FIFO evicts inline while inserting a new key and through ``popitem`` otherwise (overwrites and
direct calls), so both must follow the algorithm: a list model of it, written from the module
docstring (small, main and ghost FIFOs in bytes), runs beside the cache through a seeded mix of
insertions, overwrites, hits, deletions and ``popitem()`` calls, and after every step the contents,
the queue of each key, the counters and the eviction notices must agree. The policies keep their
counters in locals while they evict; a listener that raises must still leave them consistent.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Any

import pytest

from cdn.cache.policies import POLICIES, S3FIFOCache, make_policy


def by_size(value: int) -> int:
    return value


class ReferenceS3FIFO:
    """S3-FIFO over plain lists of ``[key, size]``, oldest first (slow and obviously so)."""

    def __init__(
        self, capacity: int, small_ratio: float, ghost_ratio: float, threshold: int
    ) -> None:
        self.capacity, self.threshold = capacity, threshold
        self.small_capacity = int(capacity * small_ratio)
        self.main_capacity = capacity - self.small_capacity
        self.ghost_capacity = int(capacity * ghost_ratio)
        self.small: list[list[Any]] = []
        self.main: list[list[Any]] = []
        self.ghost: list[list[Any]] = []
        self.freq: dict[Hashable, int] = {}
        self.notices: list[tuple[Hashable, int]] = []

    @staticmethod
    def weight(queue: list[list[Any]]) -> int:
        return sum(size for _, size in queue)

    def used(self) -> int:
        return self.weight(self.small) + self.weight(self.main)

    def queue_of(self, key: Hashable) -> str | None:
        for name in ("small", "main", "ghost"):
            if any(item[0] == key for item in getattr(self, name)):
                return name
        return None

    def size_of(self, key: Hashable) -> int:
        return next(
            size for name in ("small", "main") for k, size in getattr(self, name) if k == key
        )

    def evict(self) -> tuple[Hashable, int]:
        if not self.freq:
            raise KeyError("S3FIFOCache is empty")
        if self.small and self.weight(self.main) <= self.main_capacity:
            while self.small:
                key, size = self.small.pop(0)
                if self.freq[key] >= self.threshold:
                    self.main.append([key, size])
                    self.freq[key] = 0
                    continue
                if self.queue_of(key) != "ghost" and size <= self.ghost_capacity:
                    self.ghost.append([key, size])
                    while self.weight(self.ghost) > self.ghost_capacity:
                        self.ghost.pop(0)
                return self.evicted(key, size)
        while True:
            key, size = self.main.pop(0)
            if self.freq[key] < 1:
                return self.evicted(key, size)
            self.main.append([key, size])
            self.freq[key] = min(self.freq[key], 3) - 1

    def evicted(self, key: Hashable, size: int) -> tuple[Hashable, int]:
        del self.freq[key]
        self.notices.append((key, size))
        return key, size

    def set(self, key: Hashable, size: int) -> None:
        if size >= self.small_capacity:
            raise ValueError("value too large")
        if key in self.freq:  # overwrite: cachetools keeps it in place while making room
            if size < 0:
                raise ValueError("value size must be non-negative")
            while (
                self.used() + size - (self.size_of(key) if key in self.freq else 0) > self.capacity
            ):
                self.evict()
            if key in self.freq:
                for name in ("small", "main"):
                    for item in getattr(self, name):
                        if item[0] == key:
                            item[1] = size
            else:
                self.small.append([key, size])
                self.freq[key] = 0
            return
        from_ghost = self.queue_of(key) == "ghost"
        self.ghost = [item for item in self.ghost if item[0] != key]
        if size < 0:
            raise ValueError("value size must be non-negative")
        while self.used() + size > self.capacity:
            self.evict()
        (self.main if from_ghost else self.small).append([key, size])
        self.freq[key] = 0

    def delete(self, key: Hashable) -> None:
        if key not in self.freq:
            raise KeyError(key)
        del self.freq[key]
        self.small = [item for item in self.small if item[0] != key]
        self.main = [item for item in self.main if item[0] != key]


def outcome(action: Any) -> Any:
    try:
        return ("ok", action())
    except (KeyError, ValueError) as error:
        return (type(error).__name__, str(error))


@pytest.mark.parametrize(
    ("capacity", "options"),
    [
        (2000, {}),
        (3000, {"small_ratio": 0.3, "ghost_ratio": 0.2, "move_to_main_threshold": 1}),
        (3000, {"small_ratio": 0.05, "ghost_ratio": 2.0, "move_to_main_threshold": 3}),
        (2000, {"ghost_ratio": 0.0}),
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_s3fifo_matches_a_list_model_step_for_step(
    capacity: int, options: dict[str, Any], seed: int
) -> None:
    rng = random.Random(seed)
    cache = S3FIFOCache(capacity, by_size, **options)
    heard: list[tuple[Hashable, int]] = []
    cache.on_evict = lambda key, value: heard.append((key, value))
    model = ReferenceS3FIFO(
        capacity,
        options.get("small_ratio", 0.10),
        options.get("ghost_ratio", 0.90),
        options.get("move_to_main_threshold", 2),
    )
    small = model.small_capacity
    keys: list[Hashable] = [*range(60), None, "k", (1, 2)]
    for step in range(2500):
        key = rng.choice(keys)
        action = rng.random()
        if action < 0.5:
            size = rng.choice([0, 1, 3, 10, 25, small // 2, small - 1, small, small + 1, -1])
            if rng.random() < 0.6:
                size = rng.randrange(small // 3)
            ours = outcome(lambda key=key, size=size: cache.__setitem__(key, size))
            theirs = outcome(lambda key=key, size=size: model.set(key, size))
        elif action < 0.8:
            ours = theirs = None
            if key in model.freq:
                cache[key]
                model.freq[key] += 1
        elif action < 0.93:
            ours = outcome(lambda key=key: cache.__delitem__(key))
            theirs = outcome(lambda key=key: model.delete(key))
        else:
            ours, theirs = outcome(cache.popitem), outcome(model.evict)
        assert ours == theirs, f"step {step}"
        assert heard == model.notices, f"step {step}"
        assert {key: cache.queue_of(key) for key in keys} == {
            key: model.queue_of(key) for key in keys
        }, f"step {step}"
        assert {key: cache.frequency(key) for key in cache} == model.freq, f"step {step}"
        assert dict(cache.items()) == {
            key: size for queue in (model.small, model.main) for key, size in queue
        }
        assert cache.currsize == model.used() <= capacity
        assert cache.evictions == len(model.notices)


class Refusal(Exception):
    """What the listener below raises."""


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_raising_listener_leaves_the_counters_consistent(policy: str) -> None:
    heard: list[Hashable] = []

    def listener(key: Hashable, value: Any) -> None:
        heard.append(key)
        if len(heard) % 7 == 0:
            raise Refusal(key)

    cache = make_policy(policy, 1000, by_size, listener)
    rng = random.Random(4)
    refused = 0
    for step in range(600):
        key = rng.randrange(200)
        if key in cache:
            cache[key]
            continue
        try:
            cache[key] = rng.randrange(1, 90)
        except Refusal:
            refused += 1
            assert key not in cache, f"step {step}"
        assert cache.currsize == sum(cache.data[k] for k in cache) <= 1000, f"step {step}"
        assert cache.evictions == len(heard), f"step {step}"
    assert refused > 0
