"""Slope index of inequality (SII) and relative index of inequality (RII) on the IPS ridit.

Each unit (school) gets its weighted ridit ``r`` (``ridit.py``: 0 = lowest IPS, 1 = highest).
The outcome is regressed on ``r`` with the units' weights and the fitted line (or curve) is
read at the two ends of the social scale.

Models
------
``model="linear"``: weighted least squares ``y = a + b r`` (statsmodels WLS, weights ``w``)::

    SII = pred(1) - pred(0) = b
    RII = pred(1) / pred(0) = (a + b) / a        (HEAT / WHO healthequal definition;
                                                  NaN if a predicted end-point is <= 0)

``model="logit"``: quasi-binomial GLM ``logit E[y] = a + b r`` (statsmodels GLM, Binomial family,
logit link, ``var_weights = w`` so that ``w*y`` is the number of successes out of ``w``; the
dispersion is estimated by Pearson chi2 / residual df, i.e. ``scale="X2"``)::

    p(r) = expit(a + b r);   SII = p(1) - p(0);   RII = p(1) / p(0)

Separation: a logit fit whose data are (quasi-)completely separated along the ridit has no
maximum-likelihood estimate (``separation.py``); ``sii_rii`` raises ``SeparationError`` instead of
returning the SII of +-1 and the RII of 0 or 1e292 the optimiser stops at. ``overlap`` reports how many
accounts keep the data from separation (NaN for the linear model, which always has an estimate).

Intervals: Wald intervals from the delta method, normal quantile ``z = Phi^-1(1 - (1-conf)/2)``.
SII: gradient of ``p(1) - p(0)`` w.r.t. (a, b); RII: interval for ``ln RII`` then exponentiated.
Covariance: model-based by default (``cov_type="nonrobust"``: WLS residual variance, or the
Pearson-scaled GLM covariance); ``"HC0"`` or ``"HC1"`` give sandwich covariances, with HC1 =
HC0 * n/(n-2) as in R ``sandwich::vcovHC(type="HC1")``.

References
----------
Mackenbach, J. P. & Kunst, A. E. (1997). Measuring the magnitude of socio-economic
inequalities in health. Soc Sci Med 44:757-771.
Schlotheuber, A. & Hosseinpoor, A. R. (2022). Summary measures of health inequality.
IJERPH 19(6):3697; WHO Health Equity Assessment Toolkit (HEAT) technical notes.

Differences from WHO healthequal (``R/sii.R``, ``R/rii.R``; documented and tested)
-------------------------------------------------------------------------------------
1. healthequal's logistic model is ``glm(cbind(y, ny) ~ rank, weights = pop, quasibinomial)``
   with ``y = round(est * pop)``. R multiplies prior weights by the binomial totals for a
   two-column response, so each subgroup is weighted by ``pop^2`` instead of ``pop``. The
   textbook (binomial counts ``y`` out of ``pop``) weights by ``pop``, which this module does.
   Passing ``pop**2`` as regression weights to ``sii_rii_from_ridit`` reproduces healthequal.
2. healthequal's intervals use the HC1 sandwich covariance; the default here is the model-based
   quasi-binomial covariance requested for the Observatoire (``cov_type="HC1"`` reproduces theirs).
3. healthequal rounds ``est * pop`` to whole counts; rates are used as given here.
4. healthequal reports ``se`` on the 0-1 scale while the SII and its bounds are multiplied by
   the indicator scale (100 for %); here everything is on the scale of ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special, stats
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import WLS
from statsmodels.tools.tools import add_constant

from ._validation import (
    as_float_array,
    as_weights,
    check_conf_level,
    check_same_length,
)
from .ridit import ridit
from .separation import logit_overlap

__all__ = ["SeparationError", "SiiRiiResult", "sii_rii", "sii_rii_from_ridit"]

Model = Literal["linear", "logit"]
CovType = Literal["nonrobust", "HC0", "HC1"]


class SeparationError(ValueError):
    """The logit fit's data are separated along the ranking: the SII / RII have no estimate."""


@dataclass(frozen=True)
class SiiRiiResult:
    """SII and RII with Wald confidence intervals (SII on the scale of ``y``)."""

    model: str
    sii: float
    sii_se: float
    sii_lower: float
    sii_upper: float
    rii: float
    log_rii_se: float
    rii_lower: float
    rii_upper: float
    predicted_at_0: float
    predicted_at_1: float
    intercept: float
    slope: float
    scale: float
    conf_level: float
    cov_type: str
    n_units: int
    overlap: float = float("nan")  # logit: accounts whose removal would separate the data


def sii_rii(
    y: Any,
    weights: Any,
    rank: Any,
    model: Model = "linear",
    *,
    conf_level: float = 0.95,
    cov_type: CovType = "nonrobust",
) -> SiiRiiResult:
    """SII and RII of ``y`` on the weighted ridit of ``rank`` (see module docstring).

    Parameters
    ----------
    y : array-like
        Outcome per unit; for ``model="logit"`` a proportion in [0, 1].
    weights : array-like
        Non-negative weights (loaded parent accounts): used both for the ridit and the regression.
    rank : array-like
        Ranking variable (IPS), higher = more advantaged.
    model : {"linear", "logit"}
    conf_level : float
        Confidence level of the Wald intervals (default 0.95).
    cov_type : {"nonrobust", "HC0", "HC1"}
        Covariance of the coefficients (default model-based).
    """
    yy = as_float_array(y, "y")
    rk = as_float_array(rank, "rank")
    check_same_length(len(yy), rank=rk)
    w = as_weights(weights, len(yy))
    return sii_rii_from_ridit(yy, w, ridit(rk, w), model, conf_level=conf_level, cov_type=cov_type)


