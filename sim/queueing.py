"""Server queues computed by the Lindley recursion instead of an event per request.

Rules: a node is ``workers`` identical FCFS servers sharing a service rate of ``capacity_rps``
requests per second (each server ``capacity_rps / workers``), with exponential service times drawn
from the rng it is handed. For arrivals offered in time order this is exactly the waiting time a
``simpy.Resource(capacity=workers)`` would give; arrivals offered slightly out of order (upstream
tiers see requests after different propagation delays) are served in offer order, an error of at
most the spread of those delays. Offered requests are counted per time bucket (buckets are added
when arrivals go past the last one) for utilization: offered load over capacity, see
``utilization``.
"""

from __future__ import annotations

import heapq
import random

import numpy as np

from sim.stats import span_lengths, windowed_peak

_BLOCK = 4096
UTILIZATION_WINDOW = 10.0  # seconds: the window peak utilization is averaged over


class ServerQueue:
    """A multi-server FCFS queue: ``serve(arrival)`` returns (wait, service) in seconds."""

    __slots__ = (
        "_draws",
        "_free",
        "_next_free",
        "_rng",
        "bucket_width",
        "capacity_rps",
        "last_arrival",
        "mean_service",
        "offered",
        "served",
        "workers",
    )

    def __init__(
        self,
        capacity_rps: float,
        workers: int,
        rng: random.Random,
        bucket_width: float = 1.0,
        buckets: int = 1,
    ) -> None:
        if capacity_rps <= 0:
            raise ValueError(f"capacity {capacity_rps} req/s is not positive")
        if workers < 1:
            raise ValueError(f"workers {workers} < 1")
        self.capacity_rps = capacity_rps
        self.workers = workers
        self.mean_service = workers / capacity_rps
        # Service times come from numpy in blocks (a list pop per request, not a Python draw).
        self._rng = np.random.default_rng(rng.getrandbits(64))
        self._draws: list[float] = []
        self._free = [0.0] * workers  # a heap of the times each server becomes free
        self._next_free = 0.0  # the one server's free time (workers == 1: no heap needed)
        self.bucket_width = bucket_width
        self.offered = [0] * buckets  # arrivals per time bucket
        self.last_arrival = 0.0
        self.served = 0

    def serve(self, arrival: float) -> tuple[float, float]:
        """Queue a request arriving at ``arrival``: its waiting time and its service time."""
        draws = self._draws
        if not draws:
            draws.extend(self._rng.exponential(self.mean_service, _BLOCK).tolist())
        service = draws.pop()
        if self.workers == 1:
            start = self._next_free
            if start < arrival:
                start = arrival
            self._next_free = start + service
        else:
            free = self._free
            start = free[0]
            if start < arrival:
                start = arrival
            heapq.heapreplace(free, start + service)
        self.served += 1
        index = int(arrival / self.bucket_width)
        offered = self.offered
        if index >= len(offered):
            offered.extend([0] * (index + 1 - len(offered)))
        offered[index] += 1
        if arrival > self.last_arrival:
            self.last_arrival = arrival
        return start - arrival, service

    def backlog(self, now: float) -> float:
        """Seconds of queued work ahead of a request arriving at ``now`` (0 when a server is idle)."""
        wait = (self._next_free if self.workers == 1 else self._free[0]) - now
        return wait if wait > 0.0 else 0.0

    def utilization(self, end: float, window: float = UTILIZATION_WINDOW) -> tuple[float, float]:
        """(mean, peak) offered load over capacity for a run ending at ``end`` (seconds).

        Offered load is arrivals per second over ``capacity_rps`` (1.0: arrivals as fast as the
        servers can serve on average). Mean: over the whole run. Peak: the busiest sliding window
        of ``window`` seconds (at least one bucket), each bucket counted for its real length
        (the last one is partial).
        """
        end = max(end, self.last_arrival)
        if end <= 0 or not self.served:
            return 0.0, 0.0
        width = self.bucket_width
        lengths = span_lengths(width, len(self.offered), end)
        counts = np.asarray(self.offered, dtype=np.float64)
        per_window = max(1, round(window / width))
        peak = windowed_peak(counts, lengths, per_window) / self.capacity_rps
        return self.served / end / self.capacity_rps, peak
