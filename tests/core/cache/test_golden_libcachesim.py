"""Policy exactness against libCacheSim, and small self-generated traces that always run.

Golden: ../shared/traces/cloudPhysicsIO.oracleGeneral.bin (a real CloudPhysics block trace) replayed
through the store must reproduce the miss counts and missed bytes in ../shared/traces/README.md.
The trace is read in place (never copied into the repository); set CDNLAB_SHARED_TRACES to another
folder holding it, or these tests skip saying where they looked.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest

from cdn.cache import POLICIES, Store
from cdn.trace import ORACLE_GENERAL, iter_requests, iter_requests_with_future

REPO = Path(__file__).resolve().parents[3]
TRACE_NAME = "cloudPhysicsIO.oracleGeneral.bin"
SIZES = (2_029_769, 20_297_697, 202_976_972)
REQUESTS = 113_872
REQUESTED_BYTES = 4_368_040_448

# ../shared/traces/README.md, "Reference results from libCacheSim on cloudPhysicsIO".
REFERENCE = {
    ("lru", 2_029_769): (96_932, 4_296_723_968),
    ("lru", 20_297_697): (94_956, 4_280_799_744),
    ("lru", 202_976_972): (92_200, 4_157_572_608),
    ("fifo", 2_029_769): (98_168, 4_302_205_952),
    ("fifo", 20_297_697): (95_293, 4_282_329_600),
    ("fifo", 202_976_972): (91_954, 4_153_497_088),
    ("sieve", 2_029_769): (95_634, 4_289_436_160),
    ("sieve", 20_297_697): (93_724, 4_270_392_832),
    ("sieve", 202_976_972): (89_993, 4_060_649_472),
    ("s3fifo", 2_029_769): (95_279, 4_289_585_152),
    ("s3fifo", 20_297_697): (93_706, 4_265_741_824),
    ("s3fifo", 202_976_972): (83_764, 3_764_903_936),
}
BELADY_REFERENCE = (202_976_972, 74_162, 3_197_508_096)


def shared_traces() -> Path:
    configured = os.environ.get("CDNLAB_SHARED_TRACES")
    return Path(configured) if configured else REPO.parent / "shared" / "traces"


@pytest.fixture(scope="module")
def cloud_physics() -> list[tuple[Any, int, int | None]]:
    path = shared_traces() / TRACE_NAME
    if not path.is_file():
        pytest.skip(
            f"golden trace {path} is absent (it lives outside the repo in ../shared/traces; "
            "set CDNLAB_SHARED_TRACES to a folder holding it)"
        )
    return list(iter_requests_with_future(path))


def replay(trace: list[tuple[Any, int, int | None]], policy: str, capacity: int) -> Store:
    store = Store(capacity, policy)
    request = store.request
    if policy == "belady":
        for obj_id, size, next_access in trace:
            request(obj_id, size, next_access)
    else:
        for obj_id, size, _ in trace:
            request(obj_id, size)
    return store


@pytest.mark.golden
@pytest.mark.parametrize(("policy", "capacity"), sorted(REFERENCE))
def test_miss_counts_match_libcachesim(cloud_physics, policy: str, capacity: int) -> None:
    stats = replay(cloud_physics, policy, capacity).stats()
    misses, missed_bytes = REFERENCE[policy, capacity]
    assert stats.requests == REQUESTS
    assert stats.bytes_hit + stats.bytes_missed == REQUESTED_BYTES
    if policy == "s3fifo":  # the issue asks for 1% absolute; we reproduce it exactly
        assert abs(stats.misses - misses) / REQUESTS <= 0.01
    assert (stats.misses, stats.bytes_missed) == (misses, missed_bytes)
    assert stats.bytes_stored <= capacity


@pytest.mark.golden
def test_belady_is_an_upper_bound_on_every_policy(cloud_physics) -> None:
    capacity = SIZES[-1]
    belady = replay(cloud_physics, "belady", capacity).stats()
    for policy in sorted(set(POLICIES) - {"belady"}):
        other = replay(cloud_physics, policy, capacity).stats()
        assert belady.misses <= other.misses, policy
    assert (capacity, belady.misses, belady.bytes_missed) == BELADY_REFERENCE


@dataclasses.dataclass(frozen=True)
class Obj:
    key: str
    size: int
    variant: tuple[Any, ...] = ()
    surrogate_keys: frozenset[str] = frozenset()
    invalidated: bool = False


@pytest.mark.golden
@pytest.mark.parametrize("policy", ["lru", "sieve"])
def test_the_entry_path_makes_the_same_decisions_as_the_fast_path(cloud_physics, policy) -> None:
    capacity = SIZES[0]
    store = Store(capacity, policy)
    for obj_id, size, _ in cloud_physics:
        entries = store.lookup(str(obj_id))
        if entries:
            store.record_hit(entries[0])
        else:
            store.record_miss(size)
            store.put(Obj(str(obj_id), size))
    assert store.stats().misses == REFERENCE[policy, capacity][0]


# -- self-generated traces: always run ---------------------------------------------------------


class ReferenceLRU:
    """Straightforward list models of the reference semantics, to check the fast structures."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.items = capacity, []  # head first: [key, size, visited]

    def used(self) -> int:
        return sum(size for _, size, _ in self.items)

    def find(self, key: Hashable) -> list | None:
        return next((item for item in self.items if item[0] == key), None)

    def hit(self, item: list) -> None:
        self.items.remove(item)
        self.items.insert(0, item)

    def victim(self) -> list:
        return self.items[-1]

    def request(self, key: Hashable, size: int) -> bool:
        item = self.find(key)
        if item is not None:
            self.hit(item)
            return True
        if size > self.capacity:
            return False
        while self.used() + size > self.capacity:
            self.items.remove(self.victim())
        self.items.insert(0, [key, size, False])
        return False