def sii_rii_from_ridit(
    y: Any,
    weights: Any,
    ridits: Any,
    model: Model = "linear",
    *,
    conf_level: float = 0.95,
    cov_type: CovType = "nonrobust",
) -> SiiRiiResult:
    """SII and RII from ridits already computed (regression weights may differ from ridit weights).

    Same models and outputs as ``sii_rii``; ``ridits`` must lie in [0, 1]. Used to reproduce
    healthequal's squared weights (regress with ``pop**2`` on ridits computed from ``pop``).
    """
    conf_level = check_conf_level(conf_level)
    yy = as_float_array(y, "y")
    r = as_float_array(ridits, "ridits")
    check_same_length(len(yy), ridits=r)
    w = as_weights(weights, len(yy))
    if (r < 0).any() or (r > 1).any():
        raise ValueError("ridits must lie in [0, 1]")
    if len(np.unique(r[w > 0])) < 2:
        raise ValueError("the SII/RII needs at least two distinct ranks with a positive weight")
    if cov_type not in ("nonrobust", "HC0", "HC1"):
        raise ValueError(f"cov_type must be 'nonrobust', 'HC0' or 'HC1', got {cov_type!r}")
    keep = w > 0  # units with zero weight carry no information and must not count in the df
    yy, r, w = yy[keep], r[keep], w[keep]
    if len(yy) < 3:
        raise ValueError("the SII/RII needs at least three units with a positive weight (to estimate the scale)")
    exog = add_constant(r, has_constant="add")
    n_obs = len(yy)
    sm_cov = "nonrobust" if cov_type == "nonrobust" else "HC0"

    if model == "linear":
        fit = WLS(yy, exog, weights=w).fit(cov_type=sm_cov)
        scale = float(fit.scale)
    elif model == "logit":
        if (yy < 0).any() or (yy > 1).any():
            raise ValueError("model='logit' needs y to be proportions in [0, 1]")
        ybar = float(np.dot(w, yy) / w.sum())
        if ybar <= 0 or ybar >= 1:
            raise ValueError("model='logit' needs a weighted mean rate strictly between 0 and 1")
        overlap = logit_overlap(yy, w, r)
        if overlap == 0:
            raise SeparationError("the rates are separated along the ranking (0 below a threshold, 1 above it, "
                                  "or the reverse): the logit SII/RII has no estimate")
        if np.ptp(yy) == 0:
            # Equal rates: the flat curve fits exactly (no inequality, zero Pearson dispersion), which
            # statsmodels' IRLS cannot start from (its first deviance divides by a zero scale).
            params, cov, scale = np.array([float(special.logit(ybar)), 0.0]), np.zeros((2, 2)), 0.0
        else:
            glm = GLM(yy, exog, family=Binomial(), var_weights=w)
            fit = glm.fit(scale="X2") if sm_cov == "nonrobust" else glm.fit(scale="X2", cov_type="HC0")
            params, cov, scale = fit.params, np.asarray(fit.cov_params(), dtype=float), float(fit.scale)
    else:
        raise ValueError(f"model must be 'linear' or 'logit', got {model!r}")
    if model == "linear":
        params, cov = fit.params, np.asarray(fit.cov_params(), dtype=float)

    a, b = (float(v) for v in params)
    if cov_type == "HC1":
        if n_obs <= 2:
            raise ValueError("HC1 needs more than two units with a positive weight")
        cov = cov * n_obs / (n_obs - 2)

    if model == "linear":
        p0, p1 = a, a + b
        grad_sii = np.array([0.0, 1.0])
        grad_log_rii = np.array([1.0 / p1 - 1.0 / p0, 1.0 / p1]) if p0 > 0 and p1 > 0 else None
    else:
        p0, p1 = float(special.expit(a)), float(special.expit(a + b))
        grad_sii = np.array([p1 * (1 - p1) - p0 * (1 - p0), p1 * (1 - p1)])
        grad_log_rii = np.array([p0 - p1, 1.0 - p1])

    z = float(stats.norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    sii = p1 - p0
    sii_se = float(np.sqrt(max(grad_sii @ cov @ grad_sii, 0.0)))
    if grad_log_rii is None:
        # RII undefined when a predicted end-point is not positive (linear model only).
        rii = log_rii_se = rii_lower = rii_upper = float("nan")
    else:
        rii = p1 / p0
        log_rii_se = float(np.sqrt(max(grad_log_rii @ cov @ grad_log_rii, 0.0)))
        rii_lower = float(np.exp(np.log(rii) - z * log_rii_se))
        rii_upper = float(np.exp(np.log(rii) + z * log_rii_se))
    return SiiRiiResult(
        model=model,
        sii=float(sii),
        sii_se=sii_se,
        sii_lower=float(sii - z * sii_se),
        sii_upper=float(sii + z * sii_se),
        rii=float(rii),
        log_rii_se=log_rii_se,
        rii_lower=rii_lower,
        rii_upper=rii_upper,
        predicted_at_0=float(p0),
        predicted_at_1=float(p1),
        intercept=a,
        slope=b,
        scale=scale,
        conf_level=conf_level,
        cov_type=cov_type,
        n_units=n_obs,
        overlap=overlap if model == "logit" else float("nan"),
    )
