"""Warehouse inputs of the levers and the rows of their tables (the assets write what these return)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.defs.reference.school_calendar import ZONE_OF_ACADEMIE
from pipelines.levers import context_model as cm
from pipelines.levers import workshop_did as did
from pipelines.levers.design import FACTOR_GROUPS, LEVER_COLUMNS, IpsScale, covariates
from pipelines.levers.gap_decomposition import gap_decomposition
from pipelines.levers.naive_comparison import naive_difference
from pipelines.levers.workshop_targets import budget_scenarios, rank_schools
from pipelines.sql_files import load_sql

PROFILE = "parent"  # the profile the levers are evaluated for (workshops are for parents)
NATION = "FR"
MIN_TREATED_ACADEMIE = 5  # an académie's own workshop effect needs at least this many workshop schools
MIN_CONTEXT_SCHOOLS = 30  # the context model (and the gap split) needs at least this many schools with context
POINTS_STEP = 0.10  # the context levers' effect in points is for +10 points of their rate
GAP_BOOTSTRAP = 199
EFFECT_COLUMNS = ["lever", "scope", "profile", "scale", "method", "estimate", "ci_low", "ci_high", "n_schools", "unit"]
EVENT_STUDY_COLUMNS = ["event_time", "estimate", "se", "ci_low", "ci_high", "n_schools", "band_low", "band_high"]
UNITS = {"workshop": "one workshop", "logit": "rate 0 to 1", "points": "+10 points of rate"}


@dataclass(frozen=True)
class LeverInputs:
    school_year: str
    schools: pd.DataFrame  # lever_schools.sql + zone
    panel: pd.DataFrame  # parent_activity_to_date rows
    ips: IpsScale

    def restricted_to(self, uais) -> LeverInputs:
        """The same inputs for the schools ``uais`` only (the publisher refits on the published schools)."""
        keep = pd.Index(uais)
        return LeverInputs(self.school_year, self.schools[self.schools["uai"].isin(keep)].reset_index(drop=True),
                           self.panel[self.panel["uai"].isin(keep)].reset_index(drop=True), self.ips)


@dataclass(frozen=True)
class Evaluation:
    """What the workshop evaluation and the context model give for one set of schools."""

    effects: pd.DataFrame  # lever_effects rows (EFFECT_COLUMNS)
    event_study: pd.DataFrame
    pretrends: dict  # scale -> (Wald statistic, df, p-value)
    coefficients: pd.DataFrame
    academies: pd.DataFrame  # academie_context_effects rows


def school_year(con) -> str | None:
    row = con.execute(load_sql("pipelines.defs.levers", "lever_school_year")).fetchall()
    return row[0][0] if row else None


def read_inputs(con, year: str) -> LeverInputs:
    schools = con.sql(load_sql("pipelines.defs.levers", "lever_schools"), params={"school_year": year}).df()
    schools["workshop_date"] = pd.to_datetime(schools["workshop_date"])
    schools["zone"] = schools["academie_code"].map(ZONE_OF_ACADEMIE)
    panel = con.sql("SELECT * FROM parent_activity_to_date WHERE school_year = $y", params={"y": year}).df()
    mean, sd = con.execute("SELECT avg(ips), stddev_pop(ips) FROM schools WHERE ips IS NOT NULL").fetchall()[0]
    return LeverInputs(year, schools, panel, IpsScale(float(mean), float(sd)))


def _effect_row(lever: str, scope: str, scale: str, method: str, estimate: float, low: float, high: float,
                n: int) -> dict:
    unit = UNITS["workshop"] if lever == "workshop" else UNITS[scale]
    return {"lever": lever, "scope": scope, "profile": PROFILE, "scale": scale, "method": method,
            "estimate": estimate, "ci_low": low, "ci_high": high, "n_schools": n, "unit": unit}


def event_study_covariates(inputs: LeverInputs) -> pd.DataFrame:
    """Every design covariate (holiday calendar included), indexed by uai."""
    x, keep = covariates(inputs.schools, inputs.ips, tuple(FACTOR_GROUPS))
    return x.set_axis(pd.Index(inputs.schools.loc[keep, "uai"], name="uai"))


def workshop_rows(inputs: LeverInputs) -> tuple[list[dict], pd.DataFrame, dict]:
    """(lever_effects rows of the event study and the naive comparison, workshop_event_study rows,
    pre-trend tests per scale)."""
    x = event_study_covariates(inputs)
    effects, studies, pretrends = [], [], {}
    held = inputs.schools.loc[inputs.schools["workshop_date"].notna()]
    if x.empty or held.empty:
        return [], pd.DataFrame(columns=[*EVENT_STUDY_COLUMNS, "scope", "scale", "profile"]), {}
    for scale in did.SCALES:
        gte = did.group_time_effects(inputs.panel, inputs.schools, x, scale)
        overall = did.end_of_year_effect(gte)
        effects.append(_effect_row("workshop", NATION, scale, "did_event_study", overall.estimate, overall.ci_low,
                                   overall.ci_high, overall.n_schools))
        studies.append(did.event_study(gte).assign(scope=NATION, scale=scale))
        pretrends[scale] = did.pre_trend_test(gte)
        for academie, n in held.groupby("academie_code").size().items():
            if n < MIN_TREATED_ACADEMIE:
                continue
            mine = pd.Index(held.loc[held["academie_code"] == academie, "uai"])
            local = did.end_of_year_effect(did.group_time_effects(inputs.panel, inputs.schools, x, scale, (), mine))
            if local.n_schools >= MIN_TREATED_ACADEMIE:
                effects.append(_effect_row("workshop", academie, scale, "did_event_study", local.estimate,
                                           local.ci_low, local.ci_high, local.n_schools))
        effects.append(_effect_row("workshop", NATION, scale, "naive", *naive_difference(inputs.schools, scale)))
    study = pd.concat(studies, ignore_index=True).assign(profile=PROFILE)
    estimated = [e for e in effects if e["n_schools"] > 0 and np.isfinite(e["estimate"])]  # no workshop: no row
    return estimated, study, pretrends


def context_covariates(inputs: LeverInputs) -> pd.DataFrame | None:
    """The context model's covariates (index: rows of ``inputs.schools``), None when too few schools have them."""
    x, _ = covariates(inputs.schools, inputs.ips)
    return x if len(x) >= MIN_CONTEXT_SCHOOLS else None


