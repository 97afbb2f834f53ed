"""Popularity: the Zipf sampler against its pmf, the seeded rank->id permutation, drift ids."""

from __future__ import annotations

import numpy as np
import pytest

from cdn.topology import FlashCrowd, Workload
from cdn.workload import Popularity, Zipf

SAMPLES = 200_000


@pytest.mark.parametrize("alpha", [0.0, 0.6, 0.9, 1.0, 1.4])
def test_zipf_frequencies_match_the_pmf_on_top_ranks(alpha: float) -> None:
    zipf = Zipf(1000, alpha)
    ranks = zipf.sample(np.random.default_rng(1), SAMPLES)
    counts = np.bincount(ranks, minlength=1000)
    expected = zipf.pmf(np.arange(1, 1001))
    assert abs(expected.sum() - 1) < 1e-9
    # Max abs error on the top 20 ranks: the largest pmf is < 0.5, so 4 standard errors < 0.0045.
    assert np.max(np.abs(counts[:20] / SAMPLES - expected[:20])) < 0.0045
    # Chi-square over the top 50 ranks plus the tail bucket (51 degrees of freedom -> 50 dof);
    # the 99.9% point of chi2(50) is 86.7.
    observed = np.append(counts[:50], counts[50:].sum())
    wanted = SAMPLES * np.append(expected[:50], expected[50:].sum())
    assert float(((observed - wanted) ** 2 / wanted).sum()) < 86.7


def test_zipf_alpha_zero_is_uniform() -> None:
    zipf = Zipf(10, 0.0)
    assert np.allclose(zipf.pmf(np.arange(1, 11)), 0.1)


def test_zipf_ranks_stay_in_range() -> None:
    zipf = Zipf(5, 2.0)
    ranks = zipf.ranks_for(np.array([0.0, 0.999999999999, 0.5]))
    assert ranks.min() >= 0 and ranks.max() <= 4


@pytest.mark.parametrize(("n", "alpha", "message"), [(0, 1.0, "0 ranks"), (5, -1.0, "alpha -1")])
def test_zipf_bad_parameters_fail_early(n: int, alpha: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Zipf(n, alpha)


def test_rank_to_id_is_a_seeded_permutation() -> None:
    workload = Workload(objects=1000, seed=3)
    a, b = Popularity(workload), Popularity(workload)
    assert sorted(a.permutation.tolist()) == list(range(1000))
    assert a.permutation.tolist() == b.permutation.tolist()
    assert a.permutation[:10].tolist() != list(range(10))
    other = Popularity(Workload(objects=1000, seed=4))
    assert other.permutation.tolist() != a.permutation.tolist()


def test_flash_crowd_and_drift_ids_lie_beyond_the_catalog_without_overlap() -> None:
    workload = Workload(
        objects=100,
        flash_crowds=(FlashCrowd(at=0, duration=1, objects=5), FlashCrowd(at=2, duration=1)),
        new_objects_per_hour=60,
    )
    popularity = Popularity(workload)
    assert popularity.flash_ids(0) == range(100, 105)
    assert popularity.flash_ids(1) == range(105, 115)
    assert popularity.drift_base == 115


def test_drift_puts_the_newest_object_at_the_top() -> None:
    workload = Workload(objects=100, new_objects_per_hour=3600)  # one new object per second
    popularity = Popularity(workload)
    base = popularity.drift_base
    assert popularity.id_at_rank(0, t=0.5) == popularity.permutation[0]
    assert popularity.id_at_rank(0, t=3.5) == base + 2  # three new objects: 0, 1, 2
    assert popularity.id_at_rank(2, t=3.5) == base
    # The catalog slides down by three ranks.
    assert popularity.id_at_rank(3, t=3.5) == popularity.permutation[0]
    assert popularity.id_at_rank(99, t=3.5) == popularity.permutation[96]


def test_large_catalogs_sample_exactly_like_the_plain_inverse_cdf() -> None:
    zipf = Zipf(50_000, 0.8)
    u = np.random.default_rng(2).random(10_000)
    plain = np.minimum(np.searchsorted(zipf.cdf, u, side="right"), zipf.n - 1)
    assert zipf.ranks_for(u).tolist() == plain.tolist()
