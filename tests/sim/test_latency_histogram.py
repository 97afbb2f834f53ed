"""sim.stats.LatencyHistogram: the vectorised mean is hdrh's own."""

from __future__ import annotations

import numpy as np

from sim.stats import LatencyHistogram, median_equivalent_values


def test_median_equivalent_values_are_hdrh_s_for_every_bucket() -> None:
    hdr = LatencyHistogram().hdr
    index = np.arange(hdr.counts_len)
    expected = [hdr._hdr_median_equiv_value(hdr.get_value_from_index(int(i))) for i in index]
    assert median_equivalent_values(hdr, index).tolist() == expected


def test_mean_is_hdrh_s_mean() -> None:
    histogram = LatencyHistogram()
    histogram.record_many(np.random.default_rng(7).lognormal(-3.0, 1.5, 5000))
    assert histogram.mean_ms() == histogram.hdr.get_mean_value() / 1000.0
