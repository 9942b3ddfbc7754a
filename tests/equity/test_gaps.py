"""Reference tests (by hand) for pipelines/equity/group_gap.py and quintile_gap.py."""

import numpy as np
import pytest

from pipelines.equity import group_gap, quintile_gap, weighted_quintile


def test_group_gap_by_hand():
    # public: (0.5*100 + 0.7*300)/400 = 0.65 ; prive: (0.8*50 + 0.9*50)/100 = 0.85
    y = [0.5, 0.7, 0.8, 0.9]
    w = [100, 300, 50, 50]
    g = ["public", "public", "prive", "prive"]
    gap = group_gap(y, w, g, high="prive", low="public")
    assert gap.high_mean == pytest.approx(0.85)
    assert gap.low_mean == pytest.approx(0.65)
    assert gap.difference == pytest.approx(0.20)
    assert gap.ratio == pytest.approx(0.85 / 0.65)
    assert (gap.high_weight, gap.low_weight) == (100, 400)


def test_group_gap_errors_and_zero_low_mean():
    with pytest.raises(ValueError, match="no unit"):
        group_gap([0.1, 0.2], [1, 1], ["a", "b"], "a", "c")
    with pytest.raises(ValueError, match="zero total weight"):
        group_gap([0.1, 0.2], [1, 0], ["a", "b"], "a", "b")
    assert np.isnan(group_gap([0.1, 0.0], [1, 1], ["a", "b"], "a", "b").ratio)


def test_quintile_gap_equal_weights_by_hand():
    # 10 schools, equal weights, IPS 1..10: ridits 0.05, 0.15, ..., 0.95 -> quintiles 1,1,2,2,...,5,5
    y = np.arange(1, 11) / 10
    q = quintile_gap(y, np.ones(10), np.arange(1, 11))
    np.testing.assert_allclose(q.means, [0.15, 0.35, 0.55, 0.75, 0.95])
    np.testing.assert_allclose(q.weight_shares, [0.2] * 5)
    assert q.difference == pytest.approx(0.8)
    assert q.ratio == pytest.approx(0.95 / 0.15)


def test_quintiles_are_family_weighted_not_school_counts():
    # weights 1,1,1,1,1,5 (W = 10): ridits 0.05, 0.15, 0.25, 0.35, 0.45, (5 + 2.5)/10 = 0.75
    # -> quintiles 1, 1, 2, 2, 3, 4 ; the big school straddles Q4-Q5 and Q5 is empty
    np.testing.assert_array_equal(weighted_quintile(np.arange(6), [1, 1, 1, 1, 1, 5]), [1, 1, 2, 2, 3, 4])
    q = quintile_gap([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 1, 1, 1, 1, 5], np.arange(6))
    np.testing.assert_allclose(q.weight_shares, [0.2, 0.2, 0.1, 0.5, 0.0])
    assert np.isnan(q.means[4]) and np.isnan(q.difference)


def test_tied_ips_share_a_quintile():
    q = weighted_quintile([1, 1, 1, 1, 2], [1, 1, 1, 1, 1])
    assert len(set(q[:4])) == 1


def test_boundary_midpoint_goes_to_lower_quintile():
    # weights 2, 1, 1, 1 (W = 5): ridits 0.2, 0.5, 0.7, 0.9 -> quintiles 1, 3, 4, 5
    # (the first mid-point sits exactly on the Q1/Q2 boundary and stays in Q1)
    np.testing.assert_array_equal(weighted_quintile([1, 2, 3, 4], [2, 1, 1, 1]), [1, 3, 4, 5])


def test_quintile_gap_interval_by_hand():
    from pipelines.equity import quintile_gap

    # 10 schools of equal weight: ridits 0.05 .. 0.95, two schools per quintile
    y = np.array([0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5, 0.6, 0.8])
    gap = quintile_gap(y, np.full(10, 50.0), np.arange(10.0))
    # each quintile of two: m/(m-1) * sum w^2 (y - mean)^2 / (sum w)^2 = 2 * 2 * 2500 d^2 / 10000 = d^2, d = half gap
    var = 0.05**2 + 0.1**2
    assert gap.difference == pytest.approx(0.7 - 0.15)
    assert gap.difference_se == pytest.approx(np.sqrt(var))
    assert gap.difference_lower == pytest.approx(0.55 - 1.959963984540054 * np.sqrt(var))
    single = quintile_gap(y[::2], np.full(5, 50.0), np.arange(5.0))  # one school per quintile: no interval
    assert np.isnan(single.difference_se)
