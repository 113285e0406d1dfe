import math

import pytest

from evlims.instruments.parsers.size_stats import bin_edges, percentile, size_statistics


def test_symmetric_histogram_statistics():
    stats = size_statistics([10.0, 20.0, 30.0], [1.0, 2.0, 1.0])
    assert stats.mean_nm == 20.0
    assert stats.mode_nm == 20.0
    assert stats.sd_nm == pytest.approx(math.sqrt(50))
    assert stats.d50_nm == pytest.approx(20.0)
    # 10 % of 4 particles = 0.4, inside the first bin [5, 15]: 5 + 0.4 * 10.
    assert stats.d10_nm == pytest.approx(9.0)
    assert stats.d90_nm == pytest.approx(31.0)


def test_empty_histogram_has_no_statistics():
    assert size_statistics([1.0, 2.0], [0.0, 0.0]) is None
    assert size_statistics([], []) is None


def test_mismatched_lengths_are_a_programming_error():
    with pytest.raises(ValueError):
        size_statistics([1.0, 2.0], [1.0])


def test_edges_follow_uneven_rounded_centres():
    assert bin_edges([5112.0, 5118.0, 5122.0]) == [5109.0, 5115.0, 5120.0, 5124.0]
    assert bin_edges([2.5, 7.5]) == [0.0, 5.0, 10.0]


def test_percentile_skips_empty_bins():
    assert percentile([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 4.0, 0.0], 0.5) == pytest.approx(3.0)
