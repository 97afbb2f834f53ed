"""Origin groups: when a request goes to the secondary origin (CloudFront origin failover).

Rules: only GET, HEAD and OPTIONS fail over; they do on a connection failure or timeout of the
primary, or when the primary answers one of the group's ``failover_statuses``. The secondary's
answer, whatever it is, is the answer. Nothing fails over once a byte went to the viewer.
"""

from __future__ import annotations

from cdn.gateway.behaviors import OriginGroup

__all__ = ["FAILOVER_METHODS", "fails_over"]

FAILOVER_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def fails_over(group: OriginGroup, method: str, status: int | None) -> bool:
    """Whether a request of ``method`` that got ``status`` from the primary (None: the
    connection failed or timed out) is sent to the secondary."""
    if method not in FAILOVER_METHODS:
        return False
    return status is None or status in group.failover_statuses
