"""Counting and logging each answered request: the metrics tally and the access log line.

Rules: the tally is plain numbers (``EdgeMetrics.tally``), cheap enough for the hit path;
the access log builds a record only when enabled (``logging``).
"""

from __future__ import annotations

import time

from aiohttp import web

from edge.accesslog import AccessLog
from edge.metrics import EdgeMetrics
from edge.upstream import Fetched

__all__ = ["Recorder"]

_perf = time.perf_counter


class Recorder:
    """Tallies answers in ``metrics`` and writes ``access_log`` lines."""

    def __init__(self, metrics: EdgeMetrics, access_log: AccessLog) -> None:
        self.tally = metrics.tally.observe
        self.access_log = access_log
        self.logging = access_log.enabled

    def count(self, label: str, started: float, body_bytes: int, source: str) -> None:
        """Tally one answer labelled ``label`` that took since ``started`` (perf_counter)."""
        self.tally(label, _perf() - started, body_bytes, source)

    def log(
        self,
        request: web.BaseRequest,
        status: int,
        label: str,
        started: float,
        body_bytes: int,
        upstream: Fetched | None = None,
    ) -> None:
        """Write the access-log line of ``request`` (call only when ``logging``)."""
        self.access_log.write(
            method=request.method,
            target=request.raw_path,
            status=status,
            cache_status=label,
            duration=_perf() - started,
            body_bytes=body_bytes,
            upstream=None if upstream is None else f"{upstream.kind}:{upstream.node}",
            upstream_seconds=None if upstream is None else upstream.elapsed,
            emulated_delay=None if upstream is None else upstream.delay,
            client_location=request.headers.get("X-Client-Location"),
            client=request.remote,
        )
