"""Reference tests for pipelines/equity/concentration_index.py and concentration_curve.py.

Upstream reference: WHO healthequal (repo WHOequity/healthequal)
  tests/testthat/test-aci.R  -> ACI 7.3284202, se .29368517 (tolerance 1e-6)
  tests/testthat/test-rci.R  -> RCI .17776859, se .0071240491, CI [0.16380545, 0.19173172] (tol 1e-3)
  (implementation read: R/aci.R, R/rci.R)
"""

import numpy as np
import pytest
from scipy import stats

from pipelines.equity import (
    absolute_concentration_index,
    concentration_curve,
    concentration_index,
    concentration_index_with_se,
    erreygers_index,
    wagstaff_index,
)

from .reference_data import HEALTHEQUAL_EST, HEALTHEQUAL_ORDER, HEALTHEQUAL_POP

Z975 = stats.norm.ppf(0.975)


def test_healthequal_aci():
    # healthequal test-aci.R: aci(pop, est, subgroup_order) with est in per cent
    res = concentration_index_with_se(HEALTHEQUAL_EST, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER, "absolute")
    assert res.estimate == pytest.approx(7.3284202, rel=1e-6)
    # ours 0.29368544 vs upstream .29368517: relative difference 9e-7, inside their tolerance 1e-6
    assert res.se == pytest.approx(0.29368517, rel=2e-6)
    assert res.lower == pytest.approx(7.3284202 - 0.29368517 * Z975, rel=1e-6)
    assert res.upper == pytest.approx(7.3284202 + 0.29368517 * Z975, rel=1e-6)
    assert absolute_concentration_index(HEALTHEQUAL_EST, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER) == pytest.approx(
        7.3284202, rel=1e-6
    )


def test_healthequal_rci():
    # healthequal test-rci.R
    res = concentration_index_with_se(HEALTHEQUAL_EST, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER, "relative")
    assert res.estimate == pytest.approx(0.17776859, rel=1e-6)
    assert res.se == pytest.approx(0.0071240491, rel=1e-6)
    assert res.lower == pytest.approx(0.16380545, rel=1e-5)
    assert res.upper == pytest.approx(0.19173172, rel=1e-5)
    assert concentration_index(HEALTHEQUAL_EST, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER) == pytest.approx(
        0.17776859, rel=1e-6
    )


def test_healthequal_covariance_form_by_hand():
    # mu = (78*20 + 91*30 + 162*40 + 103*50 + 105*60) / 539 = 22220 / 539 = 41.2244898
    pop, est = HEALTHEQUAL_POP, HEALTHEQUAL_EST
    r = np.array([39, 123.5, 250, 382.5, 486.5]) / 539
    mu = 22220 / 539
    cov = np.sum(pop * (est - mu) * (r - 0.5)) / 539
    assert concentration_index(est, pop, HEALTHEQUAL_ORDER) == pytest.approx(2 * cov / mu, rel=1e-12)
    assert absolute_concentration_index(est, pop, HEALTHEQUAL_ORDER) == pytest.approx(2 * cov, rel=1e-12)


def test_two_units_by_hand():
    # y = 0, 1 with equal weights, ranks 1 < 2: ridits 0.25, 0.75, mu = 0.5
    # cov = 0.5*((0-0.5)*(0.25-0.5) + (1-0.5)*(0.75-0.5)) = 0.125
    # CI = 2*0.125/0.5 = 0.5 ; ACI = 0.25 ; Wagstaff = CI/(1-mu) = 1 ; Erreygers = 4*ACI = 1
    y, w, rank = [0.0, 1.0], [1, 1], [1, 2]
    assert concentration_index(y, w, rank) == pytest.approx(0.5)
    assert absolute_concentration_index(y, w, rank) == pytest.approx(0.25)
    assert wagstaff_index(y, w, rank) == pytest.approx(1.0)
    assert erreygers_index(y, w, rank) == pytest.approx(1.0)


def test_wagstaff_and_erreygers_on_healthequal_rates():
    # rates in [0, 1]: mu = 0.412244898, CI = 0.17776861
    y = HEALTHEQUAL_EST / 100
    ci = concentration_index(y, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER)
    mu = 22220 / 539 / 100
    assert wagstaff_index(y, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER) == pytest.approx(ci / (1 - mu), rel=1e-12)
    assert erreygers_index(y, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER) == pytest.approx(4 * mu * ci, rel=1e-12)
    # the convenient-regression versions (healthequal rci(method=...)) give the same estimates
    for kind, value in (("wagstaff", ci / (1 - mu)), ("erreygers", 4 * mu * ci)):
        res = concentration_index_with_se(y, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER, kind)
        assert res.estimate == pytest.approx(value, rel=1e-10)


def test_bounded_corrections_with_general_bounds():
    # healthequal normalises est to (est - lmin)/(lmax - lmin) first; the general-bounds formulas agree
    y, w, rank = np.array([20.0, 35.0, 50.0, 80.0]), [3, 1, 2, 4], [1, 2, 3, 4]
    ystar = (y - 10) / (90 - 10)
    assert wagstaff_index(y, w, rank, 10, 90) == pytest.approx(wagstaff_index(ystar, w, rank), rel=1e-12)
    assert erreygers_index(y, w, rank, 10, 90) == pytest.approx(erreygers_index(ystar, w, rank), rel=1e-12)


def test_concentration_curve_by_hand_and_area_identity():
    # y = 0.2, 0.4 with equal weights: points (0,0), (0.5, 0.2/0.6), (1, 1)
    x, s = concentration_curve([0.2, 0.4], [1, 1], [1, 2])
    np.testing.assert_allclose(x, [0, 0.5, 1])
    np.testing.assert_allclose(s, [0, 1 / 3, 1])
    # CI = 1 - 2 * area under the curve = 1 - 2*(0.5*(0+1/3)/2 + 0.5*(1/3+1)/2) = 1/6
    assert concentration_index([0.2, 0.4], [1, 1], [1, 2]) == pytest.approx(1 / 6)
    x, s = concentration_curve(HEALTHEQUAL_EST, HEALTHEQUAL_POP, HEALTHEQUAL_ORDER)
    area = np.sum((x[1:] - x[:-1]) * (s[1:] + s[:-1]) / 2)
    assert 1 - 2 * area == pytest.approx(0.17776861174058, rel=1e-10)


def test_concentration_curve_merges_tied_ranks():
    x, s = concentration_curve([0.1, 0.3, 0.5], [1, 1, 2], [1, 1, 2])
    np.testing.assert_allclose(x, [0, 0.5, 1])
    np.testing.assert_allclose(s, [0, 0.4 / 1.4, 1])


def test_errors():
    with pytest.raises(ValueError, match="mean of y is 0"):
        concentration_index([0, 0], [1, 1], [1, 2])
    with pytest.raises(ValueError, match="outside the bounds"):
        wagstaff_index([0.5, 1.5], [1, 1], [1, 2])
    with pytest.raises(ValueError, match="equals a bound"):
        wagstaff_index([1.0, 1.0], [1, 1], [1, 2])
    with pytest.raises(ValueError, match="lower < upper"):
        erreygers_index([0.5, 0.5], [1, 1], [1, 2], 1, 0)
    with pytest.raises(ValueError, match="length"):
        concentration_index([0.5, 0.5], [1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="kind"):
        concentration_index_with_se([0.1, 0.2, 0.3], [1, 1, 1], [1, 2, 3], "nope")
    with pytest.raises(ValueError, match="three distinct ranks"):
        concentration_index_with_se([0.1, 0.2], [1, 1], [1, 2])
