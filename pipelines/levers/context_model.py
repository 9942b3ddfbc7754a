"""Context model: school-year parent active rates on school context, with académie fixed effects.

Quasi-binomial GLM (statsmodels GLM, binomial family, logit link) of the school rates ``active / loaded``,
one weight per school (the variation between schools, not the binomial noise within one, sets the
precision: weighting by accounts understated the intervals in recovery tests), dispersion = Pearson
chi² / residual df::

    logit p_s = alpha[academie_s] + x_s' beta + gamma · workshop_s

``x`` holds the covariates of ``design`` (IPS per national sd, household equipment and teacher training
rates per unit 0 → 1, secteur, éducation prioritaire, rurality, level); ``workshop`` = the school held a
mediation workshop this school year. Intervals are Wald intervals on the dispersion-scaled covariance.

Each académie's effect "à contexte comparable" is its intercept minus the parent-weighted national mean of
the intercepts (logit), and in points the difference between the académie's predicted rate and the rate its
schools would have with that national mean intercept (delta-method intervals).

Observational data: the coefficients are adjusted associations, not causal effects, unless every
confounder of a lever is among the covariates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit

from pipelines.levers.design import drop_constant

WORKSHOP = "workshop"


@dataclass(frozen=True)
class ContextFit:
    """The fitted model and what it needs to predict for its schools."""

    result: sm.GLM
    exog: pd.DataFrame  # covariates, workshop and one column per académie (rows: the schools used)
    schools: pd.DataFrame  # the schools used (uai, academie_code, loaded, active, ...), same rows
    academies: list[str]
    covariate_names: list[str]

    @property
    def params(self) -> pd.Series:
        return self.result.params

    def linear_predictor(self, exog: pd.DataFrame | None = None) -> np.ndarray:
        return (self.exog if exog is None else exog).to_numpy(dtype=float) @ self.params.to_numpy()

    def national_intercept_weights(self) -> pd.Series:
        """Parent-account share of each académie among the schools used (weights of the national mean)."""
        loaded = self.schools.groupby("academie_code")["loaded"].sum().reindex(self.academies)
        return loaded / loaded.sum()


def academie_columns(codes: pd.Series, academies: list[str]) -> pd.DataFrame:
    return pd.DataFrame({f"academie_{a}": codes.eq(a).astype(float).to_numpy() for a in academies}, index=codes.index)


def fit_context_model(schools: pd.DataFrame, x: pd.DataFrame, start: pd.Series | None = None) -> ContextFit:
    """Fit the GLM on the schools of ``x`` (index: rows of ``schools``); ``schools`` needs academie_code,
    loaded, active and workshop_date (NaT without workshop). ``start``: starting values (by name) for
    IRLS, e.g. the full-sample fit when refitting bootstrap samples."""
    s = schools.loc[x.index]
    s = s[s["loaded"] > 0]
    covariates = drop_constant(x.loc[s.index])
    academies = sorted(s["academie_code"].unique())
    exog = pd.concat([covariates, s["workshop_date"].notna().astype(float).rename(WORKSHOP),
                      academie_columns(s["academie_code"], academies)], axis=1)
    exog = exog.loc[:, (exog != 0).any()]
    # One weight per school: the between-school variation dominates the binomial noise of a school's rate,
    # so weighting by accounts would let big schools speak for more than they know (and understate the
    # intervals); the dispersion is then estimated on the rates' scale.
    rate = (s["active"] / s["loaded"]).to_numpy(float)
    start_params = None if start is None else start.reindex(exog.columns).fillna(0.0).to_numpy()
    result = sm.GLM(rate, exog, family=sm.families.Binomial()).fit(scale="X2", start_params=start_params)
    return ContextFit(result, exog, s, academies, [c for c in covariates.columns])


def coefficient_table(fit: ContextFit, conf: float = 0.95) -> pd.DataFrame:
    """Logit coefficients of the covariates and the workshop, with Wald intervals."""
    names = [*fit.covariate_names, *([WORKSHOP] if WORKSHOP in fit.exog else [])]
    est, se = fit.params[names], fit.result.bse[names]
    z = stats.norm.ppf(0.5 + conf / 2)
    return pd.DataFrame({"term": names, "estimate": est.to_numpy(), "se": se.to_numpy(),
                         "ci_low": (est - z * se).to_numpy(), "ci_high": (est + z * se).to_numpy()})


def _contrast(fit: ContextFit, academie: str) -> np.ndarray:
    """Row vector L with L·theta = intercept of ``academie`` minus the national mean intercept."""
    weights = fit.national_intercept_weights()
    contrast = pd.Series(0.0, index=fit.params.index)
    contrast[[f"academie_{a}" for a in fit.academies]] = -weights.to_numpy()
    contrast[f"academie_{academie}"] += 1.0
    return contrast.to_numpy()


def average_effect_points(fit: ContextFit, rows: np.ndarray, shift: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted mean over ``rows`` of expit(eta) - expit(eta - shift·theta), in points, and its gradient in theta."""
    theta = fit.params.to_numpy()
    x = fit.exog.to_numpy(dtype=float)[rows]
    eta = x @ theta
    delta = float(shift @ theta)
    w = weights / weights.sum()
    value = float(w @ (expit(eta) - expit(eta - delta)))
    d1, d0 = expit(eta) * (1 - expit(eta)), expit(eta - delta) * (1 - expit(eta - delta))
    gradient = (w * d1) @ x - (w * d0) @ (x - shift[None, :])
    return 100 * value, 100 * gradient


