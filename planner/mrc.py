"""Hit-ratio curves over many cache sizes for `cdn plan --mrc`: one pass for LRU, replays otherwise.

Rules: LRU uses cdn.mrc's byte stack distances (one pass over the trace for every size at or
above the largest object, one more pass for each smaller size; optionally SHARDS-sampled). Other
policies have no stack property, so each size is one fast-path replay
(``sim.fastpath.replay``). A topology's workload is first written out as a CSV trace (the whole
CDN's request stream through one cache, no geography), so both methods read the same requests.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cdn.mrc import lru_miss_ratio_curve
from cdn.topology import Topology
from cdn.trace import iter_requests
from cdn.units import parse_size
from cdn.workload import RequestStream
from sim.fastpath import replay

ONE_PASS_POLICIES = frozenset({"lru"})
DEFAULT_POINTS = 20


@dataclass(frozen=True, slots=True)
class CurveResult:
    """Hit ratios of one policy at each size, how they were computed, and optional replay checks."""

    policy: str
    method: str  # "one-pass" (stack distances) or "fast-path" (a replay per size)
    sizes: tuple[int, ...]
    hit_ratio: tuple[float, ...]
    byte_hit_ratio: tuple[float, ...]
    requests: int
    sampling_rate: float
    checked: tuple[float, ...] | None = None  # fast-path hit ratio per size, with --check
    passes: int = 1  # passes over the trace (replays for fast-path curves)

    @property
    def max_check_error(self) -> float | None:
        """Largest |one-pass - replay| hit ratio difference, when checked."""
        if self.checked is None:
            return None
        return max(abs(a - b) for a, b in zip(self.hit_ratio, self.checked, strict=True))


def parse_sizes(values: Sequence[str]) -> tuple[int, ...]:
    """Sizes from ``["1MiB", "64MiB"]`` or a log range ``["1MiB:1GiB:20"]``; ValueError otherwise."""
    sizes: list[int] = []
    for value in values:
        if ":" in value:
            parts = value.split(":")
            if len(parts) != 3:
                raise ValueError(
                    f"{value!r} is not a range (expected FROM:TO:COUNT like 1MiB:1GiB:20)"
                )
            lo, hi, count = parse_size(parts[0]), parse_size(parts[1]), int(parts[2])
            sizes.extend(log_sizes(lo, hi, count))
        else:
            sizes.append(parse_size(value))
    if not sizes or min(sizes) <= 0:
        raise ValueError("cache sizes must be positive (expected e.g. 64MiB or 1MiB:1GiB:20)")
    return tuple(sorted(set(sizes)))


def log_sizes(lo: int, hi: int, count: int) -> list[int]:
    """``count`` sizes from ``lo`` to ``hi`` inclusive, evenly spaced on a log scale."""
    if lo <= 0 or hi < lo or count < 1:
        raise ValueError(
            f"bad size range {lo}..{hi} x {count} (expected 0 < from <= to, count >= 1)"
        )
    if count == 1 or lo == hi:
        return [lo]
    step = (hi / lo) ** (1 / (count - 1))
    return sorted({round(lo * step**i) for i in range(count - 1)} | {hi})


def working_set(path: Path) -> tuple[int, int]:
    """(bytes of distinct objects, largest object size) of the trace at ``path``."""
    seen: dict[object, int] = {}
    largest = 0
    for obj_id, size in iter_requests(path):
        seen.setdefault(obj_id, size)
        largest = max(largest, size)
    return sum(seen.values()), largest


def default_sizes(path: Path, points: int = DEFAULT_POINTS) -> tuple[int, ...]:
    """Log-spaced sizes from 1/1000 of the working set (at least 1 KiB) to the working set."""
    total = max(working_set(path)[0], 1024)
    return tuple(log_sizes(max(1024, total // 1000), total, points))


def write_workload_trace(
    topology: Topology, requests: int, path: Path, seed: int | None = None
) -> Path:
    """Write the first ``requests`` requests of ``topology``'s workload as a CSV trace."""
    stream = RequestStream(topology.workload, seed=seed, duration=math.inf, limit=requests)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("timestamp", "object_id", "size_bytes"))
        for batch in stream.batches():
            writer.writerows(
                zip(
                    [f"{t:.6f}" for t in batch.times.tolist()],
                    batch.obj_ids.tolist(),
                    batch.sizes.tolist(),
                    strict=True,
                )
            )
    return path


def curve(
    path: Path,
    sizes: Sequence[int],
    policy: str = "lru",
    *,
    sampling_rate: float = 1.0,
    check: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> CurveResult:
    """The hit-ratio curve of ``policy`` over ``sizes`` for the trace at ``path``."""
    sizes = tuple(sorted(set(sizes)))
    if policy in ONE_PASS_POLICIES:
        hits, byte_hits, requests, passes = _lru_curve(path, sizes, sampling_rate)
        checked = None
        if check:
            checked = []
            for size in sizes:
                checked.append(replay(path, size, "lru").hit_ratio)
                if on_step is not None:
                    on_step(1)
        return CurveResult(
            policy=policy,
            method="one-pass",
            sizes=sizes,
            hit_ratio=hits,
            byte_hit_ratio=byte_hits,
            requests=requests,
            sampling_rate=sampling_rate,
            checked=None if checked is None else tuple(checked),
            passes=passes,
        )
    hits, byte_hits, requests = [], [], 0
    for size in sizes:
        run = replay(path, size, policy)
        hits.append(run.hit_ratio)
        byte_hits.append(run.byte_hit_ratio)
        requests = run.requests
        if on_step is not None:
            on_step(1)
    return CurveResult(
        policy=policy,
        method="fast-path",
        sizes=sizes,
        hit_ratio=tuple(hits),
        byte_hit_ratio=tuple(byte_hits),
        requests=requests,
        sampling_rate=1.0,
        passes=len(sizes),
    )


def _lru_curve(
    path: Path, sizes: tuple[int, ...], sampling_rate: float
) -> tuple[tuple[float, ...], tuple[float, ...], int, int]:
    """(hit ratios, byte hit ratios, requests, passes) of LRU at ``sizes`` (sorted)."""
    _, largest = working_set(path)
    result = lru_miss_ratio_curve(lambda: iter_requests(path), sizes, sampling_rate=sampling_rate)
    by_size = dict(
        zip(
            result.capacities,
            zip(result.hit_ratio, result.byte_hit_ratio, strict=True),
            strict=True,
        )
    )
    return (
        tuple(by_size[c][0] for c in sizes),
        tuple(by_size[c][1] for c in sizes),
        result.requests,
        1 + sum(1 for c in set(sizes) if c < largest),
    )
