"""Users where the Internet's users are: ITU users per country, cities, traffic per user, shares."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from cdn.cities import cities_by_country, find_city
from cdn.errors import ConfigError
from cdn.geo import nearest
from cdn.topology import Location, UserRegion, Users, load_topology, parse_topology
from cdn.workload import UserModel
from cdn.workload.internet import internet_places, internet_users, traffic_factors

ROOT = Path(__file__).resolve().parents[2]

# Published continent shares of the world's Internet users: Our World in Data's continent totals of
# ITU figures for 2021 ("Number of people using the Internet": Africa 553.2 M, Asia 2,753.5 M,
# Europe 654.9 M, North America 502.5 M, South America 317.7 M, Oceania 34.7 M), as fractions of
# their sum. docs/workload.md shows the comparison.
PUBLISHED_SHARES = {
    "AF": 553_206_850,
    "AS": 2_753_526_800,
    "EU": 654_925_200,
    "NA": 502_540_200,
    "SA": 317_739_100,
    "OC": 34_744_380,
}
TOLERANCE = 0.05  # 5 percentage points per continent (issue 18)


def _published() -> dict[str, float]:
    total = sum(PUBLISHED_SHARES.values())
    return {code: users / total for code, users in PUBLISHED_SHARES.items()}


def _continent_shares(model: UserModel) -> dict[str, float]:
    shares: Counter[str] = Counter()
    for user in model.locations:
        shares[user.continent] += user.share
    return dict(shares)


def _users_only(**changes: object) -> Users:
    """Internet-user weights with every traffic factor 1: shares of users, not of traffic."""
    settings: dict = {"source": "cities", "cities": 500, "weight": "internet"}
    settings["traffic"] = (("default", 1.0),)
    settings.update(changes)
    return Users(**settings)


def test_the_shipped_table_names_countries_of_the_city_dataset() -> None:
    users = internet_users()
    assert len(users) > 200
    assert users["US"].users > 300_000_000
    assert users["FR"].continent == "EU"
    assert all(2000 < c.year <= 2021 for c in users.values())


def test_every_country_with_users_has_a_city() -> None:
    cities = cities_by_country()
    assert [code for code in internet_users() if not cities.get(code)] == []


def test_continent_shares_match_published_shares_within_five_points() -> None:
    shares = _continent_shares(UserModel(_users_only()))
    for continent, published in _published().items():
        assert abs(shares[continent] - published) < TOLERANCE, continent


def test_every_country_with_users_appears_when_there_are_enough_locations() -> None:
    model = UserModel(_users_only())
    assert {u.country for u in model.locations} == set(internet_users())


def test_with_fewer_locations_than_countries_the_largest_countries_appear() -> None:
    places = internet_places(3)
    assert {city.country for city, _ in places} == {"CN", "IN", "US"}


def test_a_country_keeps_exactly_its_users() -> None:
    france = [users for city, users in internet_places(500) if city.country == "FR"]
    assert sum(france) == pytest.approx(internet_users()["FR"].users)


def test_a_countrys_users_follow_its_cities_populations() -> None:
    american = [(city, users) for city, users in internet_places(500) if city.country == "US"]
    assert len(american) > 1
    (big, big_users), (small, small_users) = american[0], american[-1]
    assert big_users / small_users == pytest.approx(big.population / small.population)


def test_europe_and_north_america_weigh_more_than_their_megacities_suggest() -> None:
    internet = _continent_shares(UserModel(_users_only()))
    population = _continent_shares(UserModel(Users(source="cities", cities=500)))
    assert internet["EU"] > population["EU"]
    assert internet["NA"] > population["NA"]


def test_published_traffic_factors_average_to_one_over_users() -> None:
    users, factors = internet_users(), traffic_factors()
    total = sum(c.users for c in users.values())
    assert sum(c.users * factors[code] for code, c in users.items()) / total == pytest.approx(1)


def test_published_traffic_factors_put_north_america_above_asia() -> None:
    factors = traffic_factors()
    assert factors["US"] > 1 > factors["IN"]
    assert factors["DE"] > factors["BR"]


def test_traffic_factors_move_requests_to_heavier_users() -> None:
    plain = _continent_shares(UserModel(_users_only()))
    weighted = _continent_shares(UserModel(Users(source="cities", cities=500, weight="internet")))
    assert weighted["NA"] > plain["NA"]
    assert weighted["AS"] < plain["AS"]


def test_configured_traffic_country_beats_continent_beats_default() -> None:
    model = UserModel(_users_only(traffic=(("default", 1.0), ("EU", 2.0), ("FR", 3.0))))
    factor = {u.country: u.traffic for u in model.locations}
    assert (factor["FR"], factor["DE"], factor["US"]) == (3.0, 2.0, 1.0)


def test_configured_traffic_applies_to_regions_by_continent() -> None:
    paris = find_city("Paris")
    region = UserRegion("eu", Location(paris.name, paris.point, paris.continent), 1.0)
    model = UserModel(Users(source="regions", regions=(region,), traffic=(("EU", 2.5),)))
    assert model.locations[0].traffic == 2.5


def test_shares_fix_a_continents_share_of_requests() -> None:
    base = _continent_shares(UserModel(_users_only()))
    model = UserModel(_users_only(shares=(("EU", 0.3),)))
    shares = _continent_shares(model)
    assert shares["EU"] == pytest.approx(0.3)
    # The other continents keep their proportions.
    assert shares["NA"] / shares["AS"] == pytest.approx(base["NA"] / base["AS"])


def test_shares_of_a_continent_without_users_are_refused() -> None:
    with pytest.raises(ValueError, match="AN"):
        UserModel(_users_only(shares=(("AN", 0.1),)))


def _topology(users: str) -> dict:
    return tomllib.loads(f"""
