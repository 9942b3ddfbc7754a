"""Reference tests for pipelines/equity/theil.py and atkinson.py.

Upstream reference: PySAL inequality (repo pysal/inequality)
  inequality/tests/test_theil.py    -> Theil(y).T and TheilD(y, hanson98).bg on mexico.csv
  inequality/theil.py (docstring)   -> TheilD(...).wg
  inequality/tests/test_atkinson.py -> incomes 10..50: A(0.5) = 0.06315, A(1) = 0.1316096, A(0) = 0
  Data: pysal/pysal pysal/examples/mexico/mexico.csv (copied in reference_data.py).

Textbook vs upstream: TheilD replaces a zero group share by 1 (``sg = sg + (sg == 0)``), adding
ln(n/n_g) to the between part for an all-zero group; the module keeps 0 ln 0 = 0 (see test).
"""

import numpy as np
import pytest

from pipelines.equity import atkinson, mean_log_deviation, theil_decomposition, theil_t

from .reference_data import MEXICO_HANSON98, MEXICO_PCGDP

PYSAL_T = [0.20894344, 0.15222451, 0.10472941, 0.10194725, 0.09560113, 0.10511256, 0.10660832]
PYSAL_BG = [0.0345889, 0.02816853, 0.05260921, 0.05931219, 0.03205257, 0.02963731, 0.03635872]
PYSAL_WG = [0.17435454, 0.12405598, 0.0521202, 0.04263506, 0.06354856, 0.07547525, 0.0702496]
ONES = np.ones(32)


@pytest.mark.parametrize("column", range(7))
def test_pysal_theil_mexico(column):
    y = MEXICO_PCGDP[:, column]
    assert theil_t(y, ONES) == pytest.approx(PYSAL_T[column], abs=1e-7)  # assert_almost_equal: 7 decimals


@pytest.mark.parametrize("column", range(7))
def test_pysal_theild_mexico(column):
    y = MEXICO_PCGDP[:, column]
    total, between, within = theil_decomposition(y, ONES, MEXICO_HANSON98)
    assert total == pytest.approx(PYSAL_T[column], abs=1e-7)
    assert between == pytest.approx(PYSAL_BG[column], abs=1e-7)
    assert within == pytest.approx(PYSAL_WG[column], abs=1e-7)
    assert between + within == pytest.approx(total, rel=1e-12, abs=1e-15)


def test_theil_and_mld_by_hand():
    # y = 1, 4 equal weights: mu = 2.5
    # T = 0.5*(0.4 ln 0.4 + 1.6 ln 1.6) ; L = 0.5*(ln(2.5/1) + ln(2.5/4)) = ln(1.25)
    assert theil_t([1, 4], [1, 1]) == pytest.approx(0.5 * (0.4 * np.log(0.4) + 1.6 * np.log(1.6)))
    assert mean_log_deviation([1, 4], [1, 1]) == pytest.approx(np.log(1.25))
    # weights are frequencies: y = 1 (w 2), 4 (w 1) equals y = 1, 1, 4
    assert theil_t([1, 4], [2, 1]) == pytest.approx(theil_t([1, 1, 4], [1, 1, 1]))
    assert mean_log_deviation([1, 4], [2, 1]) == pytest.approx(mean_log_deviation([1, 1, 4], [1, 1, 1]))


def test_decomposition_with_an_all_zero_group_textbook_vs_pysal():
    # y = 0, 0 | 1, 3 (groups a | b), equal weights: mu = 1, T = (3 ln 3)/4
    # group a: share of outcome 0 -> contributes 0 ; group b: P = 1/2, mu_b = 2, S_b = 1
    # between = 1 * ln(1 / 0.5) = ln 2 ; T_b = 0.5*(0.5 ln 0.5 + 1.5 ln 1.5) ; within = S_b * T_b
    y, g = [0, 0, 1, 3], ["a", "a", "b", "b"]
    total, between, within = theil_decomposition(y, [1, 1, 1, 1], g)
    t_b = 0.5 * (0.5 * np.log(0.5) + 1.5 * np.log(1.5))
    assert total == pytest.approx(3 * np.log(3) / 4)
    assert between == pytest.approx(np.log(2))
    assert within == pytest.approx(t_b)
    assert between + within == pytest.approx(total, rel=1e-12)
    # PySAL TheilD would set group a's share 0 -> 1 and add 1 * ln(n/n_a * 1) = ln 2 to between:
    pysal_between = np.log(2) + np.log(4 / 2 * 1)
    assert pysal_between > total  # its within part (T - bg) would be negative
    assert between != pytest.approx(pysal_between)


