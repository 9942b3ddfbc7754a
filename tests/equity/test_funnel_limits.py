"""Reference tests for pipelines/equity/funnel_limits.py.

Upstream: FunnelPlotR (repo nhs-r-community/FunnelPlotR). Its tests
(tests/testthat/test-OD_adjust_func.R, test-funnel_plot.R, test-build_limits_lookup.R) only
check shapes and types, never numbers, so there are no upstream reference values to copy.
The over-dispersion arithmetic is checked here (a) on a case done by hand and (b) against a
line-by-line transcription of FunnelPlotR's proportion ("PR") path:
  R/od_adjustment.R   transformed_zscore (PR), winsorisation, phi_func, tau_func
  R/calculate_limits.R  PR limits sin(asin(sqrt(target)) -/+ z * sqrt(s^2 + tau2))^2
  tests/testthat/test-outliers_func.R  boundary rule (a rate on a limit is not an outlier)
Exact binomial limits: Spiegelhalter (2005) Stat Med 24:1185, appendix A.1.1 interpolation.
"""

from fractions import Fraction

import numpy as np
import pytest

from pipelines.equity import funnel_flag, funnel_limits

Z95, Z998 = 1.959963984540054, 3.090232306167813


def test_overdispersion_by_hand_identity_scale_no_winsorising():
    # target 0.5, n = 100 each: s = sqrt(0.25/100) = 0.05 ; rates 0.4, 0.5, 0.5, 0.6 -> z = -2, 0, 0, 2
    # phi = (4 + 0 + 0 + 4)/4 = 2 ; I*phi = 8 > I - 1 = 3
    # w = 1/s^2 = 400 each: sum w = 1600, sum w^2 / sum w = 640000/1600 = 400
    # tau2 = (8 - 3) / (1600 - 400) = 5/1200
    res = funnel_limits([40, 50, 50, 60], [100] * 4, target=0.5, scale="identity", winsorize=0.0)
    np.testing.assert_allclose(res.z, [-2, 0, 0, 2])
    assert res.phi == pytest.approx(2.0)
    assert res.tau2 == pytest.approx(5 / 1200)
    # additive 95 %: 0.5 -/+ 1.959964 * sqrt(0.0025 + 5/1200)
    half = Z95 * np.sqrt(0.0025 + 5 / 1200)
    np.testing.assert_allclose(res.additive.lower_95, 0.5 - half)
    np.testing.assert_allclose(res.additive.upper_95, 0.5 + half)
    # multiplicative 99.8 %: 0.5 -/+ 3.090232 * sqrt(2) * 0.05
    np.testing.assert_allclose(res.multiplicative.upper_998, 0.5 + Z998 * np.sqrt(2) * 0.05)
    # adjusted z-scores: 0.1 / sqrt(0.0025 + 5/1200) = 1.2247 ; 2 / sqrt(2)
    assert res.z_additive[3] == pytest.approx(0.1 / np.sqrt(0.0025 + 5 / 1200))
    assert res.z_multiplicative[3] == pytest.approx(np.sqrt(2))
    assert list(res.flag) == [None, None, None, None]


def test_winsorising_uses_r_type7_quantiles():
    # z = -2, 0, 0, 2: R quantile(type 7) at 0.1 -> position 0.3 -> -2 + 0.3*2 = -1.4 ; at 0.9 -> 1.4
    # phi = (1.96 + 0 + 0 + 1.96)/4 = 0.98 ; I*phi = 3.92 > 3 -> tau2 = 0.92 / 1200
    res = funnel_limits([40, 50, 50, 60], [100] * 4, target=0.5, scale="identity", winsorize=0.1)
    np.testing.assert_allclose(res.winsorized_z, [-1.4, 0, 0, 1.4])
    assert res.phi == pytest.approx(0.98)
    assert res.tau2 == pytest.approx(0.92 / 1200)
    # phi < 1: the multiplicative limits are not narrowed (max(phi, 1) = 1)
    np.testing.assert_allclose(res.multiplicative.upper_95, 0.5 + Z95 * 0.05)


