"""A single LRU cache under IRM Zipf requests agrees with Che's approximation (within 1%)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cdn.cache.store import Store
from cdn.workload import Zipf

OBJECTS = 1000
REQUESTS = 120_000
WARMUP = 20_000


def che_hit_ratio(popularity: np.ndarray, capacity: int) -> float:
    """Che's approximation: T solves sum(1 - exp(-p_i T)) = C; hit ratio = sum p_i (1 - exp(-p_i T))."""
    low, high = 0.0, 1.0
    while np.sum(1.0 - np.exp(-popularity * high)) < capacity:
        high *= 2.0
    for _ in range(200):  # bisection on a monotone function
        mid = (low + high) / 2.0
        if np.sum(1.0 - np.exp(-popularity * mid)) < capacity:
            low = mid
        else:
            high = mid
    characteristic_time = (low + high) / 2.0
    return float(np.sum(popularity * (1.0 - np.exp(-popularity * characteristic_time))))


def simulated_lru_hit_ratio(alpha: float, capacity: int, seed: int) -> float:
    zipf = Zipf(OBJECTS, alpha)
    ranks = zipf.sample(np.random.default_rng(seed), REQUESTS).tolist()
    store = Store(capacity, "lru")  # unit-size objects: capacity in bytes = objects
    request = store.request
    for key in ranks[:WARMUP]:
        request(key, 1)
    hits = sum(request(key, 1) for key in ranks[WARMUP:])
    return hits / (REQUESTS - WARMUP)


@pytest.mark.parametrize("alpha", [0.6, 0.9, 1.2])
@pytest.mark.parametrize("capacity", [25, 100, 300])
def test_lru_hit_ratio_matches_che_approximation(alpha: float, capacity: int) -> None:
    popularity = Zipf(OBJECTS, alpha).pmf(np.arange(1, OBJECTS + 1))
    expected = che_hit_ratio(popularity, capacity)
    simulated = simulated_lru_hit_ratio(alpha, capacity, seed=int(alpha * 10) + capacity)
    assert math.isclose(simulated, expected, abs_tol=0.01), (simulated, expected)
