"""Miss-ratio curves for LRU in one pass: byte stack distances, optionally SHARDS-sampled.

Rules: pure; the caller hands in (object id, size) pairs. No clock, no randomness: SHARDS
sampling is a deterministic hash of the object id (blake2b), so every process samples alike.

Why one pass works for a byte-bounded LRU: its contents are always the longest prefix of the
recency stack whose sizes fit the capacity (items leave only from the tail, hits keep the set).
So a request hits at capacity C exactly when its *byte stack distance* -- its own size plus the
sizes of the distinct objects used since its previous request -- is at most C. One histogram of
distances answers every C at once. (Objects larger than C are never admitted; they are counted
as misses at that C but still occupy the stack here, which only matters when C is close to the
largest object size.)

SHARDS (Waldspurger et al., FAST'15): keep only objects whose hash falls below rate R, scale
their distances by 1/R. We use SHARDS-adj: the gap between the expected (N*R) and the actual
number of sampled requests is credited to the smallest distance, which removes most of the bias
of a hot object falling in or out of the sample. Error is small for large traces.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

_HASH_SPACE = 1 << 64


@dataclass(frozen=True, slots=True)
class MissRatioCurve:
    """Request and byte hit ratios of LRU at each capacity in ``capacities`` (bytes)."""

    capacities: tuple[int, ...]
    hit_ratio: tuple[float, ...]
    byte_hit_ratio: tuple[float, ...]
    requests: int
    sampled_requests: int
    sampling_rate: float

    def at(self, capacity: int) -> tuple[float, float]:
        """(hit ratio, byte hit ratio) at ``capacity``, which must be one of ``capacities``."""
        index = self.capacities.index(capacity)
        return self.hit_ratio[index], self.byte_hit_ratio[index]


class _Fenwick:
    """Prefix sums over positions 1..n with point updates, for sizes at last-access positions."""

    __slots__ = ("tree",)

    def __init__(self, n: int) -> None:
        self.tree = [0] * (n + 1)

    def add(self, i: int, delta: int) -> None:
        tree = self.tree
        n = len(tree)
        while i < n:
            tree[i] += delta
            i += i & -i

    def prefix(self, i: int) -> int:
        tree = self.tree
        total = 0
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total


def _sampled(obj_id: object, rate: float) -> bool:
    digest = hashlib.blake2b(str(obj_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") < rate * _HASH_SPACE


def byte_stack_distances(
    requests: Iterable[tuple[object, int]], sampling_rate: float = 1.0
) -> tuple[list[tuple[float, int]], int, int]:
    """Byte stack distance of every (sampled) request: (distance or inf for a first use, size).

    Returns (distances, total requests, total requested bytes). With ``sampling_rate`` < 1 only
    sampled objects are tracked and their distances are scaled by 1 / rate (SHARDS).
    """
    if not 0 < sampling_rate <= 1:
        raise ValueError(f"sampling rate {sampling_rate} out of range (expected 0 < rate <= 1)")
    records = []
    total = 0
    total_bytes = 0
    for obj_id, size in requests:
        total += 1
        total_bytes += size
        if sampling_rate >= 1.0 or _sampled(obj_id, sampling_rate):
            records.append((obj_id, size))
    tree = _Fenwick(len(records))
    last_position: dict[object, int] = {}
    distances: list[tuple[float, int]] = []
    scale = 1.0 / sampling_rate
    for position, (obj_id, size) in enumerate(records, start=1):
        previous = last_position.get(obj_id)
        if previous is None:
            distances.append((float("inf"), size))
        else:
            between = tree.prefix(position - 1) - tree.prefix(previous)
            distances.append(((between + size) * scale, size))
            tree.add(previous, -size)
        tree.add(position, size)
        last_position[obj_id] = position
    return distances, total, total_bytes


RequestSource = Sequence[tuple[object, int]] | Callable[[], Iterable[tuple[object, int]]]


def _iterate(requests: RequestSource) -> Iterator[tuple[object, int]]:
    return iter(requests() if callable(requests) else requests)


def _ratios(
    distances: list[tuple[float, int]],
    total: int,
    total_bytes: int,
    capacities: Sequence[int],
    sampling_rate: float,
) -> tuple[list[float], list[float]]:
    """Hit and byte hit ratios at each capacity from one pass's distances (SHARDS-adj)."""
    sampled = len(distances)
    finite = sorted((d, s) for d, s in distances if d != float("inf"))
    keys = [d for d, _ in finite]
    cumulative_bytes = [0]
    for _, size in finite:
        cumulative_bytes.append(cumulative_bytes[-1] + size)
    sampled_bytes = sum(size for _, size in distances)
    # SHARDS-adj: credit (expected - actual) sampled requests and bytes to the smallest distance.
    expected = total * sampling_rate
    expected_bytes = total_bytes * sampling_rate
    adjust = expected - sampled
    adjust_bytes = expected_bytes - sampled_bytes
    hit_ratio = []
    byte_hit_ratio = []
    for capacity in capacities:
        count = bisect.bisect_right(keys, capacity)
        if not expected or not expected_bytes:
            hit_ratio.append(0.0)
            byte_hit_ratio.append(0.0)
            continue
        hits = count + (adjust if count else 0.0)
        hit_bytes = cumulative_bytes[count] + (adjust_bytes if count else 0.0)
        hit_ratio.append(min(1.0, max(0.0, hits / expected)))
        byte_hit_ratio.append(min(1.0, max(0.0, hit_bytes / expected_bytes)))
    return hit_ratio, byte_hit_ratio


def lru_miss_ratio_curve(
    requests: RequestSource,
    capacities: Sequence[int],
    sampling_rate: float = 1.0,
) -> MissRatioCurve:
    """LRU hit ratios at every capacity from (id, size) ``requests``, exact for every capacity.

    ``requests`` is a sequence, or a function returning a fresh iterable: capacities smaller
    than the largest object need one more pass each (see the module header).
    """
    capacities = tuple(sorted({int(c) for c in capacities}))
    if not capacities or capacities[0] <= 0:
        raise ValueError("capacities must be positive byte counts")
    largest = 0

    def track_largest() -> Iterator[tuple[object, int]]:
        nonlocal largest
        for obj_id, size in _iterate(requests):
            largest = max(largest, size)
            yield obj_id, size

    distances, total, total_bytes = byte_stack_distances(track_largest(), sampling_rate)
    ratios = dict(
        zip(
            capacities,
            zip(*_ratios(distances, total, total_bytes, capacities, sampling_rate), strict=True),
            strict=True,
        )
    )
    for capacity in (c for c in capacities if c < largest):
        admitted = ((obj, size) for obj, size in _iterate(requests) if size <= capacity)
        fit, fit_total, fit_bytes = byte_stack_distances(admitted, sampling_rate)
        hit, byte_hit = _ratios(fit, fit_total, fit_bytes, [capacity], sampling_rate)
        # Ratios among admitted requests, rescaled to the whole trace (the rest always miss).
        ratios[capacity] = (
            hit[0] * fit_total / total if total else 0.0,
            byte_hit[0] * fit_bytes / total_bytes if total_bytes else 0.0,
        )
    return MissRatioCurve(
        capacities=capacities,
        hit_ratio=tuple(ratios[c][0] for c in capacities),
        byte_hit_ratio=tuple(ratios[c][1] for c in capacities),
        requests=total,
        sampled_requests=len(distances),
        sampling_rate=sampling_rate,
    )
