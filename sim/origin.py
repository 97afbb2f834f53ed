"""The simulated origin: a server queue plus a fixed service time, and its load counters.

Rules: arithmetic only (no events); counts every request reaching it (304 revalidations too)
and the body bytes it sends, overall, per time bucket and from the steady-state start on.
"""

from __future__ import annotations

import math

from cdn.topology import Node
from sim.queueing import ServerQueue
from sim.stats import TimeSeries


class OriginSim:
    """The origin: a queue of ``capacity_rps`` plus a fixed service time per request."""

    __slots__ = (
        "bytes",
        "node",
        "queue",
        "requests",
        "series",
        "service_time",
        "steady_bytes",
        "steady_from",
        "steady_requests",
    )

    def __init__(self, node: Node, queue: ServerQueue, service_time: float, series: TimeSeries):
        self.node = node
        self.queue = queue
        self.service_time = service_time
        self.requests = 0
        self.bytes = 0
        self.series = series
        self.steady_from = math.inf  # requests arriving from then on count as steady state
        self.steady_requests = self.steady_bytes = 0

    def fetch(self, t: float, size: int, conditional: bool) -> float:
        """Serve a request arriving at ``t``; the time its response leaves the origin."""
        queue = self.queue  # queue.serve(t), inlined: (wait, service) from its finish step
        queue.finish(t)
        wait = queue.last_start - t
        service = queue.last_service
        self.requests += 1
        series = self.series
        index = int(t / series.bucket_width)  # series.index(t), inlined
        if index >= series.buckets:
            series.grow(index + 1)
        counts = series.series
        counts["origin_requests"][index] += 1
        steady = t >= self.steady_from
        if steady:
            self.steady_requests += 1
        if not conditional:
            self.bytes += size
            counts["origin_bytes"][index] += size
            if steady:
                self.steady_bytes += size
        return t + wait + service + self.service_time
