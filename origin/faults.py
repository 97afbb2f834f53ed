"""Fault settings of the origin: latency, errors, stalls and being down, as one frozen value.

Rules: pure values and validation, no I/O and no clock; the random draws take an ``rng``.
Changes arrive as JSON-like mappings (the admin endpoint, the CLI); every bad value raises
ValueError naming the key and what is expected.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from cdn.units import parse_duration

__all__ = ["DOWN_MODES", "FAULT_KINDS", "Faults"]

# "refuse": the listening sockets close, new connections are refused (ECONNREFUSED).
# "reset": the port stays open, every non-admin request has its connection aborted unanswered.
DOWN_MODES = ("refuse", "reset")
FAULT_KINDS = ("latency", "error", "stall", "down")
_MAX_DELAY = 3600.0


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong on purpose, for requests whose path starts with ``prefix``."""

    latency: float = 0.0
    jitter: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    stall_rate: float = 0.0
    down: bool = False
    down_mode: str = "refuse"
    prefix: str = "/"

    @property
    def active(self) -> bool:
        """True when any fault is switched on."""
        return bool(self.latency or self.jitter or self.error_rate or self.stall_rate or self.down)

    def delay(self, rng: random.Random) -> float:
        """Seconds to wait before answering: latency plus uniform jitter in [-jitter, +jitter]."""
        if not self.jitter:
            return self.latency
        return max(0.0, self.latency + rng.uniform(-self.jitter, self.jitter))

    def merged(self, changes: Mapping[str, Any]) -> Faults:
        """These faults with ``changes`` applied (unknown keys and bad values raise ValueError)."""
        known = tuple(self.__dataclass_fields__)
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r} (expected one of {', '.join(known)})")
        values: dict[str, Any] = {}
        for key, value in changes.items():
            values[key] = _CHECKS[key](key, value)
        return replace(self, **values)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (the shape the admin endpoint takes and returns)."""
        return asdict(self)


def _duration(key: str, value: Any) -> float:
    try:
        seconds = parse_duration(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{key}: {exc}") from None
    if seconds > _MAX_DELAY:
        raise ValueError(f"{key}: {seconds}s is too long (expected at most {_MAX_DELAY:.0f}s)")
    return seconds


def _rate(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{key}: {value!r} is not a probability (expected a number from 0 to 1)")
    return float(value)


def _status(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 500 <= value <= 599:
        raise ValueError(f"{key}: {value!r} is not a 5xx status (expected 500 to 599)")
    return value


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key}: {value!r} is not a boolean (expected true or false)")
    return value


def _mode(key: str, value: Any) -> str:
    if value not in DOWN_MODES:
        raise ValueError(f"{key}: {value!r} is not known (expected one of {', '.join(DOWN_MODES)})")
    return value


def _prefix(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(
            f"{key}: {value!r} is not a path prefix (expected a string starting with /)"
        )
    return value


_CHECKS = {
    "latency": _duration,
    "jitter": _duration,
    "error_rate": _rate,
    "error_status": _status,
    "stall_rate": _rate,
    "down": _flag,
    "down_mode": _mode,
    "prefix": _prefix,
}
