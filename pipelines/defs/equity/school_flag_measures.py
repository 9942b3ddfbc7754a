"""The rows of ``school_flags``: per school × period × profile, the empirical-Bayes shrunk rate, the
expected rate "à IPS comparable" and the funnel-plot position, from the pure functions of
``pipelines.equity``.

Reference groups
----------------
* Shrinkage (``eb_shrink``): a beta-binomial regression fitted per period × profile on every school
  given, whose prior mean depends on the IPS (standardised; schools without IPS get the mean and an
  indicator), the level and the académie: each school is shrunk toward comparable schools. Parent
  adoption differs by level far more than by académie (the synthetic model puts écoles 0.9 logit below
  collèges), and a prior whose mean ignores it has its spread fitted across dissimilar schools: its 95 %
  intervals covered the true rate of 72 % of teachers' schools (38 % of lycées) in the demo. An académie
  gets its own coefficient when it holds at least ``MIN_SCHOOLS_LOCAL_FIT`` schools of the fit
  (``eb_scope = 'academie'``); the others share the reference (``eb_scope = 'nation'``): a coefficient
  per académie of 2 or 3 schools would absorb their own rates. ``eb_schools``: schools of the fit.
  Shrunk rates and intervals use ``eb_shrink``'s ``"adjusted"`` prior (the prior's own uncertainty
  added: the between-school spread at the upper end of what the data allow, and the error of the
  fitted prior mean), so that an interval never collapses on the prior mean when the spread is not
  identified (teachers: a median of 9 accounts per school; staff with 1). ``eb_shrinkage`` =
  M_i / (n + M_i) is the weight of the prior in the shrunk rate.
* Funnel (``funnel_limits``): a school is compared with schools of the same level, in its académie ×
  level (``funnel_scope = 'academie'``) when that group holds at least ``MIN_SCHOOLS_LOCAL_FIT`` schools,
  otherwise the nation × level (``funnel_scope = 'nation'``): an académie-wide target would flag every
  école 'bas'. The over-dispersion ``tau2`` is not estimable from a handful of schools, hence the
  threshold of 10.
* The funnel target is the pooled rate (sum active / sum loaded) of the reference group; limits are
  ``funnel_limits``' defaults: arcsine scale, additive (random-effects) over-dispersion, 95 % and
  99.8 %. ``funnel_z`` is the over-dispersion-adjusted z. Flags control the false-discovery rate over
  the whole family of tests of the rows given (every school × period × profile of the release:
  ``fdr_flags``, Benjamini-Hochberg at 5 %): ``funnel_p`` is the two-sided p-value, ``funnel_q`` its BH
  adjustment, ``funnel_flag`` 'haut' / 'bas' where ``funnel_q`` <= 5 %. This is the one funnel of the
  product: the warehouse's ``school_flags``, the serving copy's school rows (fitted on the published
  schools, ``publication/derived.py``) and, through them, the dashboard and the weekly reports.
* The expected rate is ``expected_rate_glm`` fitted nationally per period × profile on ips (numeric),
  secteur, level and rural_urban. Schools with an unknown covariate (no IPS, or no rural/urban class)
  are left out of the fit and get NULL: an 'unknown' class held by a few schools (e.g. one overseas
  académie) would be a free parameter absorbing their residuals, making observed - expected 0 by
  construction.
"""

import warnings

import numpy as np
import pandas as pd

from pipelines.equity import eb_shrink, expected_rate_glm, fdr_flags, funnel_limits

MIN_SCHOOLS_LOCAL_FIT = 10
GLM_COVARIATES = ["ips", "secteur", "level", "rural_urban"]
COLUMNS = [
    "period_type", "period", "profile", "uai", "academie_code", "level", "loaded", "active", "observed_rate",
    "shrunk_rate", "shrunk_low", "shrunk_high", "eb_shrinkage", "eb_scope", "eb_schools",
    "expected_rate", "observed_minus_expected",
    "funnel_scope", "funnel_target", "funnel_z", "funnel_p", "funnel_q", "funnel_flag",
    "funnel_low95", "funnel_high95", "funnel_low998", "funnel_high998",
]
EB_COLUMNS = ["shrunk_rate", "shrunk_low", "shrunk_high", "eb_shrinkage"]  # and eb_scope, eb_schools
FUNNEL_COLUMNS = ["funnel_target", "funnel_z", "funnel_low95", "funnel_high95",
                  "funnel_low998", "funnel_high998"]
DEGENERATE = (ValueError, ArithmeticError, np.linalg.LinAlgError)


