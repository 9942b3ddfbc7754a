"""Reference tests for pipelines/equity/eb_shrink.py.

No upstream test suite is reproduced here (no public beta-binomial EB reference values were
found in the sources searched); the checks are: the likelihood against a hand-written
log-gamma formula, the maximum-likelihood score equations written with digamma functions,
the posterior formulas, and recovery of known parameters on a fixed-seed simulation.
"""

import numpy as np
import pytest
from scipy import special, stats

from pipelines.equity import betabinomial_loglik, eb_shrink

RNG_SEED = 20240611


def _simulate(alpha=4.0, beta=6.0, units=400, n=60):
    rng = np.random.default_rng(RNG_SEED)
    theta = rng.beta(alpha, beta, units)
    sizes = rng.integers(10, n, units)
    return rng.binomial(sizes, theta), sizes


def _loglik_by_hand(k, n, a, b):
    # log C(n, k) + log B(k + a, n - k + b) - log B(a, b)
    k, n = np.asarray(k, float), np.asarray(n, float)
    log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return float(np.sum(log_choose + special.betaln(k + a, n - k + b) - special.betaln(a, b)))


def test_loglik_matches_hand_formula():
    k, n = [0, 3, 7, 10], [10, 10, 12, 10]
    assert betabinomial_loglik(k, n, 2.5, 4.0) == pytest.approx(_loglik_by_hand(k, n, 2.5, 4.0), rel=1e-12)


def test_mle_solves_the_score_equations():
    k, n = _simulate()
    res = eb_shrink(k, n)
    a, b = res.alpha, res.beta
    # d logL / d alpha = sum psi(k+a) - psi(n+a+b) - psi(a) + psi(a+b) ; d/d beta likewise
    d_alpha = np.sum(
        special.digamma(k + a) - special.digamma(n + a + b) - special.digamma(a) + special.digamma(a + b)
    )
    d_beta = np.sum(
        special.digamma(n - k + b) - special.digamma(n + a + b) - special.digamma(b) + special.digamma(a + b)
    )
    assert abs(d_alpha) < 1e-3 and abs(d_beta) < 1e-3
    assert res.converged and not res.at_boundary
    # and it is a maximum: nudging the parameters lowers the likelihood
    for da, db in ((0.05, 0), (-0.05, 0), (0, 0.05), (0, -0.05)):
        assert _loglik_by_hand(k, n, a + da, b + db) < res.log_likelihood


def test_recovers_known_prior_on_fixed_seed_simulation():
    k, n = _simulate(alpha=4.0, beta=6.0)
    res = eb_shrink(k, n)
    assert res.prior_mean == pytest.approx(0.4, abs=0.02)
    assert res.prior_size == pytest.approx(10.0, rel=0.3)


def test_posterior_formulas():
    k, n = _simulate()
    res = eb_shrink(k, n, conf_level=0.9)
    a, b = res.alpha, res.beta
    np.testing.assert_allclose(res.shrunk_rate, (k + a) / (n + a + b))
    # shrinkage form: (1 - B) * k/n + B * m with B = (a+b)/(n+a+b)
    np.testing.assert_allclose(res.shrunk_rate, (1 - res.shrinkage) * k / n + res.shrinkage * res.prior_mean)
    # equal-tailed 90 % posterior interval
    post = stats.beta(k + a, n - k + b)
    np.testing.assert_allclose(post.cdf(res.lower), 0.05, rtol=1e-8)
    np.testing.assert_allclose(post.cdf(res.upper), 0.95, rtol=1e-8)
    assert np.all((res.lower <= res.shrunk_rate) & (res.shrunk_rate <= res.upper))
    # a shrunk rate lies between the raw rate and the prior mean; small schools move more
    lo = np.minimum(res.raw_rate, res.prior_mean) - 1e-12
    hi = np.maximum(res.raw_rate, res.prior_mean) + 1e-12
    assert np.all((lo <= res.shrunk_rate) & (res.shrunk_rate <= hi))
    assert np.all(np.diff(res.shrinkage[np.argsort(n)]) <= 1e-15)


def test_no_overdispersion_shrinks_to_the_pooled_rate():
    # identical rates 30/100 in every school: the MLE of alpha+beta runs to the upper bound
    res = eb_shrink([30] * 6, [100] * 6)
    assert res.at_boundary
    np.testing.assert_allclose(res.shrunk_rate, 0.3, atol=1e-6)


