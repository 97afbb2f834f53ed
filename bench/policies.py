"""Replay speed and memory of every eviction policy through the store, against bare cachetools.

Reads ../shared/traces/cloudPhysicsIO.oracleGeneral.bin (or $CDNLAB_SHARED_TRACES) and, for each
policy in cdn.cache.POLICIES, prints requests/s through ``Store.request`` (the simulator's fast
path) and through the entry path (lookup + record_hit/record_miss + put of a frozen entry), next to
a bare ``cachetools.LRUCache`` replay loop timed in the same run (the ratio is the figure), and the
memory the store holds per cached object (tracemalloc; the trace's own key/size objects excluded).

    .venv/bin/python bench/policies.py [--capacity BYTES] [--repeat N] [--profile POLICY] [--json PATH]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import json
import os
import pstats
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cachetools
from rich.console import Console
from rich.table import Table

from cdn.cache import POLICIES, Store
from cdn.trace import iter_requests_with_future

TRACE_NAME = "cloudPhysicsIO.oracleGeneral.bin"
Trace = list[tuple[Any, int, int | None]]


@dataclasses.dataclass(frozen=True, slots=True)
class BenchEntry:
    """A body-less entry with what the store relies on (stands in for cdn.http's Entry)."""

    key: str
    size: int
    variant: tuple[Any, ...] = ()
    surrogate_keys: frozenset[str] = frozenset()
    invalidated: bool = False


def trace_path() -> Path:
    folder = os.environ.get("CDNLAB_SHARED_TRACES")
    base = (
        Path(folder) if folder else Path(__file__).resolve().parents[1].parent / "shared" / "traces"
    )
    return base / TRACE_NAME


def bare_lru(trace: Trace, capacity: int) -> int:
    """The yardstick: a cachetools.LRUCache replay loop with byte sizes, inline. Returns misses."""
    cache = cachetools.LRUCache(capacity, getsizeof=int)
    misses = 0
    for obj_id, size, _ in trace:
        if obj_id in cache:
            cache[obj_id]
        else:
            misses += 1
            if size <= capacity:
                cache[obj_id] = size
    return misses


def fast_path(trace: Trace, capacity: int, policy: str) -> Store:
    """Replay through Store.request (with next-access hints only for belady)."""
    store = Store(capacity, policy)
    request = store.request
    if policy == "belady":
        for obj_id, size, next_access in trace:
            request(obj_id, size, next_access)
    else:
        for obj_id, size, _ in trace:
            request(obj_id, size)
    return store


def entry_path(trace: Trace, capacity: int, policy: str) -> Store:
    """Replay as the edge would: lookup, then record_hit or record_miss + put of an entry."""
    store = Store(capacity, policy)
    lookup, hit, miss, put = store.lookup, store.record_hit, store.record_miss, store.put
    for obj_id, size, next_access in trace:
        key = str(obj_id)
        entries = lookup(key)
        if entries:
            hit(entries[0], next_access)
        else:
            miss(size)
            put(BenchEntry(key, size), next_access)
    return store


def best_rate(run: Callable[[], object], requests: int, repeat: int) -> float:
    """Requests per second of the fastest of ``repeat`` runs (GC paused while timing)."""
    return best_rates([run], requests, repeat)[0]


def best_rates(runs: list[Callable[[], object]], requests: int, repeat: int) -> list[float]:
    """Best requests/s of each run, timed interleaved so a busy machine slows them alike."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for index, run in enumerate(runs):
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            run()
            best[index] = min(best[index], time.perf_counter() - start)
            gc.enable()
    return [requests / seconds for seconds in best]


def bytes_per_object(build: Callable[[], Any], count: Callable[[Any], int]) -> float:
    """Memory allocated by ``build()`` and still held, per cached object."""
    gc.collect()
    tracemalloc.start()
    held = build()
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    objects = count(held)
    return current / objects if objects else 0.0


def bare_cache(trace: Trace, capacity: int) -> cachetools.LRUCache:
    cache = cachetools.LRUCache(capacity, getsizeof=int)
    for obj_id, size, _ in trace:
        if obj_id in cache:
            cache[obj_id]
        elif size <= capacity:
            cache[obj_id] = size
    return cache


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=20_297_697, help="cache bytes")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure (best kept)")
    parser.add_argument("--profile", choices=sorted(POLICIES), help="cProfile one fast-path replay")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    console = Console()

    path = trace_path()
    if not path.is_file():
        console.print(
            f"[red]trace not found:[/] {path}\nThe benchmark reads libCacheSim's cloudPhysicsIO "
            "trace from ../shared/traces (or $CDNLAB_SHARED_TRACES)."
        )
        return 2
    start = time.perf_counter()
    trace: Trace = list(iter_requests_with_future(path))
    read_rate = len(trace) / (time.perf_counter() - start)
    requests, capacity = len(trace), args.capacity

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(fast_path, trace, capacity, args.profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
        profiler = cProfile.Profile()
        profiler.runcall(entry_path, trace, capacity, args.profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
        return 0

    # The entry object and its key string are the cached data itself, not store overhead.
    sample = str(trace[len(trace) // 2][0])
    payload = sys.getsizeof(BenchEntry(sample, 512)) + sys.getsizeof(sample)
    bare_misses = bare_lru(trace, capacity)
    bare_rate = best_rate(lambda: bare_lru(trace, capacity), requests, args.repeat)
    bare_memory = bytes_per_object(lambda: bare_cache(trace, capacity), len)

    rows = []
    for policy in POLICIES:
        store = fast_path(trace, capacity, policy)
        stats = store.stats()
        bare, fast = best_rates(
            [lambda: bare_lru(trace, capacity), lambda p=policy: fast_path(trace, capacity, p)],
            requests,
            args.repeat,
        )
        bare_rate = max(bare_rate, bare)
        full = best_rate(lambda p=policy: entry_path(trace, capacity, p), requests, args.repeat)
        memory = bytes_per_object(lambda p=policy: fast_path(trace, capacity, p), len)
        entry_memory = bytes_per_object(lambda p=policy: entry_path(trace, capacity, p), len)
        rows.append(
            {
                "policy": policy,
                "misses": stats.misses,
                "miss_ratio": stats.misses / requests,
                "fast_path_requests_per_s": fast,
                "entry_path_requests_per_s": full,
                "bare_lru_requests_per_s": bare,
                "ratio_to_bare": fast / bare,
                "bytes_per_object_fast_path": memory,
                "bytes_per_object_entry_path": entry_memory,
                "store_overhead_per_entry": entry_memory - payload,
                "objects": stats.objects,
            }
        )

    table = Table(
        title=f"{path.name}: {requests:,} requests, capacity {capacity:,} B "
        f"(bare cachetools.LRUCache: best {bare_rate:,.0f} req/s, {bare_memory:.0f} B/object, "
        f"{bare_misses:,} misses)"
    )
    for header in (
        "policy",
        "misses",
        "fast path req/s",
        "bare LRU req/s",
        "x bare LRU",
        "entry path req/s",
        "B/object fast",
        "B/object entry",
        "entry overhead",
    ):
        table.add_column(header, justify="left" if header == "policy" else "right")
    for row in rows:
        table.add_row(
            row["policy"],
            f"{row['misses']:,}",
            f"{row['fast_path_requests_per_s']:,.0f}",
            f"{row['bare_lru_requests_per_s']:,.0f}",
            f"{row['ratio_to_bare']:.2f}",
            f"{row['entry_path_requests_per_s']:,.0f}",
            f"{row['bytes_per_object_fast_path']:.0f}",
            f"{row['bytes_per_object_entry_path']:.0f}",
            f"{row['store_overhead_per_entry']:.0f}",
        )
    console.print(table)
    console.print(
        f"B/object: memory the replay leaves allocated per cached object (tracemalloc); entry "
        f"overhead = entry path minus the entry and its key string ({payload} B), i.e. the store's "
        "own bookkeeping per entry."
    )
    console.print(
        f"trace reader (iter_requests_with_future): {read_rate:,.0f} records/s; "
        f"Python {sys.version.split()[0]}, cachetools {cachetools.__version__}"
    )
    if args.json:
        report = {
            "trace": str(path),
            "requests": requests,
            "capacity": capacity,
            "bare_lru": {
                "requests_per_s": bare_rate,
                "bytes_per_object": bare_memory,
                "misses": bare_misses,
            },
            "reader_records_per_s": read_rate,
            "policies": rows,
        }
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