def _quiet(fit, *args, **kwargs):
    """Run a fit with statsmodels / numpy warnings silenced; ``None`` when the data are degenerate."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fit(*args, **kwargs)
    except DEGENERATE:
        return None


def expected_rates(schools: pd.DataFrame) -> pd.Series:
    """Expected rate of each school from the national GLM of one period × profile (NaN when a covariate is
    unknown: no IPS, or no rural/urban class)."""
    expected = pd.Series(np.nan, index=schools.index)
    fitted = schools.dropna(subset=GLM_COVARIATES)
    if fitted.empty:
        return expected
    covariates = fitted[GLM_COVARIATES].copy()
    for column in ("secteur", "level", "rural_urban"):
        covariates[column] = covariates[column].astype(str)
    result = _quiet(expected_rate_glm, fitted["active"].to_numpy(float), fitted["loaded"].to_numpy(float),
                    covariates.reset_index(drop=True))
    if result is not None:
        expected.loc[fitted.index] = result.expected
    return expected


def eb_covariates(schools: pd.DataFrame) -> pd.DataFrame:
    """Covariates of the EB prior mean: standardised IPS (0 and an indicator when unknown), level, and the
    académie when it holds at least ``MIN_SCHOOLS_LOCAL_FIT`` of the schools (else 'autres')."""
    ips = schools["ips"].astype(float)
    spread = ips.std()
    covariates = pd.DataFrame(index=schools.index)
    if ips.notna().sum() >= 2 and spread > 0:
        covariates["ips"] = ((ips - ips.mean()) / spread).fillna(0.0)
        if ips.isna().any():
            covariates["ips_unknown"] = ips.isna().astype(float)
    covariates["level"] = schools["level"].fillna("inconnu").astype(str)
    size = schools.groupby("academie_code")["uai"].transform("size")
    covariates["academie"] = schools["academie_code"].astype(str).where(size >= MIN_SCHOOLS_LOCAL_FIT, "autres")
    return covariates


def _eb_frame(schools: pd.DataFrame) -> pd.DataFrame:
    """Shrunk rates of one period × profile from the beta-binomial regression on ``eb_covariates``."""
    n = schools["loaded"].to_numpy(float)
    covariates = eb_covariates(schools)
    fit = _quiet(eb_shrink, schools["active"].to_numpy(float), n, covariates.reset_index(drop=True),
                 interval="adjusted")
    if fit is None:
        return pd.DataFrame(index=schools.index, columns=[*EB_COLUMNS, "eb_scope", "eb_schools"])
    return pd.DataFrame({"shrunk_rate": fit.shrunk_rate, "shrunk_low": fit.lower, "shrunk_high": fit.upper,
                         "eb_shrinkage": fit.shrinkage,
                         "eb_scope": np.where(covariates["academie"] == "autres", "nation", "academie"),
                         "eb_schools": len(schools)}, index=schools.index)


def _funnel_frame(schools: pd.DataFrame) -> pd.DataFrame | None:
    fit = _quiet(funnel_limits, schools["active"].to_numpy(float), schools["loaded"].to_numpy(float))
    if fit is None:
        return None
    limits = fit.additive
    return pd.DataFrame(
        {"funnel_target": fit.target, "funnel_z": fit.z_additive,
         "funnel_low95": limits.lower_95, "funnel_high95": limits.upper_95,
         "funnel_low998": limits.lower_998, "funnel_high998": limits.upper_998},
        index=schools.index,
    )


def _by_reference_group(schools: pd.DataFrame, compute, columns: list[str], prefix: str) -> pd.DataFrame:
    """Apply ``compute`` (schools -> frame of ``columns`` or None) per académie × level when the group is
    large enough, else to the nation × level group; record the scope and the number of schools used.
    Schools for which neither fit is possible get no row (NULL after the join)."""
    scope, used = f"{prefix}_scope", f"{prefix}_schools"
    parts = []
    for _, level_schools in schools.groupby("level", sort=False):
        size = level_schools.groupby("academie_code")["uai"].transform("size")
        done = []
        for _, local in level_schools[size >= MIN_SCHOOLS_LOCAL_FIT].groupby("academie_code", sort=False):
            result = compute(local)
            if result is not None:
                parts.append(result[columns].assign(**{scope: "academie", used: len(local)}))
                done.append(local.index)
        rest = level_schools.index.difference(pd.Index([]).append(done)) if done else level_schools.index
        national = compute(level_schools) if len(rest) and len(level_schools) >= 2 else None
        if national is not None:
            parts.append(national.loc[rest, columns].assign(**{scope: "nation", used: len(level_schools)}))
    return pd.concat(parts) if parts else pd.DataFrame(columns=[*columns, scope, used])


def flag_rows(rates: pd.DataFrame) -> pd.DataFrame:
    """``school_flags`` rows for the school rates of ``school_rates.sql`` (school years and trimesters)."""
    parts = []
    for _, schools in rates.groupby(["period_type", "period", "profile"], sort=False):
        part = schools[["period_type", "period", "profile", "uai", "academie_code", "level", "loaded", "active"]].copy()
        part["observed_rate"] = schools["active"] / schools["loaded"]
        eb = _eb_frame(schools) if len(schools) >= 2 else None
        funnel = _by_reference_group(schools, _funnel_frame, FUNNEL_COLUMNS, "funnel")
        part = (part.join(eb) if eb is not None else part).join(funnel.drop(columns="funnel_schools"))
        part["expected_rate"] = expected_rates(schools)
        part["observed_minus_expected"] = part["observed_rate"] - part["expected_rate"]
        parts.append(part)
    frame = pd.concat(parts) if parts else pd.DataFrame(columns=COLUMNS)
    frame = frame.reindex(columns=COLUMNS)
    fdr = fdr_flags(pd.to_numeric(frame["funnel_z"]).to_numpy(float))  # one family: every test of the rows
    frame["funnel_p"], frame["funnel_q"], frame["funnel_flag"] = fdr.p_value, fdr.q_value, fdr.flag
    numeric = [c for c in COLUMNS if c not in ("period_type", "period", "profile", "uai", "academie_code", "level",
                                               "eb_scope", "funnel_scope", "funnel_flag")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="raise")
    return frame.reset_index(drop=True)