[origin]
name = "origin"
city = "Ashburn"
[[edge]]
name = "edge"
city = "Paris"
[workload.users]
{users}
""")


def test_users_weight_must_be_known() -> None:
    with pytest.raises(ConfigError, match="weight"):
        parse_topology(_topology('weight = "wealth"'))


def test_internet_weight_needs_cities() -> None:
    regions = 'source = "regions"\nweight = "internet"\nregion = [{ name = "eu", city = "Paris" }]'
    with pytest.raises(ConfigError, match="weight"):
        parse_topology(_topology(regions))


def test_shares_must_name_continents() -> None:
    with pytest.raises(ConfigError, match=r"shares\.FR"):
        parse_topology(_topology("shares = { FR = 0.2 }"))


def test_shares_must_not_add_up_to_more_than_one() -> None:
    with pytest.raises(ConfigError, match="add up"):
        parse_topology(_topology("shares = { EU = 0.6, NA = 0.6 }"))


def test_traffic_factors_must_not_be_negative() -> None:
    with pytest.raises(ConfigError, match=r"traffic\.US"):
        parse_topology(_topology("traffic = { US = -1 }"))


def test_the_world_topology_weights_users_by_internet_users() -> None:
    users = load_topology(ROOT / "configs" / "world.toml").workload.users
    assert users.weight == "internet"
    plain = Users(
        source=users.source,
        cities=users.cities,
        min_population=users.min_population,
        weight=users.weight,
        traffic=(("default", 1.0),),
    )
    shares = _continent_shares(UserModel(plain))
    for continent, published in _published().items():
        assert abs(shares[continent] - published) < TOLERANCE, continent


def test_internet_location_names_are_unique() -> None:
    names = [u.name for u in UserModel(_users_only(cities=1000)).locations]
    assert len(set(names)) == len(names)


def test_world_pops_are_no_longer_ordered_by_megacities() -> None:
    """Shares of requests per PoP under nearest routing: the issue's figures turn around."""
    topology = load_topology(ROOT / "configs" / "world.toml")
    share: Counter[str] = Counter()
    for user in UserModel(topology.workload.users).locations:
        edge = nearest(user.location.point, topology.edges, lambda node: node.location.point)
        share[edge.name] += user.share
    # With the 500 largest cities by population, Seoul and Hong Kong led and London, New York,
    # Paris and Amsterdam trailed (issue 18).
    assert share["edge-nyc"] > share["edge-icn"]
    assert share["edge-lon"] > share["edge-lag"]
    assert min(share["edge-par"], share["edge-ams"]) > 0.01
