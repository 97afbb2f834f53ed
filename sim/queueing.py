"""Server queues computed by the Lindley recursion instead of an event per request.

Rules: a node is ``workers`` identical FCFS servers sharing a service rate of ``capacity_rps``
requests per second (each server ``capacity_rps / workers``), with exponential service times drawn
from the rng it is handed. For arrivals offered in time order this is exactly the waiting time a
``simpy.Resource(capacity=workers)`` would give. Arrivals are offered in the users' send order,
not in arrival order: a node hears a near user's request before a far user's sent earlier, and
an origin hears a near PoP's miss before a far PoP's. A single server (``workers = 1``, every
node unless the topology says otherwise) places an offer that arrives before the latest offered
arrival at the earliest idle time at or after its arrival where its service fits (first fit over
the busy periods of the last ``HORIZON`` seconds), so it does not wait behind a request still on
its way; for arrivals offered in time order this is exactly the Lindley step. Several servers
serve in offer order, an error of at most the spread of the delays. Offered requests are counted per time bucket (buckets are added
when arrivals go past the last one) for utilization: offered load over capacity, see
``utilization``; arrival times are appended per request and folded into those counts with numpy
by ``flush`` (once per batch; the counters' readers flush first). The nodes call ``finish``
(the end of service, one float), the origin ``serve`` (wait and service apart): one Lindley step.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_right

import numpy as np

from sim.stats import span_lengths, windowed_peak

_BLOCK = 4096
HORIZON = 2.0  # seconds: busy periods kept for out-of-order arrivals (longer than any delay)
_NEAR, _FAR = 16, 128  # busy periods searched first for a late arrival (finish)
_PRUNE_AT = 1024  # busy periods kept before the ones older than HORIZON are dropped
UTILIZATION_WINDOW = 10.0  # seconds: the window peak utilization is averaged over


class ServerQueue:
    """A multi-server FCFS queue: ``serve(arrival)`` returns (wait, service) in seconds."""

    __slots__ = (
        "_last_arrival",
        "_offered",
        "_rng",
        "_served",
        "arrivals",
        "bucket_width",
        "busy_ends",
        "busy_starts",
        "capacity_rps",
        "draws",
        "forgotten",
        "free",
        "last_service",
        "last_start",
        "latest",
        "mean_service",
        "next_free",
        "prune_at",
        "single",
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
        self.single = workers == 1
        self.mean_service = workers / capacity_rps
        # Service times come from numpy in blocks (a list pop per request, not a Python draw).
        self._rng = np.random.default_rng(rng.getrandbits(64))
        self.draws: list[float] = []
        self.free = [0.0] * workers  # a heap of the times each server becomes free
        self.next_free = 0.0  # the one server's free time (single: no heap needed)
        # Single server: its busy periods, sorted and disjoint (next_free ends the last one),
        # the latest arrival offered, and the end of the busy periods dropped (older than HORIZON).
        self.busy_starts: list[float] = []
        self.busy_ends: list[float] = []
        self.latest = 0.0
        self.forgotten = 0.0
        self.prune_at = _PRUNE_AT  # the busy-period count that triggers the next prune
        self.bucket_width = bucket_width
        # Arrival times offered since the last ``flush``, folded into the per-bucket counts
        # with numpy (an append per request instead of bucket arithmetic).
        self.arrivals: list[float] = []
        self._offered = [0] * buckets  # arrivals per time bucket
        self._last_arrival = 0.0
        self._served = 0
        self.last_start = self.last_service = 0.0

    def refill(self) -> None:
        """Draw the next block of service times (``draws`` is popped from the end)."""
        self.draws.extend(self._rng.exponential(self.mean_service, _BLOCK).tolist())

    def finish(self, arrival: float) -> float:
        """Queue a request arriving at ``arrival``: when its service ends (the Lindley step).

        Draw a service time, start when a server is free (not before the arrival), record the
        arrival. ``last_start`` and ``last_service`` keep the parts for ``serve``.
        """
        draws = self.draws
        if not draws:
            self.refill()
        service = draws.pop()
        if self.single:
            if arrival >= self.latest:  # offered in arrival order: the Lindley step
                self.latest = arrival
                start = self.next_free
                if start < arrival or not self.busy_ends:  # idle: a new busy period
                    if start < arrival:
                        start = arrival
                    self.busy_starts.append(start)
                    self.busy_ends.append(start + service)
                    if len(self.busy_ends) > self.prune_at:
                        self._prune()
                else:
                    self.busy_ends[-1] = start + service
                end = self.next_free = start + service
            else:  # arrives before requests offered earlier: the first idle time that fits
                starts, ends = self.busy_starts, self.busy_ends
                # bisect_right(ends, arrival), which is < len(ends) (the last period ends after
                # it): a late arrival is nearly always among the last periods, so search those
                # first (fewer compares, on floats still in the CPU cache; the same index).
                n = len(ends)
                if n > _NEAR and ends[n - _NEAR] <= arrival:
                    i = bisect_right(ends, arrival, n - _NEAR)
                elif n > _FAR and ends[n - _FAR] <= arrival:
                    i = bisect_right(ends, arrival, n - _FAR, n - _NEAR)
                else:
                    i = bisect_right(ends, arrival)
                end = arrival + service
                if (
                    end < starts[i]
                    and arrival > self.forgotten
                    and (i == 0 or ends[i - 1] < arrival)
                ):
                    starts.insert(i, arrival)  # the common case: an idle gap holds it whole
                    ends.insert(i, end)
                    start = arrival
                else:
                    start = self._fit(arrival, service)
                    end = start + service
        else:
            free = self.free
            start = free[0]
            if start < arrival:
                start = arrival
            end = start + service
            heapq.heapreplace(free, end)
        self.arrivals.append(arrival)
        self.last_start = start
        self.last_service = service
        return end

    def _fit(self, arrival: float, service: float) -> float:
        """Place a service of ``service`` s arriving at ``arrival`` (before the latest offered
        arrival) at the first idle time at or after it that is long enough; its start."""
        starts, ends = self.busy_starts, self.busy_ends
        x = arrival if arrival > self.forgotten else self.forgotten
        i = bisect_right(ends, x)
        n = len(starts)
        while i < n and x + service > starts[i]:
            x = ends[i]
            i += 1
        end = x + service
        if i > 0 and ends[i - 1] == x:  # right after a busy period: it goes on
            ends[i - 1] = end
            if i < n and starts[i] == end:  # and now touches the next one: one period
                ends[i - 1] = ends[i]
                del starts[i], ends[i]
        elif i < n and starts[i] == end:  # right before a busy period: it starts earlier
            starts[i] = x
        else:
            starts.insert(i, x)
            ends.insert(i, end)
        if end > self.next_free:
            self.next_free = end
        return x

    def _prune(self) -> None:
        """Drop the busy periods that ended HORIZON seconds before the latest arrival."""
        ends = self.busy_ends
        k = bisect_right(ends, self.latest - HORIZON)
        k = min(k, len(ends) - 1)  # the last period stays (next_free ends it)
        if k > 0:
            self.forgotten = max(self.forgotten, ends[k - 1])
            del self.busy_starts[:k], ends[:k]
        # Next time when twice as many remain (at least _PRUNE_AT): a prune per append is costly.
        self.prune_at = max(_PRUNE_AT, 2 * len(ends))

    def serve(self, arrival: float) -> tuple[float, float]:
        """Queue a request arriving at ``arrival``: its waiting time and its service time."""
        self.finish(arrival)
        return self.last_start - arrival, self.last_service

    def flush(self) -> None:
        """Fold the arrivals offered since the last flush into the counters (call per batch)."""
        arrivals = self.arrivals
        if not arrivals:
            return
        times = np.array(arrivals, dtype=np.float64)
        self.arrivals = []
        self._served += len(times)
        last = float(times.max())
        if last > self._last_arrival:
            self._last_arrival = last
        index = (times / self.bucket_width).astype(np.int64)  # as int(arrival / width): >= 0
        counts = np.bincount(index)
        offered = self._offered
        if len(counts) > len(offered):
            offered.extend([0] * (len(counts) - len(offered)))
        for j in np.flatnonzero(counts).tolist():
            offered[j] += int(counts[j])

    @property
    def offered(self) -> list[int]:
        """Arrivals per time bucket (buckets are added as arrivals go past the last one)."""
        self.flush()
        return self._offered

    @property
    def served(self) -> int:
        """Requests offered so far."""
        self.flush()
        return self._served

    @property
    def last_arrival(self) -> float:
        """The latest arrival time offered so far (0.0 before any)."""
        self.flush()
        return self._last_arrival

    def backlog(self, now: float) -> float:
        """Seconds of queued work ahead of a request arriving at ``now`` (0 when a server is idle)."""
        wait = (self.next_free if self.single else self.free[0]) - now
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
