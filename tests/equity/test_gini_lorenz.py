"""Reference tests for pipelines/equity/gini.py, lorenz_curve.py and coefficient_of_variation.py.

Upstream reference: PySAL inequality (repo pysal/inequality)
  inequality/tests/test_gini.py -> Gini(mexico pcgdp1940).g == 0.35372371173452849
  (implementation read: inequality/gini.py, ``_gini``: (2 sum i x_(i) - (n+1) sum x) / (n sum x))
"""

import numpy as np
import pytest

from pipelines.equity import coefficient_of_variation, gini, lorenz_curve

from .reference_data import MEXICO_PCGDP


def test_pysal_gini_mexico_1940():
    y = MEXICO_PCGDP[:, 0]
    assert gini(y, np.ones_like(y)) == pytest.approx(0.35372371173452849, abs=1e-12)


def test_gini_by_hand():
    # y = 1, 2, 3, 4: sum over ordered pairs |yi - yj| = 2*(1+2+3+1+2+1) = 20 ; mu = 2.5
    # G = 20 / (2 * 4^2 * 2.5) = 0.25
    assert gini([1, 2, 3, 4], [1, 1, 1, 1]) == pytest.approx(0.25)
    # weights as frequencies: y = 1 (w 3), 3 (w 1): mu = 1.5, sum w_i w_j |yi - yj| = 2*3*1*2 = 12
    # G = 12 / (2 * 4^2 * 1.5) = 0.25 = Gini of 1, 1, 1, 3
    assert gini([1, 3], [3, 1]) == pytest.approx(0.25)
    assert gini([1, 1, 1, 3], [1, 1, 1, 1]) == pytest.approx(0.25)


def test_lorenz_by_hand_and_gini_area():
    x, s = lorenz_curve([4, 1, 3, 2], [1, 1, 1, 1])
    np.testing.assert_allclose(x, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(s, [0, 0.1, 0.3, 0.6, 1])
    # G = 1 - 2 * trapezoid area = 1 - 2 * 0.25 * (0.1 + 0.3 + 0.6 + 0.5 + 0.0) ... = 0.25
    area = np.sum((x[1:] - x[:-1]) * (s[1:] + s[:-1]) / 2)
    assert 1 - 2 * area == pytest.approx(0.25)


def test_gini_equals_lorenz_area_weighted():
    y = MEXICO_PCGDP[:, 3]
    w = np.arange(1, 33, dtype=float)
    x, s = lorenz_curve(y, w)
    area = np.sum((x[1:] - x[:-1]) * (s[1:] + s[:-1]) / 2)
    assert gini(y, w) == pytest.approx(1 - 2 * area, rel=1e-10)


def test_coefficient_of_variation_by_hand():
    # y = 1, 3 equal weights: sd = 1, mu = 2 -> 0.5
    assert coefficient_of_variation([1, 3], [1, 1]) == pytest.approx(0.5)
    # y = 1 (w 3), 3 (w 1): mu = 1.5, var = (3*0.25 + 1*2.25)/4 = 0.75 -> sqrt(0.75)/1.5
    assert coefficient_of_variation([1, 3], [3, 1]) == pytest.approx(np.sqrt(0.75) / 1.5)


def test_errors():
    with pytest.raises(ValueError, match="non-negative"):
        gini([-1, 2], [1, 1])
    with pytest.raises(ValueError, match="mean of y is 0"):
        gini([0, 0], [1, 1])
    with pytest.raises(ValueError, match="NaN"):
        coefficient_of_variation([np.nan, 1], [1, 1])
