"""Which origin answers an injected error: one deterministic draw shared by the origin and the sim.

Rules: pure, no I/O, no clock, no global random. A draw depends only on (seed, path, attempt),
where ``attempt`` counts the earlier draws for the same path (0 for the first). The live origin
(``origin.middleware``) and the simulator (``sim.faults``) both call ``injected_error``, so when
they see the same requests for a path they fail the same ones: the prediction of an
``origin_errors`` fault is per request, not a second independent 10% draw.
"""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["injected_error"]

_SCALE = float(1 << 64)


def injected_error(seed: int, path: str, attempt: int, rate: float) -> bool:
    """True when the ``attempt``-th (0-based) error draw for ``path`` under ``seed`` fails.

    Over many paths or attempts a share ``rate`` (0 to 1) of draws fail.
    """
    if rate <= 0.0:
        return False
    if rate >= 1.0:
        return True
    digest = blake2b(f"{seed}\x00{path}\x00{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE < rate