class ReferenceFIFO(ReferenceLRU):
    def hit(self, item: list) -> None:
        pass


class ReferenceSieve(ReferenceLRU):
    hand: int | None = None  # index into items (head = 0)

    def hit(self, item: list) -> None:
        item[2] = True

    def victim(self) -> list:
        index = len(self.items) - 1 if self.hand is None else self.hand
        while self.items[index][2]:
            self.items[index][2] = False
            index = index - 1 if index > 0 else len(self.items) - 1
        self.hand = index - 1 if index > 0 else None
        return self.items[index]

    def request(self, key: Hashable, size: int) -> bool:
        hit = super().request(key, size)
        if not hit and self.hand is not None and size <= self.capacity:
            self.hand += 1  # the new head shifted every index by one
        return hit


def synthetic_trace(seed: int, requests: int = 3000, objects: int = 400) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    sizes = {obj: rng.choice((1, 2, 4, 8, 16, 32)) * 512 for obj in range(objects)}
    weights = [1 / (rank + 1) ** 0.9 for rank in range(objects)]
    keys = rng.choices(range(objects), weights=weights, k=requests)
    return [(key, sizes[key]) for key in keys]


@pytest.mark.parametrize(
    ("policy", "model"), [("lru", ReferenceLRU), ("fifo", ReferenceFIFO), ("sieve", ReferenceSieve)]
)
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("capacity", [4096, 40_000, 400_000])
def test_policies_match_reference_models_on_generated_traces(policy, model, seed, capacity) -> None:
    trace = synthetic_trace(seed)
    store, reference = Store(capacity, policy), model(capacity)
    for step, (key, size) in enumerate(trace):
        assert store.request(key, size) == reference.request(key, size), f"request {step}"


def test_a_generated_trace_replays_the_same_from_csv_and_binary(tmp_path: Path) -> None:
    trace = synthetic_trace(5)
    binary, text = tmp_path / "gen.oracleGeneral.bin", tmp_path / "gen.csv"
    with binary.open("wb") as out:
        for time, (key, size) in enumerate(trace):
            out.write(ORACLE_GENERAL.pack(time, key, size, -1))
    lines = ["timestamp,object_id,size_bytes"]
    lines += [f"{time},{key},{size}" for time, (key, size) in enumerate(trace)]
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = []
    for path in (binary, text):
        store = Store(50_000, "sieve")
        for key, size in iter_requests(path):
            store.request(key, size)
        results.append(store.stats())
    assert results[0] == results[1]
    assert results[0].requests == len(trace)


def test_belady_beats_every_policy_on_a_generated_trace() -> None:
    from cdn.cache import next_access_indices

    trace = synthetic_trace(8, requests=4000)
    future = next_access_indices([key for key, _ in trace])
    misses = {}
    for policy in sorted(POLICIES):
        store = Store(60_000, policy)
        for (key, size), next_access in zip(trace, future, strict=True):
            store.request(key, size, next_access)
        misses[policy] = store.stats().misses
    assert misses["belady"] == min(misses.values()), misses
