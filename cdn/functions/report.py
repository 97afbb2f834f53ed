"""The per-invoke REPORT record, as Lambda writes it (text line and JSON ``platform.report``).

Rules: durations in milliseconds (two decimals), billed duration a whole number, memory in MB;
``initDurationMs`` only for a cold start; the caller passes the timestamp (the core reads no
clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["InvokeReport"]


@dataclass(frozen=True, slots=True)
class InvokeReport:
    """What one invoke cost: Lambda's REPORT fields."""

    request_id: str
    function: str
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str = "success"

    def record(self, time: str) -> dict[str, Any]:
        """The JSON log record (Lambda's ``platform.report`` shape) stamped ``time``."""
        metrics: dict[str, Any] = {
            "durationMs": round(self.duration_ms, 2),
            "billedDurationMs": self.billed_duration_ms,
            "memorySizeMB": self.memory_size_mb,
            "maxMemoryUsedMB": self.max_memory_used_mb,
        }
        if self.init_duration_ms is not None:
            metrics["initDurationMs"] = round(self.init_duration_ms, 2)
        return {
            "time": time,
            "type": "platform.report",
            "record": {
                "requestId": self.request_id,
                "functionName": self.function,
                "metrics": metrics,
                "status": self.status,
            },
        }

    def text(self) -> str:
        """The classic ``REPORT RequestId: ...`` line."""
        line = (
            f"REPORT RequestId: {self.request_id}\tDuration: {self.duration_ms:.2f} ms"
            f"\tBilled Duration: {self.billed_duration_ms} ms"
            f"\tMemory Size: {self.memory_size_mb} MB"
            f"\tMax Memory Used: {self.max_memory_used_mb} MB"
        )
        if self.init_duration_ms is not None:
            line += f"\tInit Duration: {self.init_duration_ms:.2f} ms"
        return line