def test_no_overdispersion_gives_tau2_zero():
    # z = -1, 0, 1 (n = 100, target 0.5): phi = 2/3, I*phi = 2 <= I - 1 = 2 -> tau2 = 0
    res = funnel_limits([45, 50, 55], [100] * 3, target=0.5, scale="identity", winsorize=0.0)
    assert res.tau2 == pytest.approx(0.0, abs=1e-15)  # I*phi = 2 up to round-off
    np.testing.assert_allclose(res.additive.upper_95, 0.5 + Z95 * 0.05)


def _funnelplotr_pr(numerator, denominator, trim_by=0.1):
    """Line-by-line transcription of FunnelPlotR's PR path (R/od_adjustment.R, R/calculate_limits.R)."""
    numerator = np.asarray(numerator, float)
    denominator = np.asarray(denominator, float)
    target = numerator.sum() / denominator.sum()
    target_transformed = np.arcsin(np.sqrt(target))
    Y = np.arcsin(np.sqrt(numerator / denominator))
    s = 1 / (2 * np.sqrt(denominator))
    Uzscore = (Y - target_transformed) / s
    lz = np.quantile(Uzscore, trim_by)  # R quantile() default type 7
    uz = np.quantile(Uzscore, 1 - trim_by)
    Wuzscore = np.where(Uzscore < lz, lz, np.where(Uzscore > uz, uz, Uzscore))
    n = len(Wuzscore)
    phi = (1 / n) * np.sum(Wuzscore**2)
    if n * phi < n - 1:
        Tau2 = 0.0
    else:
        Tau2 = max(0, (n * phi - (n - 1)) / (np.sum(1 / s**2) - np.sum((1 / s**2) ** 2) / np.sum(1 / s**2)))
    limits = {
        "OD95LCL": np.sin(np.arcsin(np.sqrt(target)) - 1.959964 * np.sqrt(s**2 + Tau2)) ** 2,
        "OD95UCL": np.sin(np.arcsin(np.sqrt(target)) + 1.959964 * np.sqrt(s**2 + Tau2)) ** 2,
        "OD99LCL": np.sin(np.arcsin(np.sqrt(target)) - 3.090232 * np.sqrt(s**2 + Tau2)) ** 2,
        "OD99UCL": np.sin(np.arcsin(np.sqrt(target)) + 3.090232 * np.sqrt(s**2 + Tau2)) ** 2,
    }
    rr = numerator / denominator
    outlier = ~((rr <= limits["OD99UCL"]) & (rr >= limits["OD99LCL"]))
    return target, Uzscore, phi, Tau2, limits, outlier


SCHOOLS_K = [12, 31, 44, 95, 20, 150, 61, 210, 35, 88, 140, 9]
SCHOOLS_N = [30, 60, 100, 150, 50, 300, 100, 500, 40, 200, 220, 25]


def test_matches_funnelplotr_proportion_path():
    target, z, phi, tau2, limits, outlier = _funnelplotr_pr(SCHOOLS_K, SCHOOLS_N)
    res = funnel_limits(SCHOOLS_K, SCHOOLS_N)
    assert res.target == pytest.approx(target)
    np.testing.assert_allclose(res.z, z, rtol=1e-12)
    assert res.phi == pytest.approx(phi, rel=1e-12)
    assert tau2 > 0 and res.tau2 == pytest.approx(tau2, rel=1e-12)
    # FunnelPlotR rounds z to 1.959964 / 3.090232: agreement to ~1e-7
    np.testing.assert_allclose(res.additive.lower_95, limits["OD95LCL"], rtol=1e-6)
    np.testing.assert_allclose(res.additive.upper_95, limits["OD95UCL"], rtol=1e-6)
    np.testing.assert_allclose(res.additive.lower_998, limits["OD99LCL"], rtol=1e-6)
    np.testing.assert_allclose(res.additive.upper_998, limits["OD99UCL"], rtol=1e-6)
    assert list(res.flag != None) == list(outlier)  # noqa: E711 (elementwise on an object array)
    assert outlier.any()


