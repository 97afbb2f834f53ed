"""User geography: cities weighted by population, weighted regions, time-zone offsets."""

from __future__ import annotations

import numpy as np
import pytest

from cdn.cities import find_city, largest_cities
from cdn.geo import Point
from cdn.topology import Location, UserRegion, Users
from cdn.workload import UserModel, utc_offset_hours


def _region(name: str, weight: float, city: str | None = None, lon: float = 0.0) -> UserRegion:
    if city:
        c = find_city(city)
        location = Location(c.name, c.point, c.continent, c.timezone)
    else:
        location = Location(f"0,{lon}", Point(0.0, lon), "AF")
    return UserRegion(name=name, location=location, weight=weight)


def test_cities_are_the_largest_weighted_by_population() -> None:
    model = UserModel(Users(source="cities", cities=50))
    cities = largest_cities(50)
    assert len(model) == 50
    assert abs(model.shares.sum() - 1) < 1e-12
    total = sum(c.population for c in cities)
    for user, city in zip(model.locations, cities, strict=True):
        assert user.share == pytest.approx(city.population / total)
        assert user.location.point == city.point
        assert user.continent == city.continent


def test_city_names_are_unique() -> None:
    model = UserModel(Users(source="cities", cities=2000))
    names = [u.name for u in model.locations]
    assert len(set(names)) == len(names)


def test_min_population_too_high_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="min_population"):
        UserModel(Users(source="cities", min_population=10**10))


def test_regions_use_their_weights() -> None:
    model = UserModel(
        Users(source="regions", regions=(_region("eu", 3.0, "Paris"), _region("x", 1.0)))
    )
    assert [u.name for u in model.locations] == ["eu", "x"]
    assert model.shares.tolist() == [0.75, 0.25]


def test_offsets_come_from_the_time_zone_at_the_reference_instant() -> None:
    tokyo = _region("t", 1, "Tokyo").location
    new_york = _region("n", 1, "New York").location
    sydney = _region("s", 1, "Sydney").location
    assert utc_offset_hours(tokyo) == 9.0
    assert utc_offset_hours(new_york) == -5.0  # January: standard time
    assert utc_offset_hours(sydney) == 11.0  # January: summer time


def test_points_without_a_time_zone_get_the_solar_offset() -> None:
    assert utc_offset_hours(_region("x", 1, lon=120.0).location) == 8.0
    assert utc_offset_hours(_region("x", 1, lon=-74.0).location) == -5.0


def test_sampling_follows_the_shares() -> None:
    model = UserModel(
        Users(source="regions", regions=(_region("a", 1.0), _region("b", 3.0, lon=30.0)))
    )
    picks = model.sample(np.random.default_rng(5), 100_000)
    assert abs((picks == 1).mean() - 0.75) < 0.01


def test_zero_total_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="sum to 0"):
        UserModel(Users(source="regions", regions=(_region("a", 0.0),)))


def test_sampling_500_cities_matches_their_population_shares() -> None:
    model = UserModel(Users(source="cities", cities=500))
    picks = model.sample(np.random.default_rng(9), 1_000_000)
    frequencies = np.bincount(picks, minlength=500) / 1_000_000
    # Largest share is < 2%: four standard errors of 1M samples are < 0.0006.
    assert np.abs(frequencies - model.shares).max() < 0.0006
