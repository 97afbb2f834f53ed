"""What happened to one request at one simulated node, and what a fill did with its answer.

Rules: IntEnums, so the hot path counts outcomes by indexing a list with them (an IntEnum is
an int) and reports name them by ``.name.lower()``; the module-level aliases are for the hot
path (a global read, not an attribute lookup on the class).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "BYPASS",
    "COLLAPSED",
    "HIT",
    "HIT_CODES",
    "MISS",
    "NOT_STORED",
    "OUTCOMES",
    "REVALIDATED",
    "STALE",
    "STORED",
    "UNCACHEABLE",
    "Fill",
    "Outcome",
]


class Outcome(IntEnum):
    """How one request was answered at one node (the ``cache_status`` labels)."""

    HIT = 0
    STALE = 1
    REVALIDATED = 2
    MISS = 3
    COLLAPSED = 4
    BYPASS = 5


class Fill(IntEnum):
    """What a fill did with the upstream answer (what the edge tells its collapsing followers)."""

    STORED = 0  # kept (or freshened): followers are served from it
    UNCACHEABLE = 1  # a Pass with hit-for-pass: followers fetch alone, the key skips collapsing
    NOT_STORED = 2  # another Pass: followers fetch alone


HIT, STALE, REVALIDATED, MISS, COLLAPSED, BYPASS = Outcome
STORED, UNCACHEABLE, NOT_STORED = Fill
OUTCOMES = tuple(outcome.name.lower() for outcome in Outcome)
# docs/metrics.md's hit: served without a body fetch by this request.
HIT_CODES = frozenset({HIT, STALE, REVALIDATED, COLLAPSED})
