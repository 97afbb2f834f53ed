"""Structured access log: one JSON line per request with its cache status and timings.

Rules: off unless ``--access-log``; when off the proxy never builds a record (the hit path
pays one attribute check). Lines go to a text stream (stderr by default) so `cdn up` can
prefix and interleave them with other nodes' logs.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

__all__ = ["AccessLog"]


class AccessLog:
    """Writes JSON lines when ``enabled``."""

    def __init__(self, node: str, enabled: bool, stream: TextIO | None = None) -> None:
        self.node = node
        self.enabled = enabled
        self.stream = stream or sys.stderr

    def write(
        self,
        *,
        method: str,
        target: str,
        status: int,
        cache_status: str,
        duration: float,
        body_bytes: int,
        upstream: str | None = None,
        upstream_seconds: float | None = None,
        emulated_delay: float | None = None,
        client_location: str | None = None,
        client: str | None = None,
    ) -> None:
        """Write one record (seconds are rounded to microseconds)."""
        record: dict[str, Any] = {
            "time": round(time.time(), 6),
            "node": self.node,
            "client": client,
            "method": method,
            "target": target,
            "status": status,
            "cache_status": cache_status,
            "duration_s": round(duration, 6),
            "bytes": body_bytes,
        }
        if upstream is not None:
            record["upstream"] = upstream
            record["upstream_s"] = None if upstream_seconds is None else round(upstream_seconds, 6)
        if emulated_delay:
            record["emulated_delay_s"] = round(emulated_delay, 6)
        if client_location:
            record["client_location"] = client_location
        self.stream.write(json.dumps(record, separators=(",", ":")) + "\n")
