"""Parsing of human quantities in configs and on the command line: sizes, durations, rates.

Rules: pure functions of their text; errors are ValueError with the text and what was expected,
which callers wrap into ConfigError with the file and key.
"""

from __future__ import annotations

import re

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")

_DURATION_UNITS = {
    "": 1.0,
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_DURATION_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")

SIZE_EXPECTED = "a byte count like 1048576, '512MiB', '24KiB' or '1.5GB'"
DURATION_EXPECTED = "seconds like 30, or '250ms', '30s', '5m', '2h', '1d'"


def parse_size(value: int | float | str) -> int:
    """Bytes from ``value``: an integer, or a number with a unit (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size; expected {SIZE_EXPECTED}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"negative size {value!r}; expected {SIZE_EXPECTED}")
        return int(value)
    match = _SIZE_RE.match(str(value))
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"{value!r} is not a size; expected {SIZE_EXPECTED}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def parse_duration(value: int | float | str) -> float:
    """Seconds from ``value``: a number of seconds, or a number with a unit (ms, s, m, h, d)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; expected {DURATION_EXPECTED}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"negative duration {value!r}; expected {DURATION_EXPECTED}")
        return float(value)
    match = _DURATION_RE.match(str(value))
    if not match or match.group(2).lower() not in _DURATION_UNITS:
        raise ValueError(f"{value!r} is not a duration; expected {DURATION_EXPECTED}")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]


def format_size(size: float) -> str:
    """A short human form of a byte count, binary units: 1536 -> '1.5KiB'."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if abs(size) >= factor:
            return f"{size / factor:.3g}{unit}"
    return f"{int(size)}B"
