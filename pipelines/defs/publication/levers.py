"""Lever figures of the release: the levers' methods refitted on the published schools only.

The rule of ``derived.py`` applies: a model whose outputs are published is fitted on what may be published.
The workshop event study, the context model, the gap split, the school ranking and the budget scenarios
(``pipelines.defs.levers.rows``, the same functions as the warehouse assets) are run again here on the
schools whose school-year parent figures the release engine cleared (``published_school_rates``); a
hidden school is in none of them, not even as a comparison school. An académie's own workshop effect
needs at least ``MIN_TREATED_ACADEMIE`` workshop schools among its published schools. The ranking and the
scenarios are functions of published loaded and active accounts and of the national effect fitted here.

Without the levers' inputs in the warehouse (no context, workshops or activity to date, or no school
year with parent sessions), every table is published empty: the pages and the reports say so.

=============================  ============================================================================
``levers_fit``                 one row: school year, published schools used, schools with parent figures in
                               the warehouse, the event study's pre-trend test (points scale)
``levers_effects``             lever × scope × scale × method: estimate, 95 % interval, schools (points in
                               percentage points, 13.2 = 13,2 pt)
``levers_event_study``         France × scale × weeks since the workshop: estimate, interval, uniform band
``levers_academie_effects``    académie × scale: effect *à contexte comparable*
``levers_gap_decomposition``   gap × scope × component: académie to France, IPS Q5 − Q1 (points)
``levers_targets``             published school without a workshop: expected extra active parents, rank
``levers_scenarios``           académie × K workshops: rate and SII (points) before and after, each SII with
                               its 95 % interval, under the published SII's fit guards (``sii_refusal``: the
                               guard that refused it, the SII columns then NULL)
=============================  ============================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.defs.equity.checks import violations
from pipelines.defs.levers import rows as r
from pipelines.defs.levers.checks import SCENARIO_RULES

INPUTS = ("parent_activity_to_date", "school_context", "mediation_workshops", "school_ips_quintiles")
FIGURES = "estimate DOUBLE, ci_low DOUBLE, ci_high DOUBLE, n_schools BIGINT"
TABLES = {
    "levers_fit": "school_year VARCHAR, schools_used BIGINT, schools_total BIGINT, pretrend_statistic DOUBLE, "
                  "pretrend_df BIGINT, pretrend_p DOUBLE",
    "levers_effects": f"lever VARCHAR, scope VARCHAR, academie_code VARCHAR, scale VARCHAR, method VARCHAR, "
                      f"{FIGURES}, unit VARCHAR",
    "levers_event_study": f"scope VARCHAR, academie_code VARCHAR, scale VARCHAR, event_time INTEGER, {FIGURES}, "
                          "band_low DOUBLE, band_high DOUBLE",
    "levers_academie_effects": f"academie_code VARCHAR, scale VARCHAR, {FIGURES}",
    "levers_gap_decomposition": f"gap VARCHAR, scope VARCHAR, academie_code VARCHAR, component VARCHAR, {FIGURES}",
    "levers_targets": "academie_code VARCHAR, uai VARCHAR, rank BIGINT, loaded BIGINT, active_rate DOUBLE, "
                      "extra_active DOUBLE, extra_active_low DOUBLE, extra_active_high DOUBLE",
    "levers_scenarios": "academie_code VARCHAR, workshops BIGINT, n_schools BIGINT, rate_before DOUBLE, "
                        "rate_after DOUBLE, points DOUBLE, points_ci_low DOUBLE, points_ci_high DOUBLE, "
                        "extra_active DOUBLE, sii_before DOUBLE, sii_before_ci_low DOUBLE, sii_before_ci_high DOUBLE, "
                        "sii_after DOUBLE, sii_after_ci_low DOUBLE, sii_after_ci_high DOUBLE, sii_change DOUBLE, "
                        "sii_change_ci_low DOUBLE, sii_change_ci_high DOUBLE, sii_refusal VARCHAR",
}


def published_inputs(con, rates: pd.DataFrame, present: set[str]) -> tuple[r.LeverInputs, int] | None:
    """(the levers' inputs restricted to the published schools, schools with parent figures in the
    warehouse), None without inputs."""
    if set(INPUTS) - present:
        return None
    year = r.school_year(con)
    if year is None:
        return None
    inputs = r.read_inputs(con, year)
    if inputs.panel.empty:
        return None
    published = rates.loc[(rates["period_type"] == "school_year") & (rates["period"] == year)
                          & (rates["profile"] == r.PROFILE), "uai"]
    return inputs.restricted_to(published), len(inputs.schools)


def _academie(scope: pd.Series) -> pd.Series:
    return scope.where(scope != r.NATION)


def lever_frames(inputs: r.LeverInputs, schools_total: int) -> dict[str, pd.DataFrame]:
    """Every levers table of the release, fitted on ``inputs`` (the published schools)."""
    e = r.evaluation(inputs)
    statistic, df, p = e.pretrends.get("points", (np.nan, 0, np.nan))
    frames = {
        "levers_fit": pd.DataFrame([{"school_year": inputs.school_year, "schools_used": len(inputs.schools),
                                     "schools_total": schools_total, "pretrend_statistic": statistic,
                                     "pretrend_df": df, "pretrend_p": p}]),
        "levers_effects": e.effects.assign(academie_code=_academie(e.effects["scope"])),
        "levers_event_study": e.event_study.assign(academie_code=_academie(e.event_study["scope"])),
        "levers_academie_effects": e.academies,
    }
    gaps = r.gap_rows(inputs)
    if gaps is not None:
        frames["levers_gap_decomposition"] = gaps.assign(
            academie_code=gaps["scope"].where(gaps["gap"] == "academie"))
    beta = r.national_workshop_logit(e.effects)
    if beta is not None:
        frames["levers_targets"], frames["levers_scenarios"] = r.where_to_act_rows(inputs, *beta)
    return frames


def publish_levers(con, rates: pd.DataFrame, present: set[str]) -> None:
    """Write the ``levers_*`` tables into the release being built (attached as ``srv``)."""
    found = published_inputs(con, rates, present)
    frames = lever_frames(*found) if found is not None else {}
    for table, columns in TABLES.items():
        con.execute(f"CREATE TABLE srv.{table} ({columns})")
        frame = frames.get(table)
        if frame is None or frame.empty:
            continue
        names = [c.split()[0] for c in columns.split(", ")]
        con.register("_lever_rows", frame.replace([np.inf, -np.inf], np.nan)[names])
        if table == "levers_scenarios" and (broken := {
                rule: n for rule, n in violations(con, "_lever_rows", SCENARIO_RULES).items() if n}):
            con.unregister("_lever_rows")
            raise RuntimeError(f"cannot publish: scenario SII outside the fit guards' rules ({broken})")
        con.execute(f"INSERT INTO srv.{table} SELECT * FROM _lever_rows ORDER BY ALL")
        con.unregister("_lever_rows")