def academie_effects(fit: ContextFit, conf: float = 0.95) -> pd.DataFrame:
    """Each académie's effect à contexte comparable, in logit and in points, with intervals."""
    z = stats.norm.ppf(0.5 + conf / 2)
    cov = fit.result.cov_params().to_numpy()
    codes = fit.schools["academie_code"].to_numpy()
    loaded = fit.schools["loaded"].to_numpy(dtype=float)
    rows = []
    for academie in fit.academies:
        contrast = _contrast(fit, academie)
        logit, logit_se = float(contrast @ fit.params.to_numpy()), float(np.sqrt(contrast @ cov @ contrast))
        mine = codes == academie
        points, gradient = average_effect_points(fit, mine, contrast, loaded[mine])
        points_se = float(np.sqrt(gradient @ cov @ gradient))
        rows.append({"academie_code": academie, "n_schools": int(mine.sum()),
                     "logit": logit, "logit_ci_low": logit - z * logit_se, "logit_ci_high": logit + z * logit_se,
                     "points": points, "points_ci_low": points - z * points_se, "points_ci_high": points + z * points_se})
    return pd.DataFrame(rows)


def lever_points(fit: ContextFit, term: str, step: float, conf: float = 0.95) -> tuple[float, float, float]:
    """Mean change in points of the schools' predicted rate when ``term`` rises by ``step`` (the workshop:
    from none to one, among the schools that held one), with a delta-method interval."""
    shift = pd.Series(0.0, index=fit.params.index)
    shift[term] = step
    if term == WORKSHOP:
        rows = fit.exog[WORKSHOP].to_numpy() == 1
        value, gradient = average_effect_points(fit, rows, shift.to_numpy(), np.ones(rows.sum()))
    else:
        rows = np.ones(len(fit.exog), dtype=bool)
        exog = fit.exog.copy()
        exog[term] += step  # predicted at +step against predicted as observed
        shifted = ContextFit(fit.result, exog, fit.schools, fit.academies, fit.covariate_names)
        value, gradient = average_effect_points(shifted, rows, shift.to_numpy(), np.ones(rows.sum()))
    se = float(np.sqrt(gradient @ fit.result.cov_params().to_numpy() @ gradient))
    z = stats.norm.ppf(0.5 + conf / 2)
    return value, value - z * se, value + z * se
