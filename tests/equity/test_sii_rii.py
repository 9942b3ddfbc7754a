"""Reference tests for pipelines/equity/sii_rii.py.

Upstream reference: WHO healthequal (repo WHOequity/healthequal)
  tests/testthat/test-sii.R -> SII 44.44502, se 0.02190822, CI [40.15109, 48.73895] (tol 1e-6)
  tests/testthat/test-rii.R -> RII 3.159506, se 0.07644001, CI [2.719902, 3.67016]   (tol 1e-6)
  (implementation read: R/sii.R, R/rii.R: glm(cbind(y, ny) ~ rank, weights = pop,
   family = quasibinomial("logit")) with y = round(est/100 * pop), then
   marginaleffects::avg_comparisons(..., vcov = "HC1"))

Textbook vs upstream: in R a two-column binomial response multiplies the prior weights by the
totals, so healthequal effectively weights each subgroup by pop^2. The module weights by pop
(the textbook binomial likelihood); the upstream numbers are reproduced by passing pop^2 as
regression weights (ridits still from pop) with cov_type="HC1" and rounded counts.
"""

import numpy as np
import pytest
from scipy import special

from pipelines.equity import absolute_concentration_index, ridit, sii_rii, sii_rii_from_ridit

from .reference_data import HEALTHEQUAL_EST, HEALTHEQUAL_ORDER, HEALTHEQUAL_POP


def _healthequal_inputs():
    pop = HEALTHEQUAL_POP
    y = np.round(HEALTHEQUAL_EST / 100 * pop) / pop  # counts 16, 27, 65, 52, 63 (R rounds half to even)
    return y, pop, ridit(HEALTHEQUAL_ORDER, pop)


def test_healthequal_sii_reproduced_with_their_pop_squared_weights():
    y, pop, r = _healthequal_inputs()
    res = sii_rii_from_ridit(y, pop**2, r, "logit", cov_type="HC1")
    # healthequal reports the SII and its bounds x100 (scale) but the se on the 0-1 scale
    assert 100 * res.sii == pytest.approx(44.44502, rel=1e-6)
    assert res.sii_se == pytest.approx(0.02190822, rel=1e-6)
    assert 100 * res.sii_lower == pytest.approx(40.15109, rel=1e-6)
    assert 100 * res.sii_upper == pytest.approx(48.73895, rel=1e-6)


def test_healthequal_rii_reproduced_with_their_pop_squared_weights():
    y, pop, r = _healthequal_inputs()
    res = sii_rii_from_ridit(y, pop**2, r, "logit", cov_type="HC1")
    assert res.rii == pytest.approx(3.159506, rel=1e-6)
    assert res.log_rii_se == pytest.approx(0.07644001, rel=1e-6)
    assert res.rii_lower == pytest.approx(2.719902, rel=1e-6)
    assert res.rii_upper == pytest.approx(3.67016, rel=1e-6)


def test_textbook_weights_differ_from_healthequal():
    # Weighting by pop (binomial counts out of pop), as the module does, moves the SII from
    # 44.445 to 44.905 on the same rounded counts: the documented upstream quirk.
    y, pop, r = _healthequal_inputs()
    textbook = sii_rii(y, pop, HEALTHEQUAL_ORDER, "logit", cov_type="HC1")
    assert 100 * textbook.sii == pytest.approx(44.905264, rel=1e-6)
    assert textbook.rii == pytest.approx(3.2239234, rel=1e-6)
    assert abs(100 * textbook.sii - 44.44502) > 0.4


def test_hc1_is_hc0_times_n_over_n_minus_2():
    y, pop, r = _healthequal_inputs()
    hc0 = sii_rii_from_ridit(y, pop, r, "logit", cov_type="HC0")
    hc1 = sii_rii_from_ridit(y, pop, r, "logit", cov_type="HC1")
    assert hc1.sii_se == pytest.approx(hc0.sii_se * np.sqrt(5 / 3), rel=1e-12)


def test_linear_exact_line_by_hand():
    # ranks 1, 2, 3 with equal weights -> ridits 1/6, 1/2, 5/6 ; y = 0.2, 0.4, 0.6 lie on
    # y = 0.1 + 0.6 r  -> SII = 0.6, pred(0) = 0.1, pred(1) = 0.7, RII = 7, zero residuals
    res = sii_rii([0.2, 0.4, 0.6], [5, 5, 5], [10, 20, 30], "linear")
    assert res.sii == pytest.approx(0.6)
    assert res.predicted_at_0 == pytest.approx(0.1)
    assert res.rii == pytest.approx(7.0)
    assert res.sii_se == pytest.approx(0.0, abs=1e-12)


