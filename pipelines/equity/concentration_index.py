"""Concentration index family: relative (CI), absolute (ACI), Wagstaff and Erreygers.

Notation: units i (schools) with outcome ``y_i`` (e.g. an adoption rate), weight ``w_i``
(loaded parent accounts), ``W = sum(w)``, weighted mean ``mu = sum(w*y)/W`` and weighted
fractional rank ``r_i = ridit(rank, w)`` (mid-point of the unit's cumulative weight share,
lowest IPS first; see ``ridit.py``).

Formulas (covariance form)
--------------------------
* relative concentration index  ``CI  = 2 * cov_w(y, r) / mu``
  where ``cov_w(y, r) = sum(w * (y - mu) * (r - rbar)) / W`` and ``rbar = 1/2``;
* absolute concentration index  ``ACI = mu * CI = 2 * cov_w(y, r)``;
* Wagstaff (2005) correction for a variable bounded in ``[a, b]``:
  ``W = (b - a) * mu * CI / ((b - mu) * (mu - a))``  (``= CI / (1 - mu)`` for a rate in [0, 1]);
* Erreygers (2009) correction: ``E = 4 * mu * CI / (b - a)``  (``= 4 * ACI`` for a rate in [0, 1]).

CI > 0: the outcome is concentrated among advantaged (high-IPS) schools; CI < 0: among the
disadvantaged. For ``y >= 0`` the relative CI lies in [-1, 1].

Convenient regression (for standard errors)
-------------------------------------------
``CI`` is also the slope of the weighted least-squares regression of
``2 * var_w(r) * y / mu`` on ``r`` (Kakwani, Wagstaff & van Doorslaer 1997;
O'Donnell et al. 2008, ch. 8). ``concentration_index_with_se`` fits that regression with
statsmodels WLS and returns the model-based standard error, treating ``mu`` as fixed (as the
WHO healthequal package does in ``R/rci.R`` and ``R/aci.R``, whose test values it reproduces).

References
----------
Kakwani, N., Wagstaff, A. & van Doorslaer, E. (1997). Socioeconomic inequalities in health:
measurement, computation and statistical inference. J Econometrics 77:87-103.
O'Donnell, O., van Doorslaer, E., Wagstaff, A. & Lindelow, M. (2008). Analyzing Health Equity
Using Household Survey Data. World Bank, chapter 8.
Wagstaff, A. (2005). The bounds of the concentration index when the variable of interest is
binary. Health Economics 14:429-432.
Erreygers, G. (2009). Correcting the concentration index. J Health Economics 28:504-515.
Schlotheuber, A. & Hosseinpoor, A. R. (2022). IJERPH 19(6):3697 (WHO healthequal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats
from statsmodels.regression.linear_model import WLS
from statsmodels.tools.tools import add_constant

from ._validation import (
    as_float_array,
    as_weights,
    check_bounds,
    check_conf_level,
    check_same_length,
)
from .ridit import ridit

__all__ = [
    "ConcentrationIndexEstimate",
    "absolute_concentration_index",
    "concentration_index",
    "concentration_index_with_se",
    "erreygers_index",
    "wagstaff_index",
]


def _prepare(y: Any, weights: Any, rank: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yy = as_float_array(y, "y")
    rk = as_float_array(rank, "rank")
    check_same_length(len(yy), rank=rk)
    w = as_weights(weights, len(yy))
    r = ridit(rk, w)
    return yy, w, r


def _mean_and_cov(y: np.ndarray, w: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    total = w.sum()
    mu = float(np.dot(w, y) / total)
    rbar = float(np.dot(w, r) / total)
    cov = float(np.dot(w, (y - mu) * (r - rbar)) / total)
    return mu, cov


def concentration_index(y: Any, weights: Any, rank: Any) -> float:
    """Relative concentration index ``CI = 2 cov_w(y, r) / mu`` on the weighted ridit ``r``.

    Parameters
    ----------
    y : array-like
        Outcome per unit (e.g. activation rate of the school).
    weights : array-like
        Non-negative weights (loaded parent accounts).
    rank : array-like
        Ranking variable (IPS); ties share the same ridit.

    Raises
    ------
    ValueError
        On invalid input, or when the weighted mean of ``y`` is zero (CI undefined).
    """
    yy, w, r = _prepare(y, weights, rank)
    mu, cov = _mean_and_cov(yy, w, r)
    if mu == 0:
        raise ValueError("the relative concentration index is undefined when the weighted mean of y is 0")
    return 2.0 * cov / mu


def absolute_concentration_index(y: Any, weights: Any, rank: Any) -> float:
    """Absolute concentration index ``ACI = mu * CI = 2 cov_w(y, r)`` (same units as ``y``)."""
    yy, w, r = _prepare(y, weights, rank)
    _, cov = _mean_and_cov(yy, w, r)
    return 2.0 * cov


def wagstaff_index(y: Any, weights: Any, rank: Any, lower: float = 0.0, upper: float = 1.0) -> float:
    """Wagstaff-normalised concentration index for a variable bounded in ``[lower, upper]``.

    ``W = (b - a) * mu * CI / ((b - mu) * (mu - a)) = 2 (b - a) cov_w(y, r) / ((b - mu)(mu - a))``;
    for a rate in [0, 1] this is ``CI / (1 - mu)`` (Wagstaff 2005). Equals the relative CI of the
    normalised variable ``(y - a)/(b - a)`` divided by one minus its mean, as in healthequal
    ``rci(method = "wagstaff", lmin, lmax)``. Lies in [-1, 1].

    Raises
    ------
    ValueError
        If some ``y`` fall outside the bounds or the weighted mean equals a bound (undefined).
    """
    yy, w, r = _prepare(y, weights, rank)
    a, b = check_bounds(yy, lower, upper)
    mu, cov = _mean_and_cov(yy, w, r)
    if mu <= a or mu >= b:
        raise ValueError("the Wagstaff index is undefined when the weighted mean of y equals a bound")
    return 2.0 * (b - a) * cov / ((b - mu) * (mu - a))


def erreygers_index(y: Any, weights: Any, rank: Any, lower: float = 0.0, upper: float = 1.0) -> float:
    """Erreygers-corrected concentration index ``E = 4 mu CI / (b - a) = 8 cov_w(y, r) / (b - a)``.

    For a rate in [0, 1] this is ``4 * ACI`` (Erreygers 2009). Defined even when the mean is 0.

    Raises
    ------
    ValueError
        If some ``y`` fall outside ``[lower, upper]``.
    """
    yy, w, r = _prepare(y, weights, rank)
    a, b = check_bounds(yy, lower, upper)
    _, cov = _mean_and_cov(yy, w, r)
    return 8.0 * cov / (b - a)


@dataclass(frozen=True)
class ConcentrationIndexEstimate:
    """A concentration index with its standard error and Wald confidence interval."""

    kind: str
    estimate: float
    se: float
    lower: float
    upper: float
    conf_level: float


def concentration_index_with_se(
    y: Any,
    weights: Any,
    rank: Any,
    kind: Literal["relative", "absolute", "wagstaff", "erreygers"] = "relative",
    *,
    lower: float = 0.0,
    upper: float = 1.0,
    conf_level: float = 0.95,
) -> ConcentrationIndexEstimate:
    """Concentration index by the convenient regression, with standard error and CI.

    Fits (statsmodels WLS, weights ``w``) ``lhs_i = alpha + beta * r_i`` where

    * relative:  ``lhs = 2 var_w(r) y / mu``  (beta = CI)
    * absolute:  ``lhs = 2 var_w(r) y``       (beta = ACI)
    * wagstaff:  ``lhs = 2 var_w(r) y* / (mu* (1 - mu*))``  (beta = Wagstaff index)
    * erreygers: ``lhs = 8 var_w(r) y*``      (beta = Erreygers index)

    with ``y* = (y - lower)/(upper - lower)`` and ``mu*`` its weighted mean; ``var_w(r)`` is the
    weighted variance of the ridit. The point estimate equals the covariance-form functions; the
    standard error is the model-based WLS one (``mu`` treated as fixed), the interval is
    ``estimate -/+ z_{1-(1-conf_level)/2} * se``. This reproduces WHO healthequal ``aci()``/``rci()``
    for grouped data (their ``glm(lhs ~ 0 + rhs + intercept)`` on sqrt(pop)-scaled variables
    is the same weighted regression).
    """
    conf_level = check_conf_level(conf_level)
    yy, w, r = _prepare(y, weights, rank)
    if len(np.unique(r[w > 0])) < 3:
        raise ValueError("a standard error needs at least three distinct ranks with positive weight")
    mu, _ = _mean_and_cov(yy, w, r)
    total = w.sum()
    rbar = float(np.dot(w, r) / total)
    var_r = float(np.dot(w, (r - rbar) ** 2) / total)
    if kind == "relative":
        if mu == 0:
            raise ValueError("the relative concentration index is undefined when the weighted mean of y is 0")
        lhs = 2.0 * var_r * yy / mu
    elif kind == "absolute":
        lhs = 2.0 * var_r * yy
    elif kind in ("wagstaff", "erreygers"):
        a, b = check_bounds(yy, lower, upper)
        ystar = (yy - a) / (b - a)
        mstar = (mu - a) / (b - a)
        if kind == "wagstaff":
            if mstar <= 0 or mstar >= 1:
                raise ValueError("the Wagstaff index is undefined when the weighted mean of y equals a bound")
            lhs = 2.0 * var_r * ystar / (mstar * (1.0 - mstar))
        else:
            lhs = 8.0 * var_r * ystar
    else:
        raise ValueError(f"kind must be 'relative', 'absolute', 'wagstaff' or 'erreygers', got {kind!r}")
    keep = w > 0  # zero-weight units must not count in the residual degrees of freedom
    fit = WLS(lhs[keep], add_constant(r[keep], has_constant="add"), weights=w[keep]).fit()
    estimate = float(fit.params[1])
    se = float(fit.bse[1])
    z = float(stats.norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    return ConcentrationIndexEstimate(kind, estimate, se, estimate - z * se, estimate + z * se, conf_level)