def test_decomposition_unpacks_and_has_named_fields():
    res = theil_decomposition([1, 2, 3, 4], [1, 2, 3, 4], [1, 1, 2, 2])
    assert (res.total, res.between, res.within) == tuple(res)


def test_pysal_atkinson():
    # pysal inequality/tests/test_atkinson.py, atol 1e-5
    incomes = np.array([10, 20, 30, 40, 50])
    w = np.ones(5)
    assert atkinson(incomes, w, 0.5) == pytest.approx(0.06315, abs=1e-5)
    assert atkinson(incomes, w, 1) == pytest.approx(0.1316096, abs=1e-5)
    assert atkinson(incomes, w, 0) == 0.0
    # EDE = mean * (1 - A): pysal expects 28.105398233 (eps 0.5) and 26.0517108 (eps 1)
    assert 30 * (1 - atkinson(incomes, w, 0.5)) == pytest.approx(28.105398233, abs=1e-5)
    assert 30 * (1 - atkinson(incomes, w, 1)) == pytest.approx(26.0517108, abs=1e-5)


def test_atkinson_by_hand():
    # eps = 2: harmonic mean 5 / (1/10 + 1/20 + 1/30 + 1/40 + 1/50) = 21.8978... ; A = 1 - HM/30
    hm = 5 / (1 / 10 + 1 / 20 + 1 / 30 + 1 / 40 + 1 / 50)
    assert atkinson([10, 20, 30, 40, 50], np.ones(5), 2) == pytest.approx(1 - hm / 30)
    # A(1) = 1 - exp(-MLD)
    y, w = MEXICO_PCGDP[:, 0], np.arange(1, 33)
    assert atkinson(y, w, 1) == pytest.approx(1 - np.exp(-mean_log_deviation(y, w)))
    # weights as frequencies
    assert atkinson([10, 20], [2, 1], 0.5) == pytest.approx(atkinson([10, 10, 20], [1, 1, 1], 0.5))


def test_errors():
    with pytest.raises(ValueError, match="y > 0"):
        mean_log_deviation([0, 1], [1, 1])
    with pytest.raises(ValueError, match="y > 0"):
        atkinson([0, 1], [1, 1], 1)
    with pytest.raises(ValueError, match="epsilon"):
        atkinson([1, 2], [1, 1], -1)
    with pytest.raises(ValueError, match="missing"):
        theil_decomposition([1, 2], [1, 1], ["a", None])
    # zeros are fine for Theil T and Atkinson with eps < 1
    assert theil_t([0, 1], [1, 1]) == pytest.approx(np.log(2))
    assert atkinson([0, 1], [1, 1], 0.5) == pytest.approx(1 - (0.5**2) / 0.5)


@pytest.mark.parametrize("zeros", [False, True])
def test_theil_bootstrap_interval_is_scipy_bootstrap_of_the_decomposition(zeros):
    """``theil_decomposition_ci`` (a vectorised statistic on the resamples' sums) gives the percentile intervals
    scipy's bootstrap gives with ``theil_decomposition`` itself, resample by resample (same draws); also with
    a group whose outcome is all zero and zeros elsewhere (0 ln 0 = 0)."""
    from scipy import stats

    from pipelines.equity.theil import THEIL_PARTS, theil_decomposition, theil_decomposition_ci

    rng = np.random.default_rng(7)
    y, w = rng.beta(3, 5, 40), rng.integers(20, 300, 40).astype(float)
    groups = rng.choice(["29", "35", "56"], 40)
    if zeros:
        groups[:4] = "22"
        y[:4] = 0.0
        y[10:14] = 0.0

    def naive(index):
        t = theil_decomposition(y[index], w[index], groups[index])
        return np.array([t.total, t.between, t.within, t.between / t.total])

    expected = stats.bootstrap((np.arange(40),), naive, vectorized=False, method="percentile", n_resamples=199,
                               rng=np.random.default_rng(3)).confidence_interval
    got = theil_decomposition_ci(y, w, groups, n_resamples=199, seed=3)
    assert [got[p][0] for p in THEIL_PARTS] == pytest.approx(list(expected.low))
    assert [got[p][1] for p in THEIL_PARTS] == pytest.approx(list(expected.high))
    value = theil_decomposition(y, w, groups)
    assert got["total"][0] < value.total < got["total"][1]
