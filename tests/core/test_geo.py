"""Great-circle distance, fibre propagation delay and nearest-node selection."""

import pytest

from cdn.cities import find_city
from cdn.geo import Point, distance_km, nearest, parse_point, propagation_delay, ranked_by_distance


def test_distance_between_paris_and_london_is_about_344_km():
    assert distance_km(find_city("Paris").point, find_city("London").point) == pytest.approx(
        344, abs=5
    )


def test_distance_to_self_is_zero():
    p = Point(48.85, 2.35)
    assert distance_km(p, p) == 0.0


def test_antipode_is_half_the_circumference():
    assert distance_km(Point(0, 0), Point(0, 180)) == pytest.approx(20015, rel=1e-3)


def test_antipode_one_way_delay_is_about_100_ms_before_inflation():
    assert propagation_delay(Point(0, 0), Point(0, 180)) == pytest.approx(0.100, rel=0.01)


def test_route_inflation_multiplies_the_delay():
    a, b = Point(0, 0), Point(0, 90)
    assert propagation_delay(a, b, 1.5) == pytest.approx(1.5 * propagation_delay(a, b))


def test_route_inflation_below_one_is_refused():
    with pytest.raises(ValueError, match=r"expected >= 1\.0"):
        propagation_delay(Point(0, 0), Point(1, 1), 0.5)


def test_nearest_picks_the_closest_node_and_ranked_orders_them():
    nodes = {"par": find_city("Paris").point, "nyc": find_city("New York City").point}
    berlin = find_city("Berlin").point
    assert nearest(berlin, nodes, nodes.__getitem__) == "par"
    assert ranked_by_distance(berlin, list(nodes), nodes.__getitem__) == ["par", "nyc"]


def test_invalid_coordinates_are_refused():
    with pytest.raises(ValueError, match="latitude 91"):
        Point(91, 0)


def test_parse_point_reads_lat_lon_and_names_bad_text():
    assert parse_point("48.86,2.35") == Point(48.86, 2.35)
    with pytest.raises(ValueError, match="expected 'lat,lon'"):
        parse_point("Paris")


def test_city_lookup_prefers_the_most_populous_match_and_folds_accents():
    assert find_city("Paris").country == "FR"
    assert find_city("sao paulo").name == "São Paulo"
    assert find_city("London, CA").country == "CA"
    with pytest.raises(KeyError, match="unknown city 'Nowhereville'"):
        find_city("Nowhereville")
