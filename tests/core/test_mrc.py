"""One-pass LRU miss-ratio curves agree with replaying a byte-bounded LRU at each size."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import pytest
from cachetools import LRUCache

from cdn.mrc import byte_stack_distances, lru_miss_ratio_curve

TRACES = Path(
    os.environ.get(
        "CDNLAB_SHARED_TRACES", Path(__file__).resolve().parents[3] / "shared" / "traces"
    )
)


def zipf_trace(n: int, objects: int, seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    weights = [1 / (rank**0.9) for rank in range(1, objects + 1)]
    ids = rng.choices(range(objects), weights=weights, k=n)
    sizes = {i: rng.randint(100, 20_000) for i in range(objects)}
    return [(i, sizes[i]) for i in ids]


def replay_lru(trace: list[tuple[int, int]], capacity: int) -> tuple[float, float]:
    cache: LRUCache = LRUCache(capacity, getsizeof=lambda size: size)
    hits = hit_bytes = total_bytes = 0
    for obj, size in trace:
        total_bytes += size
        if obj in cache:
            cache[obj]  # touch: a hit refreshes recency
            hits += 1
            hit_bytes += size
        elif size <= capacity:
            cache[obj] = size
    return hits / len(trace), hit_bytes / total_bytes


def test_stack_distance_of_a_repeat_counts_the_bytes_in_between():
    distances, total, total_bytes = byte_stack_distances([("a", 10), ("b", 5), ("b", 5), ("a", 10)])
    assert [d for d, _ in distances] == [float("inf"), float("inf"), 5, 15]
    assert (total, total_bytes) == (4, 30)


def test_exact_curve_equals_lru_replay_at_every_size():
    trace = zipf_trace(20_000, 2_000, seed=3)
    capacities = [50_000, 500_000, 2_000_000, 8_000_000]
    curve = lru_miss_ratio_curve(trace, capacities)
    for capacity in capacities:
        hit, byte_hit = replay_lru(trace, capacity)
        assert curve.at(capacity) == pytest.approx((hit, byte_hit), abs=1e-12)


def test_sampled_curve_is_close_on_a_large_trace():
    trace = zipf_trace(200_000, 20_000, seed=5)
    capacities = [2_000_000, 20_000_000]
    exact = lru_miss_ratio_curve(trace, capacities)
    sampled = lru_miss_ratio_curve(trace, capacities, sampling_rate=0.2)
    assert sampled.sampled_requests < exact.sampled_requests
    for e, s in zip(exact.hit_ratio, sampled.hit_ratio, strict=True):
        assert s == pytest.approx(e, abs=0.03)


def test_bad_sampling_rate_is_refused():
    with pytest.raises(ValueError, match="expected 0 < rate <= 1"):
        lru_miss_ratio_curve([(1, 1)], [10], sampling_rate=0)


@pytest.mark.golden
def test_curve_reproduces_libcachesim_lru_miss_counts_on_cloudphysics():
    path = TRACES / "cloudPhysicsIO.oracleGeneral.bin"
    if not path.exists():
        pytest.skip(f"shared traces not found at {TRACES} (set CDNLAB_SHARED_TRACES)")
    trace = [(obj, size) for _, obj, size, _ in struct.iter_unpack("<IQIq", path.read_bytes())]
    expected = {2_029_769: 96_932, 20_297_697: 94_956, 202_976_972: 92_200}
    curve = lru_miss_ratio_curve(trace, list(expected))
    for capacity, misses in expected.items():
        assert len(trace) - round(curve.at(capacity)[0] * len(trace)) == misses


def test_capacities_below_the_largest_object_are_exact_too():
    trace = zipf_trace(20_000, 2_000, seed=9)
    capacities = [5_000, 15_000, 19_000, 2_000_000]
    curve = lru_miss_ratio_curve(lambda: iter(trace), capacities)
    for capacity in capacities:
        hit, byte_hit = replay_lru(trace, capacity)
        assert curve.at(capacity) == pytest.approx((hit, byte_hit), abs=1e-12)
