"""Empirical-Bayes (beta-binomial) shrinkage of unit rates, with posterior intervals.

Model
-----
School ``i`` has ``k_i`` events (e.g. activated parent accounts) out of ``n_i`` (loaded
accounts); its true rate ``theta_i ~ Beta(alpha_i, beta_i)`` and ``k_i | theta_i ~ Bin(n_i, theta_i)``,
so marginally ``k_i ~ BetaBinomial(n_i, alpha_i, beta_i)``. The prior has mean ``m_i`` and size
``M = alpha_i + beta_i`` (common to all units):

* without covariates, ``m_i = m`` for every unit (Skellam 1948);
* with covariates (beta-binomial regression, Williams 1982; Ferrari & Cribari-Neto 2004 for the
  mean-precision form), ``logit(m_i) = x_i' b`` with ``x_i`` the intercept, numeric covariates
  and 0/1 dummies of the categorical ones (``expected_rate_glm.design_matrix``): each school is
  shrunk toward the rate of comparable schools (same IPS, level, académie), and ``M`` measures the
  spread of the true rates *around that mean*, not across dissimilar schools.

Estimation
----------
``(b, M)`` maximise the beta-binomial log-likelihood ``sum_i log P(k_i | n_i, alpha_i, beta_i)``
(``scipy.stats.betabinom.logpmf``), optimised by ``scipy.optimize.minimize`` (L-BFGS-B, analytic
gradient) over ``(b, log(M))`` (without covariates ``b = logit(m)``), from the binomial fit of the
same mean model for ``b`` and a method-of-moments start for ``log M``. ``log M`` is bounded above by ``ln(1e9)``. When the data show no over-dispersion the
likelihood keeps increasing towards the binomial limit ``M -> infinity`` (checked explicitly
against the binomial likelihood of the same mean model: the pooled rate, or the binomial GLM on
the covariates; a fit within ``NO_DISPERSION_LOGLIK`` of it counts as no over-dispersion); the
solution is then reported at the boundary (``at_boundary=True``, ``M = 1e9``, ``m_i`` = the
binomial fit) and every rate is shrunk (almost) fully to it.

Posterior, per unit::

    theta_i | k_i ~ Beta(k_i + alpha, n_i - k_i + beta)
    shrunk_i = (k_i + alpha_i) / (n_i + M)
             = (1 - B_i) * k_i/n_i + B_i * m_i,   B_i = M / (n_i + M)  (shrinkage factor)
    interval = beta.ppf([(1-c)/2, (1+c)/2], k_i + alpha_i, n_i - k_i + beta_i)  (equal-tailed)

Intervals (``interval=``):

* ``"plug_in"`` (default): the posterior above with the fitted prior, as if ``b`` and ``M`` were
  known (Morris 1983 calls it the naive EB interval). It undercovers when the prior is poorly
  determined: few accounts per school (teachers: a median of 9) leave ``M`` unidentified (the fit
  runs to the boundary and every interval collapses on the prior mean), and a prior mean per
  académie rests on a few dozen accounts.
* ``"adjusted"``: the same posterior with the prior's uncertainty added (Kass & Steffey 1989, first
  order). ``M`` is taken at the lower end ``M_lo`` of its 95 % profile-likelihood interval (the widest
  between-school spread the data do not reject: ``2 (l(M_hat) - l_p(M_lo)) = chi2_1(0.95)``, the
  profile maximising over ``b``), and the variance of the fitted prior mean (delta method from the
  observed information of ``b`` at ``M_lo``) is added to the prior variance::

      v_i   = m_i (1 - m_i) / (M_lo + 1) + (m_i (1 - m_i))^2 x_i' I(b)^-1 x_i
      M_i   = m_i (1 - m_i) / v_i - 1         (the beta prior of mean m_i and variance v_i)
      shrunk_i, interval_i  from  Beta(k_i + m_i M_i, n_i - k_i + (1 - m_i) M_i)

  ``shrinkage`` is then ``M_i / (n_i + M_i)``. The point estimates and the intervals use the same
  prior, so a shrunk rate always lies inside its interval. Coverage of the true rates per profile ×
  level is checked against the generator's truth (tests/equity/test_eb_coverage.py).

References
----------
Skellam, J. G. (1948). A probability distribution derived from the binomial distribution by
regarding the probability of success as variable. JRSS B 10:257-261.
Efron, B. & Morris, C. (1975). Data analysis using Stein's estimator and its generalizations.
JASA 70:311-319.
Williams, D. A. (1982). Extra-binomial variation in logistic linear models. Applied Statistics
31:144-148.
Ferrari, S. & Cribari-Neto, F. (2004). Beta regression for modelling rates and proportions. Journal
of Applied Statistics 31:799-815.
Morris, C. N. (1983). Parametric empirical Bayes inference: theory and applications. JASA 78:47-55.
Kass, R. E. & Steffey, D. (1989). Approximate Bayesian inference in conditionally independent
hierarchical models (parametric empirical Bayes models). JASA 84:717-726.
Gelman, A. et al. (2013). Bayesian Data Analysis, 3rd ed., section 5.3 (beta-binomial model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize, special, stats
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM

from ._validation import as_binomial_counts, as_counts, check_conf_level, check_same_length
from .expected_rate_glm import design_matrix

__all__ = ["EBShrinkResult", "eb_shrink", "betabinomial_loglik"]

_LOG_M_BOUNDS = (np.log(1e-3), np.log(1e9))
_COEFFICIENT_BOUNDS = (-30.0, 30.0)
NO_DISPERSION_LOGLIK = 1e-3


@dataclass(frozen=True)
class EBShrinkResult:
    """Beta-binomial empirical-Bayes fit and per-unit shrunk rates with posterior intervals.

    Without covariates ``alpha``, ``beta`` and ``prior_mean`` are floats; with covariates they are
    per-unit arrays, and ``coefficients`` holds ``b`` (intercept first, then the design's columns)."""

    alpha: float | np.ndarray
    beta: float | np.ndarray
    prior_mean: float | np.ndarray
    prior_size: float
    raw_rate: np.ndarray
    shrunk_rate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    shrinkage: np.ndarray
    conf_level: float
    log_likelihood: float
    converged: bool
    at_boundary: bool
    coefficients: np.ndarray | None = None
    columns: tuple[str, ...] = ()


def betabinomial_loglik(k: Any, n: Any, alpha: float, beta: float) -> float:
    """Beta-binomial log-likelihood ``sum_i log P(k_i | n_i, alpha, beta)`` (scipy.stats.betabinom)."""
    kk = as_counts(k, "k")
    nn = as_counts(n, "n")
    return float(stats.betabinom.logpmf(kk, nn, alpha, beta).sum())


def _negloglik_and_gradient(params: np.ndarray, k: np.ndarray, n: np.ndarray,
                            design: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Minus the beta-binomial log-likelihood over ``(b, log M)`` with ``logit m_i = design_i' b`` (default
    design: the intercept alone, ``b = logit m``), without the constant binomial coefficients, and its
    analytic gradient (digamma terms): one vectorised pass per evaluation instead of finite differences
    over ``scipy.stats.betabinom`` (which evaluates the same ``betaln`` difference)."""
    x = np.ones((len(k), 1)) if design is None else design
    m = special.expit(x @ params[:-1])
    size = np.exp(params[-1])
    a, b = m * size, (1.0 - m) * size
    value = -(special.betaln(k + a, n - k + b) - special.betaln(a, b)).sum()
    if not np.isfinite(value):
        return 1e300, np.zeros(len(params))
    psi_ab, psi_nab = special.digamma(size), special.digamma(n + size)
    d_a = special.digamma(k + a) - psi_nab - special.digamma(a) + psi_ab  # per unit
    d_b = special.digamma(n - k + b) - psi_nab - special.digamma(b) + psi_ab
    dm = m * (1.0 - m) * size  # d a_i / d eta_i = -d b_i / d eta_i
    gradient = np.concatenate((x.T @ (dm * (d_a - d_b)), [(a * d_a + b * d_b).sum()]))
    return float(value), -gradient


def _moment_start(k: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    m = float(np.clip(k.sum() / n.sum(), 1e-6, 1 - 1e-6))
    p = k / n
    var_between = float(np.average((p - m) ** 2, weights=n))
    binomial_part = m * (1 - m) * float(np.mean(1.0 / n))
    rho = (var_between - binomial_part) / max(m * (1 - m) - binomial_part, 1e-12)
    rho = float(np.clip(rho, 1e-6, 0.99))
    return float(special.logit(m)), float(np.clip(np.log(1.0 / rho - 1.0), *_LOG_M_BOUNDS))


def eb_shrink(k: Any, n: Any, covariates: Any = None, *, conf_level: float = 0.95,
              interval: Literal["plug_in", "adjusted"] = "plug_in") -> EBShrinkResult:
    """Beta-binomial empirical-Bayes shrinkage of the rates ``k/n`` (see module docstring).

    Parameters
    ----------
    k : array-like of int
        Events per unit (0 <= k <= n).
    n : array-like of int
        Trials per unit (n >= 1).
    covariates : DataFrame or 2-D array, optional
        Covariates of the prior mean (one row per unit, no intercept: ``design_matrix`` adds it);
        default none (one prior mean for all units).
    conf_level : float
        Probability of the equal-tailed posterior intervals (default 0.95).
    interval : {"plug_in", "adjusted"}
        Posterior with the fitted prior, or with the prior's uncertainty added (module docstring).

    Raises
    ------
    ValueError
        On invalid counts, fewer than two units, or when all units have k = 0 (or all k = n):
        the beta prior cannot be estimated then.
    """
    conf_level = check_conf_level(conf_level)
    if interval not in ("plug_in", "adjusted"):
        raise ValueError(f"interval must be 'plug_in' or 'adjusted', got {interval!r}")
    kk, nn = as_binomial_counts(k, n)
    if len(kk) < 2:
        raise ValueError("empirical Bayes needs at least two units")
    if kk.sum() == 0 or kk.sum() == nn.sum():
        raise ValueError("empirical Bayes needs at least one event and one non-event overall")

    design, columns = None, ()
    if covariates is not None:
        frame = design_matrix(covariates)
        check_same_length(len(kk), covariates=frame)
        design, columns = frame.to_numpy(float), tuple(frame.columns)
    width = 1 if design is None else design.shape[1]

    start_logit, start_logm = _moment_start(kk, nn)
    start = np.zeros(width + 1)
    # mean coefficients from the binomial fit of the same mean model (the pooled logit without covariates)
    start[:-1] = start_logit if design is None else _binomial_glm(kk, nn, design).params
    best = None
    for logm0 in (start_logm, 0.0, np.log(100.0)):
        start[-1] = logm0
        res = optimize.minimize(
            _negloglik_and_gradient,
            x0=start.copy(),
            args=(kk, nn, design),
            jac=True,
            method="L-BFGS-B",
            bounds=[_COEFFICIENT_BOUNDS] * width + [_LOG_M_BOUNDS],
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    eta = best.x[0] if design is None else design @ best.x[:-1]
    m = special.expit(eta)
    size = float(np.exp(best.x[-1]))
    loglik = betabinomial_loglik(kk, nn, m * size, (1.0 - m) * size)
    # The beta-binomial tends to the binomial of the same mean model as M -> infinity. The likelihood is
    # flat far out, so the optimiser stops at some large finite M (1e6 to 1e9, wherever the gradient
    # vanishes): when the fit is no more likely than the binomial limit, within NO_DISPERSION_LOGLIK
    # (a likelihood ratio of 1.001, far below any evidence), report the boundary solution (no
    # over-dispersion) explicitly, whatever finite M the optimiser stopped at.
    binomial_mean = _binomial_mean(kk, nn, design)
    binomial_loglik = float(stats.binom.logpmf(kk, nn, binomial_mean).sum())
    at_boundary = bool(best.x[-1] >= _LOG_M_BOUNDS[1] - 1e-6 or binomial_loglik >= loglik - NO_DISPERSION_LOGLIK)
    if at_boundary:
        m, size = binomial_mean, float(np.exp(_LOG_M_BOUNDS[1]))
        loglik = max(loglik, binomial_loglik)
    coefficients = None
    if design is None:
        m = float(m)
    else:
        coefficients = best.x[:-1]
    alpha, beta = m * size, (1.0 - m) * size

    prior, effective = (m, size) if interval == "plug_in" else _adjusted_prior(kk, nn, design, best.x)
    a_post = kk + prior * effective
    b_post = nn - kk + (1.0 - prior) * effective
    tail = (1.0 - conf_level) / 2.0
    return EBShrinkResult(
        alpha=alpha,
        beta=beta,
        prior_mean=m,
        prior_size=size,
        raw_rate=kk / nn,
        shrunk_rate=a_post / (nn + effective),
        lower=stats.beta.ppf(tail, a_post, b_post),
        upper=stats.beta.ppf(1.0 - tail, a_post, b_post),
        shrinkage=effective / (nn + effective),
        conf_level=conf_level,
        log_likelihood=loglik,
        converged=bool(best.success),
        at_boundary=at_boundary,
        coefficients=coefficients,
        columns=columns,
    )


def _binomial_mean(k: np.ndarray, n: np.ndarray, design: np.ndarray | None) -> float | np.ndarray:
    """The binomial limit's mean: the pooled rate, or the binomial GLM's fitted rates on the design."""
    if design is None:
        return float(k.sum() / n.sum())
    return np.clip(np.asarray(_binomial_glm(k, n, design).fittedvalues, dtype=float), 1e-12, 1 - 1e-12)


def _binomial_glm(k: np.ndarray, n: np.ndarray, design: np.ndarray):
    return GLM(np.column_stack([k, n - k]), design, family=Binomial()).fit()


def _profile(log_size: float, k: np.ndarray, n: np.ndarray, design: np.ndarray | None,
             start: np.ndarray) -> tuple[float, np.ndarray]:
    """Minus the log-likelihood maximised over the mean coefficients at a fixed ``log M``, and those."""
    def objective(coefficients):
        value, gradient = _negloglik_and_gradient(np.append(coefficients, log_size), k, n, design)
        return value, gradient[:-1]

    res = optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                            bounds=[_COEFFICIENT_BOUNDS] * len(start), options={"maxiter": 2000})
    return float(res.fun), res.x


def _adjusted_prior(k: np.ndarray, n: np.ndarray, design: np.ndarray | None,
                    fitted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean and per-unit size of the ``"adjusted"`` intervals (module docstring): ``M`` at the lower
    end of its 95 % profile-likelihood interval, the variance of the fitted mean added."""
    x = np.ones((len(k), 1)) if design is None else design
    log_hat = min(float(fitted[-1]), _LOG_M_BOUNDS[1])
    best, coefficients = _profile(log_hat, k, n, design, fitted[:-1])
    target = best + stats.chi2.ppf(0.95, 1) / 2.0
    gap = lambda log_size: _profile(log_size, k, n, design, coefficients)[0] - target  # noqa: E731
    low = _LOG_M_BOUNDS[0]
    if gap(low) > 0:
        low = optimize.brentq(gap, low, log_hat, xtol=1e-4)
    _, coefficients = _profile(low, k, n, design, coefficients)
    # observed information of the mean coefficients at M_lo: central differences of the analytic gradient
    point, step, width = np.append(coefficients, low), 1e-5, len(coefficients)
    information = np.empty((width, width))
    for j in range(width):
        shift = np.zeros(width + 1)
        shift[j] = step
        information[:, j] = (_negloglik_and_gradient(point + shift, k, n, design)[1][:width]
                             - _negloglik_and_gradient(point - shift, k, n, design)[1][:width]) / (2 * step)
    covariance = np.linalg.pinv((information + information.T) / 2.0)
    m = special.expit(x @ coefficients)
    spread = m * (1.0 - m)
    variance = spread / (np.exp(low) + 1.0) + spread**2 * np.einsum("ij,jk,ik->i", x, covariance, x)
    return m, np.maximum(spread / variance - 1.0, np.exp(_LOG_M_BOUNDS[0]))
