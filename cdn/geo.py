"""Geography: points on the globe, great-circle distance, propagation delay, nearest node.

Rules: pure math on floats; no I/O. Distances in km, delays in seconds unless the name says ms.
Light in fibre covers about 200 km per ms (2/3 c); real routes are longer than the great circle,
so callers pass a route-inflation factor (1.0 = straight fibre along the great circle).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

EARTH_RADIUS_KM = 6371.0088
FIBRE_KM_PER_MS = 200.0


@dataclass(frozen=True, slots=True)
class Point:
    """A location in decimal degrees (WGS84)."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat <= 90.0:
            raise ValueError(f"latitude {self.lat} out of range (expected -90..90)")
        if not -180.0 <= self.lon <= 180.0:
            raise ValueError(f"longitude {self.lon} out of range (expected -180..180)")


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance between ``a`` and ``b`` (haversine), in km."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def propagation_delay(a: Point, b: Point, route_inflation: float = 1.0) -> float:
    """One-way propagation delay in seconds over fibre from ``a`` to ``b``."""
    if route_inflation < 1.0:
        raise ValueError(f"route inflation {route_inflation} < 1 (expected >= 1.0)")
    return distance_km(a, b) * route_inflation / FIBRE_KM_PER_MS / 1000.0


def rtt(a: Point, b: Point, route_inflation: float = 1.0) -> float:
    """Round-trip propagation time in seconds between ``a`` and ``b``."""
    return 2.0 * propagation_delay(a, b, route_inflation)


Located = TypeVar("Located")


def nearest(point: Point, nodes: Iterable[Located], where: Callable[[Located], Point]) -> Located:
    """The node closest to ``point``; ties go to the earlier node. ``where`` gives a node's Point."""
    best = None
    best_km = math.inf
    for node in nodes:
        km = distance_km(point, where(node))
        if km < best_km:
            best, best_km = node, km
    if best is None:
        raise ValueError("no nodes to choose from")
    return best


def ranked_by_distance(
    point: Point, nodes: Sequence[Located], where: Callable[[Located], Point]
) -> list[Located]:
    """``nodes`` ordered nearest first (stable for ties), for overflow to the next-nearest node."""
    return sorted(nodes, key=lambda node: distance_km(point, where(node)))


def parse_point(text: str) -> Point:
    """A Point from ``"lat,lon"`` text (as in the X-Client-Location header)."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a location (expected 'lat,lon' like '48.86,2.35')")
    try:
        return Point(float(parts[0]), float(parts[1]))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a location: {exc}") from None
