"""The rows of ``school_flags``: per school × period × profile, the empirical-Bayes shrunk rate, the
expected rate "à IPS comparable" and the funnel-plot position, from the pure functions of
``pipelines.equity``.

Reference groups
----------------
* Shrinkage (``eb_shrink``) and funnel (``funnel_limits``) compare a school with schools of the same
  level: parent adoption differs by level far more than by académie (the synthetic model puts écoles
  0.9 logit below collèges), so an académie-wide target would flag every école 'bas' and shrink écoles
  towards a rate set by collèges. The reference group is the académie × level (``*_scope =
  'academie'``) when it holds at least ``MIN_SCHOOLS_LOCAL_FIT`` schools, otherwise the nation × level
  (``*_scope = 'nation'``). A two-parameter beta prior and the over-dispersion ``tau2`` are not
  estimable from a handful of schools, hence the threshold of 10. With real data (hundreds of écoles,
  dozens of collèges and lycées per académie) the académie fit is the rule; on small synthetic
  samples the national fallback is.
* Empirical Bayes: when the beta-binomial fit finds no between-school variation (``at_boundary``: the
  prior size goes to infinity), or when none is detectable (every school has n = 1: Bernoulli data say
  nothing of the dispersion), every school is shrunk to the pooled rate and its posterior interval collapses to a
  point that ignores the uncertainty of the prior. An académie fit in that state falls back on the
  national fit of its level; a national one keeps its shrunk rate but gets NULL ``shrunk_low`` /
  ``shrunk_high``. ``eb_shrinkage`` = M / (n + M) is the weight of the prior in the shrunk rate.
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
EB_COLUMNS = ["shrunk_rate", "shrunk_low", "shrunk_high", "eb_shrinkage"]
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


def _eb_frame(schools: pd.DataFrame, scope: str) -> pd.DataFrame | None:
    n = schools["loaded"].to_numpy(float)
    fit = _quiet(eb_shrink, schools["active"].to_numpy(float), n)
    if fit is None:
        return None
    # No between-school variation detected, or none detectable (every n = 1: Bernoulli data say nothing
    # of the dispersion): the posterior interval would be a point that ignores the prior's uncertainty.
    no_dispersion = fit.at_boundary or bool((n <= 1).all())
    if no_dispersion and scope == "academie":
        return None  # the académie falls back on the national fit of its level
    frame = pd.DataFrame({"shrunk_rate": fit.shrunk_rate, "shrunk_low": fit.lower, "shrunk_high": fit.upper,
                          "eb_shrinkage": fit.shrinkage}, index=schools.index)
    if no_dispersion:
        frame[["shrunk_low", "shrunk_high"]] = np.nan
    return frame


def _funnel_frame(schools: pd.DataFrame, scope: str) -> pd.DataFrame | None:
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
            result = compute(local, "academie")
            if result is not None:
                parts.append(result[columns].assign(**{scope: "academie", used: len(local)}))
                done.append(local.index)
        rest = level_schools.index.difference(pd.Index([]).append(done)) if done else level_schools.index
        national = compute(level_schools, "nation") if len(rest) and len(level_schools) >= 2 else None
        if national is not None:
            parts.append(national.loc[rest, columns].assign(**{scope: "nation", used: len(level_schools)}))
    return pd.concat(parts) if parts else pd.DataFrame(columns=[*columns, scope, used])


def flag_rows(rates: pd.DataFrame) -> pd.DataFrame:
    """``school_flags`` rows for the school rates of ``school_rates.sql`` (school years and trimesters)."""
    parts = []
    for _, schools in rates.groupby(["period_type", "period", "profile"], sort=False):
        part = schools[["period_type", "period", "profile", "uai", "academie_code", "level", "loaded", "active"]].copy()
        part["observed_rate"] = schools["active"] / schools["loaded"]
        eb = _by_reference_group(schools, _eb_frame, EB_COLUMNS, "eb")
        funnel = _by_reference_group(schools, _funnel_frame, FUNNEL_COLUMNS, "funnel")
        part = part.join(eb).join(funnel.drop(columns="funnel_schools"))
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