def test_linear_slope_is_aci_over_twice_ridit_variance():
    # WLS slope = cov_w(y, r) / var_w(r) = ACI / (2 var_w(r)); intercept = mean - slope/2
    y, w = HEALTHEQUAL_EST / 100, HEALTHEQUAL_POP
    r = ridit(HEALTHEQUAL_ORDER, w)
    var_r = np.sum(w * (r - 0.5) ** 2) / w.sum()
    slope = absolute_concentration_index(y, w, HEALTHEQUAL_ORDER) / (2 * var_r)
    intercept = 22220 / 539 / 100 - slope / 2
    res = sii_rii(y, w, HEALTHEQUAL_ORDER, "linear")
    assert res.sii == pytest.approx(slope, rel=1e-10)
    assert res.rii == pytest.approx((intercept + slope) / intercept, rel=1e-10)
    assert res.sii_lower < res.sii < res.sii_upper
    assert res.rii_lower < res.rii < res.rii_upper


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_logit_exact_curve_by_hand():
    # y = expit(-1 + 2 r) on ridits 1/6, 1/2, 5/6: the GLM recovers a = -1, b = 2 exactly, so
    # SII = expit(1) - expit(-1) = 0.46211715726 and RII = expit(1)/expit(-1) = e
    # (statsmodels warns of "perfect prediction" because the residuals are exactly zero)
    r = np.array([1, 3, 5]) / 6
    y = special.expit(-1 + 2 * r)
    res = sii_rii(y, [1, 1, 1], [1, 2, 3], "logit")
    assert res.intercept == pytest.approx(-1, abs=1e-8)
    assert res.slope == pytest.approx(2, abs=1e-8)
    assert res.sii == pytest.approx(0.46211715726000974, rel=1e-8)
    assert res.rii == pytest.approx(np.e, rel=1e-8)


def test_linear_rii_undefined_when_predicted_at_0_not_positive():
    # y = 0.0, 0.3, 0.6 on ridits 1/6, 1/2, 5/6: y = -0.15 + 0.9 r -> pred(0) < 0 -> RII is NaN
    res = sii_rii([0.0, 0.3, 0.6], [1, 1, 1], [1, 2, 3], "linear")
    assert res.sii == pytest.approx(0.9)
    assert np.isnan(res.rii) and np.isnan(res.rii_lower)


def test_quasibinomial_scale_is_pearson_chi2_over_df():
    y, pop = HEALTHEQUAL_EST / 100, HEALTHEQUAL_POP
    res = sii_rii(y, pop, HEALTHEQUAL_ORDER, "logit")
    r = ridit(HEALTHEQUAL_ORDER, pop)
    p = special.expit(res.intercept + res.slope * r)
    pearson = np.sum(pop * (y - p) ** 2 / (p * (1 - p)))
    assert res.scale == pytest.approx(pearson / (5 - 2), rel=1e-8)


def test_errors():
    with pytest.raises(ValueError, match="proportions"):
        sii_rii([0.2, 1.2, 0.5], [1, 1, 1], [1, 2, 3], "logit")
    with pytest.raises(ValueError, match="two distinct ranks"):
        sii_rii([0.2, 0.3], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="three units"):
        sii_rii([0.2, 0.3, 0.4], [1, 1, 0], [1, 2, 3])
    with pytest.raises(ValueError, match="model"):
        sii_rii([0.2, 0.3, 0.4], [1, 1, 1], [1, 2, 3], "probit")
    with pytest.raises(ValueError, match="strictly between"):
        sii_rii([0.0, 0.0, 0.0], [1, 1, 1], [1, 2, 3], "logit")
    with pytest.raises(ValueError, match="conf_level"):
        sii_rii([0.2, 0.3, 0.4], [1, 1, 1], [1, 2, 3], conf_level=95)


def test_logit_with_equal_rates_is_exactly_flat():
    # Found by the property test on a clean run: statsmodels' IRLS cannot start when every rate is equal.
    res = sii_rii(np.full(5, 0.3), [78, 91, 162, 103, 105], [1, 2, 3, 4, 5], model="logit")
    assert res.sii == 0 and res.rii == pytest.approx(1.0) and res.sii_lower == res.sii_upper == 0