def test_arcsine_limits_are_clipped_unlike_funnelplotr():
    # small n, low target: FunnelPlotR's sin(angle)^2 with a negative angle bounces above 0
    res = funnel_limits([1, 2, 3, 20], [5, 10, 10, 200], winsorize=0.0)
    _, _, _, _, limits, _ = _funnelplotr_pr([1, 2, 3, 20], [5, 10, 10, 200], trim_by=0.0)
    assert limits["OD99LCL"][0] > 0  # upstream artefact
    assert res.additive.lower_998[0] == 0.0  # textbook inverse: angle clipped at 0


def test_exact_binomial_interpolation_by_hand():
    # Bin(10, 1/2): F(1) = 11/1024, F(2) = 56/1024 -> r_0.025 = 2,
    # alpha = (56/1024 - 0.025) / (45/1024) = 30.4/45 ; limit = (2 - alpha)/10
    # F(7) = 968/1024, F(8) = 1013/1024 -> r_0.975 = 8, alpha = (1013 - 998.4)/45 ; limit = (8 - alpha)/10
    lower = (2 - Fraction(304, 450)) / 10
    upper = (8 - Fraction(146, 450)) / 10
    res = funnel_limits([5], [10], target=0.5)
    assert res.exact.lower_95[0] == pytest.approx(float(lower), rel=1e-12)
    assert res.exact.upper_95[0] == pytest.approx(float(upper), rel=1e-12)
    # 0.999 tail: F(9) = 1023/1024 >= 0.999 > F(8) -> r = 9 ; alpha = (1023/1024 - 0.999)/(10/1024)
    alpha = (Fraction(1023, 1024) - Fraction(999, 1000)) / Fraction(10, 1024)
    assert res.exact.upper_998[0] == pytest.approx(float((9 - alpha) / 10), rel=1e-12)


def test_exact_limits_converge_to_normal_for_large_n():
    res = funnel_limits([300], [1000], target=0.3, n_grid=[100000])
    normal_upper = 0.3 + Z95 * np.sqrt(0.3 * 0.7 / 100000)
    assert res.curve.exact.upper_95[0] == pytest.approx(normal_upper, abs=2e-5)


def test_flags_and_boundary_rule_like_funnelplotr():
    # FunnelPlotR test-outliers_func.R: rates on the limit are not outliers
    rate = [1, 0.95, 1.05, 0.8, 1.2, 0.6, 1.4, 0.4, 1.6, 0]
    flags = funnel_flag(rate, 0.9, 1.1)
    assert [f is not None for f in flags] == [False, False, False, True, True, True, True, True, True, True]
    assert list(funnel_flag([0.5, 0.9, 1.1], 0.5, 1.0)) == [None, None, "haut"]
    assert list(funnel_flag([0.4], 0.5, 1.0)) == ["bas"]


def test_flag_choice_and_curve():
    res = funnel_limits(SCHOOLS_K, SCHOOLS_N, flag_method="exact", flag_level=0.95)
    np.testing.assert_array_equal(res.flag, res.flags("exact", 0.95))
    assert res.curve.n[0] == 25 and res.curve.n[-1] == 500
    # the smooth limits narrow monotonically as n grows; the exact ones only overall (discreteness)
    assert np.all(np.diff(res.curve.additive.upper_95) < 0)
    assert np.all(np.diff(res.curve.multiplicative.lower_998) > 0)
    assert res.curve.exact.upper_95[-1] < res.curve.exact.upper_95[0]
    assert np.all(res.curve.additive.lower_95 <= res.target)
    assert np.all(res.curve.additive.upper_95 >= res.target)


def test_errors():
    with pytest.raises(ValueError, match="exceed"):
        funnel_limits([5, 20], [10, 10])
    with pytest.raises(ValueError, match="whole numbers"):
        funnel_limits([1.5, 2], [10, 10])
    with pytest.raises(ValueError, match="strictly between"):
        funnel_limits([0, 0], [10, 10])
    with pytest.raises(ValueError, match="scale"):
        funnel_limits([1, 2], [10, 10], scale="log")
    with pytest.raises(ValueError, match="level"):
        funnel_limits([1, 2], [10, 10]).flags("exact", 0.9)
