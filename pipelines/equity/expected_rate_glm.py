"""Expected rate "à IPS comparable": binomial GLM of the school rate on its characteristics.

Model
-----
``k_i ~ Binomial(n_i, pi_i)``, ``logit(pi_i) = x_i' beta`` where ``x_i`` holds an intercept, the
numeric covariates (e.g. IPS) and 0/1 dummies of the categorical ones (secteur, niveau,
rural/urbain...; the reference level is the first category of a pandas Categorical, or the
first in sorted order for string columns). Fitted by maximum likelihood with
statsmodels ``GLM(family=Binomial())`` on the two-column response ``(k, n - k)``; standard
errors use the Pearson chi2 dispersion (``scale="X2"``, quasi-binomial), which does not change
the fitted rates. Per unit::

    expected_i   = expit(x_i' beta_hat)          expected rate given the covariates
    difference_i = k_i/n_i - expected_i          observed - expected ("écart à l'attendu")

With an intercept, ``sum_i n_i * difference_i = 0`` (the score equation of the canonical link):
the model redistributes, it does not shift, the total.

References
----------
McCullagh, P. & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., chapter 4.
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance, Stat Med
24:1185 (indirect standardisation: observed vs expected from a risk-adjustment model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.tools import add_constant

from ._validation import as_binomial_counts, check_same_length

__all__ = ["ExpectedRateResult", "design_matrix", "expected_rate_glm"]


@dataclass(frozen=True)
class ExpectedRateResult:
    """Observed and expected rates per unit, their difference, and the fitted coefficients."""

    observed: np.ndarray
    expected: np.ndarray
    difference: np.ndarray
    expected_events: np.ndarray
    params: pd.Series
    bse: pd.Series
    scale: float
    converged: bool


def design_matrix(covariates: Any) -> pd.DataFrame:
    """Design matrix (float) with an intercept column ``const``.

    * ``pandas.DataFrame``: numeric columns are kept; booleans become 0/1; categorical, string
      and object columns become dummies with the first level dropped (``pandas.get_dummies``:
      first category of a Categorical, first in sorted order otherwise).
    * 2-D (or 1-D) numeric array: columns ``x1, x2, ...`` kept as they are.

    Raises ``ValueError`` on missing values.
    """
    if isinstance(covariates, pd.Series):
        covariates = covariates.to_frame()
    if isinstance(covariates, pd.DataFrame):
        frame = covariates.reset_index(drop=True)
        if frame.isna().to_numpy().any():
            raise ValueError("covariates contain missing values")
        categorical = [
            c
            for c in frame.columns
            if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
        ]
        design = pd.get_dummies(frame, columns=categorical, drop_first=True, dtype=float)
        design = design.astype(float)
    else:
        arr = np.asarray(covariates, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"covariates must be a DataFrame or a 2-D array, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("covariates contain missing or infinite values")
        design = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
    design.columns = [str(c) for c in design.columns]
    return add_constant(design, has_constant="add", prepend=True)


def expected_rate_glm(k: Any, n: Any, covariates: Any) -> ExpectedRateResult:
    """Binomial-GLM expected rate per unit and observed - expected (see module docstring).

    Parameters
    ----------
    k, n : array-like of int
        Events (e.g. activated or active parent accounts) and denominators (loaded accounts).
    covariates : pandas.DataFrame or array
        One row per unit, e.g. columns ``ips`` (numeric), ``secteur``, ``niveau``, ``rural``.
    """
    kk, nn = as_binomial_counts(k, n)
    design = design_matrix(covariates)
    check_same_length(len(kk), covariates=design)
    if len(kk) <= design.shape[1]:
        raise ValueError(f"{len(kk)} units cannot identify {design.shape[1]} coefficients")
    endog = np.column_stack([kk, nn - kk])
    fit = GLM(endog, design, family=Binomial()).fit(scale="X2")
    expected = np.asarray(fit.predict(design), dtype=float)
    observed = kk / nn
    return ExpectedRateResult(
        observed=observed,
        expected=expected,
        difference=observed - expected,
        expected_events=expected * nn,
        params=pd.Series(np.asarray(fit.params), index=design.columns),
        bse=pd.Series(np.asarray(fit.bse), index=design.columns),
        scale=float(fit.scale),
        converged=bool(fit.converged),
    )