@pytest.mark.parametrize("seed", range(8))
def test_binomial_data_are_reported_without_over_dispersion(seed):
    """Pure binomial draws (one common rate): the likelihood is flat towards M -> infinity and the
    optimiser stops wherever the gradient vanishes; the result must still say "no over-dispersion"
    rather than publish intervals of a huge finite M (regression: seen with the analytic gradient)."""
    rng = np.random.default_rng(seed)
    n = rng.integers(8, 40, 10)
    k = rng.binomial(n, 0.8)
    res = eb_shrink(k, n)
    if not res.at_boundary:  # genuine (chance) over-dispersion: then M stays moderate
        assert res.prior_size < 1e5
    else:
        np.testing.assert_allclose(res.shrunk_rate, k.sum() / n.sum(), atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="exceed"):
        eb_shrink([5, 12], [10, 10])
    with pytest.raises(ValueError, match="one event and one non-event"):
        eb_shrink([0, 0], [10, 10])
    with pytest.raises(ValueError, match="two units"):
        eb_shrink([1], [10])
    with pytest.raises(ValueError, match="at least 1"):
        eb_shrink([0, 1], [0, 10])
    with pytest.raises(ValueError, match="length"):
        eb_shrink([0, 1], [10, 10, 10])


def test_analytic_gradient_matches_finite_differences():
    from scipy import optimize

    from pipelines.equity.eb_shrink import _negloglik_and_gradient

    k, n = _simulate()
    k, n = k.astype(float), n.astype(float)
    for point in ([-0.4, 2.3], [0.8, 0.1], [-2.0, 6.0]):
        error = optimize.check_grad(lambda x: _negloglik_and_gradient(x, k, n)[0],
                                    lambda x: _negloglik_and_gradient(x, k, n)[1], np.array(point))
        scale = np.abs(_negloglik_and_gradient(np.array(point), k, n)[1]).max()
        assert error <= 1e-5 * max(scale, 1.0)


# ------------------------------------------------------------------------ beta-binomial regression
def _simulate_regression(units=600, size=20.0):
    rng = np.random.default_rng(RNG_SEED)
    x = rng.normal(0, 1, units)
    level = rng.choice(["college", "ecole", "lycee"], units)
    eta = -0.4 + 0.6 * x + np.select([level == "ecole", level == "lycee"], [-0.9, 0.3], 0.0)
    m = special.expit(eta)
    theta = rng.beta(m * size, (1 - m) * size)
    n = rng.integers(10, 80, units)
    return rng.binomial(n, theta), n, x, level


def test_regression_recovers_the_planted_prior():
    import pandas as pd

    k, n, x, level = _simulate_regression()
    res = eb_shrink(k, n, pd.DataFrame({"x": x, "level": level}))
    coefficients = dict(zip(res.columns, res.coefficients))
    assert coefficients["const"] == pytest.approx(-0.4, abs=0.1)
    assert coefficients["x"] == pytest.approx(0.6, abs=0.08)
    assert coefficients["level_ecole"] == pytest.approx(-0.9, abs=0.15)
    assert coefficients["level_lycee"] == pytest.approx(0.3, abs=0.15)
    assert res.prior_size == pytest.approx(20.0, rel=0.3)
    np.testing.assert_allclose(res.shrunk_rate, (k + res.alpha) / (n + res.prior_size))


def test_regression_gradient_matches_finite_differences():
    from scipy import optimize

    from pipelines.equity.eb_shrink import _negloglik_and_gradient

    k, n, x, _ = _simulate_regression(units=80)
    design = np.column_stack([np.ones_like(x), x])
    k, n = k.astype(float), n.astype(float)
    for point in ([-0.4, 0.5, 2.3], [0.8, -0.2, 0.1]):
        f = lambda p: _negloglik_and_gradient(p, k, n, design)  # noqa: E731
        error = optimize.check_grad(lambda p: f(p)[0], lambda p: f(p)[1], np.array(point))
        assert error <= 1e-5 * max(np.abs(f(np.array(point))[1]).max(), 1.0)


def test_adjusted_intervals_are_wider_and_exist_without_detectable_dispersion():
    k, n = _simulate()
    plug_in, adjusted = eb_shrink(k, n), eb_shrink(k, n, interval="adjusted")
    assert adjusted.prior_size == plug_in.prior_size and (adjusted.shrinkage > plug_in.shrinkage - 1e-12).sum() == 0
    assert (adjusted.upper - adjusted.lower).mean() > (plug_in.upper - plug_in.lower).mean()
    assert ((adjusted.lower <= adjusted.shrunk_rate) & (adjusted.shrunk_rate <= adjusted.upper)).all()
    flat = eb_shrink([30] * 6, [100] * 6, interval="adjusted")  # no over-dispersion detected
    assert flat.at_boundary and (flat.upper - flat.lower > 0.05).all()
    with pytest.raises(ValueError, match="interval"):
        eb_shrink(k, n, interval="bayes")
