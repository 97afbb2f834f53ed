"""The simulator's latency terms: the core's formulas (cdn.latency), named here for sim's readers.

The formulas live in the core so the load generator emulates exactly what the simulator
charges (docs/demo.md, "Latency in the twin").
"""

from __future__ import annotations

from cdn.latency import LatencyModel

__all__ = ["LatencyModel"]
