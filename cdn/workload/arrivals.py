"""The request stream: when each request arrives, from which user, for which object, of what size.

Rules: pure and deterministic: the same workload (and seed) gives the same stream in every
process, on every machine with the same numpy. No clock: times are seconds from the stream's
time zero, which is ``utc_hour_at_zero`` o'clock UTC (midnight by default).

How the stream is made (vectorised, chunk by chunk):
- Candidates arrive at the peak rate ``rate * (1 + daily_cycle)``: a Poisson process
  (``arrival="poisson"``: a Poisson count per chunk, uniform times, sorted) or evenly spaced
  (``arrival="constant"``, for open-loop load generation).
- Each candidate picks a user location by share and is kept with probability
  ``(1 + A cos(2 pi (local_hour - 20) / 24)) / (1 + A)`` (thinning), so each user's rate is
  ``rate * share * (1 + A cos(...))``: peak at 20:00 local time, and the day-average total rate is
  ``workload.rate``. With A = 0 nothing is thinned.
- Each request draws a Zipf rank, mapped to an id by Popularity (seeded permutation, drift, and
  the user's continent for regional popularity).
- Flash crowd k: from ``at`` for ``duration`` seconds a request goes, with probability ``share``,
  to one of the crowd's ``objects`` hot ids instead (uniformly); the total rate is unchanged.
- Sizes come from Catalog.size_of (a function of seed and id only).
Chunk c covers times [c*W, (c+1)*W) with W = CHUNK_CANDIDATES / peak rate and has its own
Generator seeded by (seed, c); a chunk draws the same numbers whatever part of it is used, so
``start``, ``duration``, ``limit`` and sharding only select requests from one fixed stream.

Sharding: ``shard(index, count)`` keeps the requests whose (position in its chunk + chunk number)
mod ``count`` equals ``index``. Processes with the same workload and seed and the same ``count``
split one stream disjointly, and the union of all shards is the whole stream.

Speed: ``batches()`` yields numpy arrays (1-4 million requests/s); iterating the stream yields
WorkloadRequest tuples (about 0.75M/s), for code that handles one request at a time anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from cdn.topology import Workload
from cdn.workload.catalog import Catalog
from cdn.workload.popularity import Popularity
from cdn.workload.users import UserModel

ARRIVALS = ("poisson", "constant")
CHUNK_CANDIDATES = 1 << 16
ARRIVAL_STREAM = 0x41525256  # "ARRV": separates arrival draws from other seeded streams
PEAK_LOCAL_HOUR = 20.0


class WorkloadRequest(NamedTuple):
    """One request: arrival time (s), object id, object size (bytes), user location index."""

    time: float
    obj_id: int
    size: int
    user: int


@dataclass(frozen=True, slots=True)
class RequestBatch:
    """Consecutive requests of a stream as parallel numpy arrays (time order)."""

    times: np.ndarray  # float64 seconds
    obj_ids: np.ndarray  # int64
    sizes: np.ndarray  # int64 bytes
    users: np.ndarray  # int64 indexes into UserModel.locations

    def __len__(self) -> int:
        return len(self.times)

    def __iter__(self) -> Iterator[WorkloadRequest]:
        return map(
            WorkloadRequest._make,
            zip(
                self.times.tolist(),
                self.obj_ids.tolist(),
                self.sizes.tolist(),
                self.users.tolist(),
                strict=True,
            ),
        )


@dataclass(frozen=True, slots=True)
class _Settings:
    seed: int
    arrival: str
    start: float
    end: float
    limit: int | None
    shard_index: int
    shard_count: int
    utc_hour_at_zero: float


class RequestStream:
    """The deterministic request stream of ``workload``; iterate it, or call ``batches()``.

    ``seed`` (default ``workload.seed``) seeds the arrivals; the catalog sizes and the popularity
    permutation always follow ``workload.seed`` so every process agrees on objects. ``start`` and
    ``duration`` (default ``workload.duration``; ``math.inf`` for no end) select the time window
    [start, start + duration) of the same stream; ``limit`` caps the number of requests.
    """

    def __init__(
        self,
        workload: Workload,
        *,
        users: UserModel | None = None,
        catalog: Catalog | None = None,
        popularity: Popularity | None = None,
        seed: int | None = None,
        arrival: str = "poisson",
        start: float = 0.0,
        duration: float | None = None,
        limit: int | None = None,
        utc_hour_at_zero: float = 0.0,
    ) -> None:
        if arrival not in ARRIVALS:
            raise ValueError(f"unknown arrival process {arrival!r} (expected poisson or constant)")
        if start < 0:
            raise ValueError(f"start {start} < 0 (expected seconds >= 0)")
        duration = workload.duration if duration is None else duration
        if duration < 0:
            raise ValueError(f"duration {duration} < 0 (expected seconds >= 0)")
        if limit is not None and limit < 0:
            raise ValueError(f"limit {limit} < 0 (expected a request count >= 0)")
        if workload.rate <= 0:
            raise ValueError(f"rate {workload.rate} <= 0 (expected requests per second > 0)")
        self.workload = workload
        self.users = users if users is not None else UserModel(workload.users)
        self.catalog = catalog if catalog is not None else Catalog(workload)
        self.popularity = popularity if popularity is not None else Popularity(workload)
        self._settings = _Settings(
            seed=workload.seed if seed is None else seed,
            arrival=arrival,
            start=float(start),
            end=float(start) + float(duration),
            limit=limit,
            shard_index=0,
            shard_count=1,
            utc_hour_at_zero=float(utc_hour_at_zero),
        )
        self.amplitude = workload.daily_cycle
        self.peak_rate = workload.rate * (1.0 + self.amplitude)
        self.chunk_seconds = CHUNK_CANDIDATES / self.peak_rate

    def _derived(self, **changes: object) -> RequestStream:
        other = object.__new__(RequestStream)
        for name in ("workload", "users", "catalog", "popularity", "amplitude", "peak_rate"):
            setattr(other, name, getattr(self, name))
        other.chunk_seconds = self.chunk_seconds
        other._settings = replace(self._settings, **changes)
        return other

    @property
    def seed(self) -> int:
        """The seed of the arrival draws."""
        return self._settings.seed

    @property
    def start(self) -> float:
        """Requests before this time are skipped."""
        return self._settings.start

    @property
    def end(self) -> float:
        """Requests at or after this time are not produced."""
        return self._settings.end

    def shard(self, index: int, count: int) -> RequestStream:
        """The part ``index`` of ``count`` disjoint parts of this stream (see module docstring)."""
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"shard {index} of {count} (expected 0 <= index < count, count >= 1)")
        if self._settings.shard_count != 1:
            raise ValueError("this stream is already a shard; shard the full stream instead")
        return self._derived(shard_index=index, shard_count=count)

    def window(self, start: float, duration: float) -> RequestStream:
        """The same stream restricted to times in [start, start + duration)."""
        return self._derived(start=float(start), end=float(start) + float(duration))

    def limited(self, limit: int | None) -> RequestStream:
        """The same stream stopping after ``limit`` requests (None: no cap)."""
        return self._derived(limit=limit)

    def cycle_factor(self, t: float | np.ndarray, user: int | np.ndarray) -> np.ndarray:
        """``1 + A cos(2 pi (local_hour - 20) / 24)`` for ``user`` at stream time ``t``."""
        local_hour = (
            self._settings.utc_hour_at_zero
            + np.asarray(t, dtype=np.float64) / 3600.0
            + self.users.utc_offsets[user]
        )
        return 1.0 + self.amplitude * np.cos(2.0 * np.pi * (local_hour - PEAK_LOCAL_HOUR) / 24.0)

    def rate_at(self, t: float) -> float:
        """The expected total request rate (requests/s) at stream time ``t``, before sharding."""
        factors = self.cycle_factor(t, np.arange(len(self.users)))
        return float(self.workload.rate * np.dot(self.users.shares, factors))

    def __iter__(self) -> Iterator[WorkloadRequest]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[RequestBatch]:
        """The stream as RequestBatch arrays, in time order (one per chunk, empty ones skipped)."""
        settings = self._settings
        left = settings.limit
        if left == 0 or settings.end <= settings.start:
            return
        chunk = int(settings.start // self.chunk_seconds)
        while chunk * self.chunk_seconds < settings.end:
            batch = self._chunk(chunk)
            chunk += 1
            if left is not None:
                if len(batch) >= left:
                    batch = _head(batch, left)
                    if len(batch):
                        yield batch
                    return
                left -= len(batch)
            if len(batch):
                yield batch

    def _chunk(self, chunk: int) -> RequestBatch:
        settings = self._settings
        rng = np.random.default_rng([settings.seed % (1 << 64), ARRIVAL_STREAM, chunk])
        begin = chunk * self.chunk_seconds
        if settings.arrival == "poisson":
            n = int(rng.poisson(CHUNK_CANDIDATES))
            times = rng.random(n)
            times.sort()
            times = begin + times * self.chunk_seconds
        else:
            n = CHUNK_CANDIDATES
            times = (chunk * CHUNK_CANDIDATES + np.arange(n, dtype=np.float64)) / self.peak_rate
        # Draw every per-candidate number up front, so what is used never changes what is drawn.
        users = self.users.indexes_for(rng.random(n))
        accept_u = rng.random(n) if self.amplitude > 0 else None
        rank_u = rng.random(n)
        workload = self.workload
        crowd_draws = []
        for crowd in workload.flash_crowds:
            if crowd.at < begin + self.chunk_seconds and begin < crowd.at + crowd.duration:
                crowd_draws.append((rng.random(n), rng.integers(0, crowd.objects, n)))
            else:
                crowd_draws.append(None)

        keep = np.ones(n, dtype=bool)
        if accept_u is not None:
            keep = accept_u * (1.0 + self.amplitude) < self.cycle_factor(times, users)
        kept = np.flatnonzero(keep)
        if settings.shard_count > 1:
            position = np.arange(len(kept)) + chunk
            kept = kept[position % settings.shard_count == settings.shard_index]
        kept_times = times[kept]
        in_window = (kept_times >= settings.start) & (kept_times < settings.end)
        if not in_window.all():
            kept = kept[in_window]
            kept_times = kept_times[in_window]

        kept_users = users[kept]
        regions = (
            self.users.continent_indexes[kept_users] if self.popularity.regional_slots else None
        )
        ids = self.popularity.ids_for(
            self.popularity.zipf.ranks_for(rank_u[kept]), kept_times, regions
        )
        popularity = self.popularity
        for index, (crowd, draws) in enumerate(
            zip(workload.flash_crowds, crowd_draws, strict=True)
        ):
            if draws is None:
                continue
            pick_u, which = draws
            hot = (
                (kept_times >= crowd.at)
                & (kept_times < crowd.at + crowd.duration)
                & (pick_u[kept] < crowd.share)
            )
            ids = np.where(hot, popularity.flash_base(index) + which[kept], ids)
        return RequestBatch(
            times=kept_times,
            obj_ids=ids,
            sizes=self.catalog.sizes(ids),
            users=kept_users,
        )


def _head(batch: RequestBatch, count: int) -> RequestBatch:
    return RequestBatch(
        batch.times[:count], batch.obj_ids[:count], batch.sizes[:count], batch.users[:count]
    )


def requests(
    workload: Workload,
    users: UserModel | None = None,
    seed: int | None = None,
    duration: float | None = None,
    limit: int | None = None,
    *,
    arrival: str = "poisson",
    start: float = 0.0,
) -> Iterator[WorkloadRequest]:
    """The requests of ``workload`` in time order (shorthand for iterating a RequestStream)."""
    return iter(
        RequestStream(
            workload,
            users=users,
            seed=seed,
            arrival=arrival,
            start=start,
            duration=duration,
            limit=limit,
        )
    )
