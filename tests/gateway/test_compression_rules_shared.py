"""The edge normalises a compressing behavior's request fields with the core's rule, the one
the simulator keys its per-coding entries by (cdn.gateway.compression.normalised_fields)."""

from __future__ import annotations

import edge.proxy
from cdn.gateway.compression import normalised_fields


def test_the_edge_uses_the_cores_normalised_fields() -> None:
    assert edge.proxy.normalised_fields is normalised_fields