def context_fit(inputs: LeverInputs) -> cm.ContextFit | None:
    x = context_covariates(inputs)
    return None if x is None else cm.fit_context_model(inputs.schools, x)


def context_rows(fit: cm.ContextFit | None) -> tuple[list[dict], pd.DataFrame, pd.DataFrame]:
    """(lever_effects rows of the context model, context_coefficients rows, academie_context_effects rows);
    nothing without a fit."""
    if fit is None:
        return [], pd.DataFrame(columns=["term", "estimate", "se", "ci_low", "ci_high", "profile", "n_schools", "dispersion"]), \
            pd.DataFrame(columns=["academie_code", "n_schools", "estimate", "ci_low", "ci_high", "scale", "profile"])
    coefficients = cm.coefficient_table(fit)
    n = len(fit.schools)
    effects = []
    for lever, term in [*LEVER_COLUMNS.items(), ("workshop", cm.WORKSHOP)]:
        if term not in fit.params.index:
            continue
        row = coefficients.set_index("term").loc[term]
        n_lever = int(fit.exog[term].sum()) if lever == "workshop" else n
        effects.append(_effect_row(lever, NATION, "logit", "context_glm", row["estimate"], row["ci_low"],
                                   row["ci_high"], n_lever))
        step = 1.0 if lever == "workshop" else POINTS_STEP
        effects.append(_effect_row(lever, NATION, "points", "context_glm", *cm.lever_points(fit, term, step), n_lever))
    dispersion = float(fit.result.scale)
    coefficients = coefficients.assign(profile=PROFILE, n_schools=n, dispersion=dispersion)
    academies = cm.academie_effects(fit)
    long = pd.concat([
        academies[["academie_code", "n_schools", f"{s}", f"{s}_ci_low", f"{s}_ci_high"]]
        .set_axis(["academie_code", "n_schools", "estimate", "ci_low", "ci_high"], axis=1).assign(scale=s)
        for s in ("logit", "points")
    ], ignore_index=True).assign(profile=PROFILE)
    return effects, coefficients, long


def evaluation(inputs: LeverInputs) -> Evaluation:
    """Event study, naive comparison and context model of ``inputs``."""
    did_effects, study, pretrends = workshop_rows(inputs)
    context_effects, coefficients, academies = context_rows(context_fit(inputs))
    return Evaluation(pd.DataFrame(did_effects + context_effects, columns=EFFECT_COLUMNS), study, pretrends,
                      coefficients, academies)


def gap_rows(inputs: LeverInputs, n_boot: int = GAP_BOOTSTRAP) -> pd.DataFrame | None:
    """gap_decomposition rows of ``inputs``; None when too few schools have context."""
    x = context_covariates(inputs)
    if x is None:
        return None
    quintile = inputs.schools.loc[x.index, "national_ips_quintile"]
    return gap_decomposition(inputs.schools, x, quintile, n_boot=n_boot).assign(profile=PROFILE)


def national_workshop_logit(effects: pd.DataFrame) -> tuple[float, float, float] | None:
    """(estimate, ci_low, ci_high) of the national end-of-year workshop effect on the logit scale, if any."""
    row = effects[(effects["lever"] == "workshop") & (effects["scope"] == NATION) & (effects["scale"] == "logit")
                  & (effects["method"] == "did_event_study")]
    if row.empty or not np.isfinite(row["estimate"].iloc[0]):
        return None
    return tuple(float(row[c].iloc[0]) for c in ("estimate", "ci_low", "ci_high"))


def where_to_act_rows(inputs: LeverInputs, beta: float, low: float, high: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(workshop_targets rows, workshop_scenarios rows) for the national workshop effect ``beta`` (logit)."""
    ranking = rank_schools(inputs.schools, beta, low, high).assign(profile=PROFILE)
    scenarios = budget_scenarios(inputs.schools, ranking, beta, (high - low) / (2 * 1.959964)).assign(profile=PROFILE)
    return ranking, scenarios


def with_year(frame: pd.DataFrame, year: str) -> pd.DataFrame:
    return frame.assign(school_year=year).replace([np.inf, -np.inf], np.nan)
