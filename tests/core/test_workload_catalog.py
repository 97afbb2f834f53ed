"""Catalog: deterministic object sizes from (seed, id) by inverse CDF, and paths."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from cdn.topology import SizeDistribution, Workload
from cdn.workload import Catalog, object_uniform, size_quantile

SAMPLE = range(20_000)


def _catalog(**size: object) -> Catalog:
    return Catalog(Workload(objects=len(SAMPLE), size=SizeDistribution(**size), seed=7))


def test_size_of_is_a_function_of_seed_and_id() -> None:
    a, b = _catalog(), _catalog()
    assert [a.size_of(i) for i in range(100)] == [b.size_of(i) for i in range(100)]
    other = Catalog(Workload(seed=8))
    assert [a.size_of(i) for i in range(100)] != [other.size_of(i) for i in range(100)]


def test_object_uniform_lies_strictly_inside_zero_one() -> None:
    values = [object_uniform(1, i) for i in range(10_000)]
    assert all(0.0 < u < 1.0 for u in values)
    assert abs(statistics.fmean(values) - 0.5) < 0.01


def test_lognormal_median_within_5_percent() -> None:
    catalog = _catalog(dist="lognormal", median=24 * 1024, sigma=1.0, max=1 << 40)
    median = statistics.median(catalog.size_of(i) for i in SAMPLE)
    assert abs(median / (24 * 1024) - 1) < 0.05


def test_lognormal_sigma_is_the_spread_of_log_sizes() -> None:
    catalog = _catalog(dist="lognormal", median=100_000, sigma=1.5, max=1 << 50)
    logs = [math.log(catalog.size_of(i)) for i in SAMPLE]
    assert abs(statistics.stdev(logs) / 1.5 - 1) < 0.05


def test_pareto_sizes_stay_within_bounds_and_follow_the_cdf() -> None:
    low, high, alpha = 1000, 10_000_000, 1.2
    catalog = _catalog(dist="pareto", alpha=alpha, min=low, max=high)
    sizes = np.array([catalog.size_of(i) for i in SAMPLE])
    assert sizes.min() >= low and sizes.max() <= high
    for x in (2000, 10_000, 100_000):
        expected = (1 - (low / x) ** alpha) / (1 - (low / high) ** alpha)
        assert abs((sizes <= x).mean() - expected) < 0.01


def test_fixed_size_is_the_value() -> None:
    catalog = _catalog(dist="fixed", value=1234)
    assert {catalog.size_of(i) for i in range(100)} == {1234}


def test_sizes_are_clipped_to_min_and_max() -> None:
    catalog = _catalog(dist="lognormal", median=10_000, sigma=3.0, min=5000, max=20_000)
    sizes = [catalog.size_of(i) for i in SAMPLE]
    assert min(sizes) == 5000 and max(sizes) == 20_000


@pytest.mark.parametrize("u", [1e-12, 0.5, 1 - 1e-12])
def test_size_quantile_handles_extreme_quantiles(u: float) -> None:
    dist = SizeDistribution(dist="pareto", alpha=0.8, min=10, max=10**9)
    assert 10 <= size_quantile(dist, u) <= 10**9


def test_vectorised_sizes_equal_size_of() -> None:
    catalog = _catalog()
    ids = np.array([5, 0, 5, 19_999, 25_000, 3])
    assert catalog.sizes(ids).tolist() == [catalog.size_of(int(i)) for i in ids]
    # Answers from the cache afterwards are the same too.
    assert catalog.sizes(ids).tolist() == [catalog.size_of(int(i)) for i in ids]
    assert catalog.sizes(np.array([], dtype=np.int64)).tolist() == []


def test_ids_beyond_the_catalog_have_sizes() -> None:
    catalog = _catalog()
    assert catalog.size_of(10**9) > 0
    assert not catalog.in_catalog(len(SAMPLE)) and catalog.in_catalog(0)


def test_negative_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        _catalog().size_of(-1)


def test_path_of_and_id_of_are_inverse() -> None:
    catalog = Catalog(Workload(path="/img/{id}.jpg"))
    assert catalog.path_of(42) == "/img/42.jpg"
    assert catalog.id_of("/img/42.jpg") == 42
    assert catalog.id_of("/img/42.png") is None
    assert catalog.id_of("/img/x.jpg") is None
    assert Catalog(Workload()).id_of("/obj/7") == 7


def test_served_id_is_what_the_origin_serves_at_a_path_else_none_for_its_404() -> None:
    catalog = Catalog(Workload(path="/img/{id}.jpg"))
    assert catalog.served_id("/img/42.jpg") == 42  # the workload's template
    assert catalog.served_id("/obj/7") == 7  # the origin's fixed route, whatever the template
    assert catalog.served_id("/b/obj/7") is None  # e.g. a URI an edge function rewrote
    assert catalog.served_id("/obj/x") is None
    assert catalog.served_id(f"/obj/{2**62}") is None
