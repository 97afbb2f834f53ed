"""What the origin served, for tests and people: requests per path, statuses, bytes, faults.

Rules: plain in-memory counters, no I/O; admin routes (/_cdn/...) are not counted so that
polling them does not change what tests measure.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RequestRecord", "ServedCounters"]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the origin received it (for `GET /_cdn/requests`)."""

    method: str
    path: str
    target: str
    headers: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; headers as [name, value] pairs in arrival order."""
        return {
            "method": self.method,
            "path": self.path,
            "target": self.target,
            "headers": [list(pair) for pair in self.headers],
        }


@dataclass
class ServedCounters:
    """Counts of requests received and responses sent since start (or the last reset)."""

    log_size: int = 1000
    total: int = 0
    paths: Counter[str] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    body_bytes: int = 0
    stalled_now: int = 0
    log: deque[RequestRecord] = field(init=False)

    def __post_init__(self) -> None:
        self.log = deque(maxlen=self.log_size)

    def received(self, record: RequestRecord) -> None:
        """Count a request as it arrives (before any fault decides its fate)."""
        self.total += 1
        self.paths[record.path] += 1
        self.targets[record.target] += 1
        self.methods[record.method] += 1
        self.log.append(record)

    def answered(self, status: int, body_bytes: int) -> None:
        """Count a response sent."""
        self.statuses[status] += 1
        self.body_bytes += body_bytes

    def reset(self) -> None:
        """Forget every count (the stall gauge stays: those requests are still waiting)."""
        stalled = self.stalled_now
        fresh = ServedCounters(log_size=self.log_size)
        for name in (
            "total",
            "paths",
            "targets",
            "methods",
            "statuses",
            "faults",
            "body_bytes",
            "log",
        ):
            setattr(self, name, getattr(fresh, name))
        self.stalled_now = stalled

    def to_json(self) -> dict[str, Any]:
        """The `GET /_cdn/stats` body."""
        return {
            "total": self.total,
            "paths": dict(self.paths),
            "targets": dict(self.targets),
            "methods": dict(self.methods),
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "not_modified": self.statuses[304],
            "body_bytes": self.body_bytes,
            "faults": dict(self.faults),
            "stalled_now": self.stalled_now,
        }

    def records(self, path: str | None, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` request records, only those for ``path`` when given, oldest first."""
        chosen = [r for r in self.log if path is None or r.path == path]
        return [r.to_json() for r in chosen[-limit:]] if limit else []
