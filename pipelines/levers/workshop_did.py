"""Staggered difference-in-differences of the mediation workshops (Callaway & Sant'Anna 2021), by outcome
regression (Heckman, Ichimura & Todd 1997; Sant'Anna & Zhao 2020, panel case), with influence-function
intervals clustered by school.

Outcome: per school × ISO week, the share of loaded parent accounts active at least once since the start of
the school year up to the end of the week (``active_to_date / loaded``), in points (× 100) or on the
empirical-logit scale. At the last week of the school year it is the school-year active rate, the headline
indicator, so the end-of-year effect is on the same scale as the context model's coefficients.

- Cohort ``g``: the week of the school's workshop; event time ``e = t - g`` (week 0 holds the workshop).
- Base week ``b``: the last valid week before ``g`` (``e = -1`` unless it is a data-gap week); every cell
  compares changes since ``b`` (a "universal" base, so leads ``e < -1`` are placebo effects: pre-trends).
- ATT(g, t): mean change of the cohort's schools minus the change predicted for them by an OLS of the
  change on the covariates among the comparison schools: never-treated schools and schools whose workshop
  comes after both ``g`` and ``t`` (not yet treated), valid at ``b`` and ``t``.
- Data-gap weeks (``valid`` false) are never used, neither as ``t`` nor as base. Holidays are modelled:
  the covariates hold the school's holiday calendar (zone), so the comparison is made between schools
  whose holidays fall alike.
- Aggregations (event time, end of year) weight cells by their treated schools; the influence function of
  these estimated weights is included, as in Callaway & Sant'Anna. Influence functions are per school, hence school-clustered; pointwise intervals use Student's
  t with G - 1 degrees of freedom and the variance scaled by G / (G - 1), G = treated schools (few
  clusters); the event study's uniform band comes from a multiplier (Rademacher) bootstrap of the
  influence functions.

Assumptions: parallel trends conditional on the covariates, no anticipation (nothing moves before the
workshop week), no spill-over between schools, stable treatment (one workshop per school and year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from pipelines.levers.design import logit_rate

SCALES = ("points", "logit")
EVENT_TIMES = tuple(range(-8, 17))
MIN_CONTROLS_OVER_COVARIATES = 2  # a cell needs at least this many comparison schools per parameter


@dataclass(frozen=True)
class GroupTimeEffects:
    """ATT(g, t) cells and their influence functions (rows: ``units``; Var = sum(psi²) / N²)."""

    cells: pd.DataFrame  # cohort, base_week, week, event_time, end_of_year, att, se, n_treated, n_control
    influence: np.ndarray  # (N units, cells)
    treated: np.ndarray  # (N units, cells) bool: the unit is a treated school of the cell
    units: pd.Index
    scale: str


@dataclass(frozen=True)
class Estimate:
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n_schools: int


def outcome_matrix(panel: pd.DataFrame, units: pd.Index, scale: str) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """(outcome, valid) as (units × weeks) arrays and the weeks; a missing school-week is not valid."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    p = panel[panel["uai"].isin(units)].assign(week_start=lambda f: pd.to_datetime(f["week_start"]))
    value = 100 * p["active_to_date"] / p["loaded"] if scale == "points" else logit_rate(p["active_to_date"], p["loaded"])
    p = p.assign(y=np.asarray(value, dtype=float), ok=p["valid"].astype(bool) & (p["loaded"] > 0))
    y = p.pivot(index="uai", columns="week_start", values="y").reindex(units)
    ok = p.pivot(index="uai", columns="week_start", values="ok").reindex(units).fillna(False).astype(bool)
    return y.to_numpy(dtype=float), ok.to_numpy(dtype=bool) & y.notna().to_numpy(), pd.DatetimeIndex(y.columns)


def cohort_weeks(workshop_date: pd.Series, weeks: pd.DatetimeIndex) -> np.ndarray:
    """Index in ``weeks`` of each school's workshop week; +inf without workshop or after the last week,
    -inf before the first week (always treated: such a school cannot be used)."""
    monday = pd.to_datetime(workshop_date).dt.to_period("W-SUN").dt.start_time
    at = weeks.get_indexer(monday)
    g = np.where(at >= 0, at, np.inf).astype(float)
    g[(monday < weeks[0]).to_numpy()] = -np.inf
    return g


def _base_weeks(g: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Last valid week before the cohort week, per unit (-1 when none or not treated)."""
    n_weeks = ok.shape[1]
    before = ok & (np.arange(n_weeks)[None, :] < np.where(np.isfinite(g), g, -1)[:, None])
    last = n_weeks - 1 - np.argmax(before[:, ::-1], axis=1)
    return np.where(before.any(axis=1), last, -1)


def _or_cell(dy: np.ndarray, x: np.ndarray, d: np.ndarray) -> tuple[float, np.ndarray]:
    """Outcome-regression ATT on one cell's units and its influence function (DRDID ``reg_did_panel``)."""
    n = len(dy)
    controls = ~d
    x = x[:, np.ptp(x[controls], axis=0) > 0]
    design = np.column_stack([np.ones(n), x])
    beta = sm.OLS(dy[controls], design[controls]).fit().params
    fitted = design @ beta
    share = d.mean()
    att = dy[d].mean() - fitted[d].mean()
    xpx_inv = np.linalg.pinv((design[controls].T @ design[controls]) / n)
    ols_rep = (controls * (dy - fitted))[:, None] * design @ xpx_inv
    inf_treat = d * (dy - dy[d].mean()) / share
    inf_control = (d * (fitted - fitted[d].mean()) + ols_rep @ design[d].sum(axis=0) / n) / share
    return float(att), inf_treat - inf_control


def group_time_effects(panel: pd.DataFrame, schools: pd.DataFrame, x: pd.DataFrame, scale: str,
                       event_times: tuple[int, ...] = EVENT_TIMES, treated_uai: pd.Index | None = None,
                       base_level: bool = True) -> GroupTimeEffects:
    """ATT(g, t) for every cohort at the event times asked and at the last week of the panel.

    ``schools``: uai, workshop_date (NaT without one); ``x``: covariates indexed by uai (the schools used);
    ``panel``: uai, week_start, active_to_date, loaded, valid. ``treated_uai`` restricts the treated schools
    (e.g. to one académie); other workshop schools still serve as not-yet-treated comparisons.
    """
    units = x.index
    y, ok, weeks = outcome_matrix(panel, units, scale)
    g = cohort_weeks(schools.set_index("uai")["workshop_date"].reindex(units), weeks)
    usable = g > -np.inf
    b = _base_weeks(g, ok)
    eligible = np.isfinite(g) & (b >= 0)
    if treated_uai is not None:
        eligible &= units.isin(treated_uai)
    covariates = x.to_numpy(dtype=float)
    last = len(weeks) - 1
    rows, influence, treated_cols = [], [], []
    n_units = len(units)
    for gw, bw in sorted({(int(gg), int(bb)) for gg, bb in zip(g[eligible], b[eligible])}):
        cohort = eligible & (g == gw) & (b == bw)
        targets = sorted({gw + e for e in event_times if 0 <= gw + e <= last and gw + e != bw} | {last})
        for t in targets:
            treated = cohort & ok[:, t]
            control = usable & (g > max(gw, t)) & ok[:, t] & ok[:, bw]
            n_t, n_c = int(treated.sum()), int(control.sum())
            if n_t == 0 or n_c < MIN_CONTROLS_OVER_COVARIATES * (covariates.shape[1] + 1):
                continue
            cell = treated | control
            x_cell = np.column_stack([covariates[cell], y[cell, bw]]) if base_level else covariates[cell]
            att, psi = _or_cell(y[cell, t] - y[cell, bw], x_cell, treated[cell])
            full = np.zeros(n_units)
            full[cell] = psi * n_units / cell.sum()
            influence.append(full)
            treated_cols.append(treated)
            rows.append({"cohort": weeks[gw], "base_week": weeks[bw], "week": weeks[t], "event_time": t - gw,
                         "in_window": (t - gw) in event_times, "end_of_year": t == last, "att": att,
                         "treated_mean": float(y[treated, t].mean()),
                         "se": float(np.sqrt((full**2).sum()) / n_units), "n_treated": n_t, "n_control": n_c})
    cells = pd.DataFrame(rows, columns=["cohort", "base_week", "week", "event_time", "in_window", "end_of_year",
                                        "att", "treated_mean", "se", "n_treated", "n_control"])
    shape = (n_units, len(rows))
    return GroupTimeEffects(cells, np.column_stack(influence) if rows else np.zeros(shape),
                            np.column_stack(treated_cols) if rows else np.zeros(shape, dtype=bool), units, scale)


def few_clusters(se: float, n_treated: int) -> tuple[float, float]:
    """(se × sqrt(G / (G - 1)), Student quantile factor with G - 1 df) for G treated schools: the treated
    schools are the scarce clusters, so intervals use the usual few-clusters correction."""
    g = max(n_treated, 2)
    return se * np.sqrt(g / (g - 1)), g - 1


def _ci(estimate: float, se: float, n_treated: int, conf: float) -> tuple[float, float, float]:
    """(adjusted se, ci_low, ci_high)."""
    se, df = few_clusters(se, n_treated)
    q = stats.t.ppf(0.5 + conf / 2, df)
    return se, estimate - q * se, estimate + q * se


def aggregate(gte: GroupTimeEffects, select: np.ndarray, conf: float = 0.95) -> tuple[Estimate, np.ndarray]:
    """Treated-school-weighted mean of the selected cells, with its influence function."""
    if not select.any():
        return Estimate(np.nan, np.nan, np.nan, np.nan, 0), np.zeros(len(gte.units))
    n_treated = gte.cells["n_treated"].to_numpy(dtype=float) * select
    w = n_treated / n_treated.sum()
    att = gte.cells["att"].to_numpy()
    estimate = float(att @ w)
    # The weights are cohort shares, estimated too (Callaway & Sant'Anna's "wif"): a treated school adds
    # (ATT of its cell - aggregate) / share of treated schools. Without it a cohort of one school would
    # bring no variance of its own.
    psi = gte.influence @ w
    psi += (gte.treated[:, select] * (att[select] - estimate)).sum(axis=1) * len(gte.units) / n_treated.sum()
    n_schools = int(gte.treated[:, select].any(axis=1).sum())
    se, low, high = _ci(estimate, float(np.sqrt((psi**2).sum()) / len(gte.units)), n_schools, conf)
    return Estimate(estimate, se, low, high, n_schools), psi


def end_of_year_effect(gte: GroupTimeEffects, conf: float = 0.95) -> Estimate:
    """Effect on the share of parents active since the rentrée at the last week: the school-year rate."""
    return aggregate(gte, gte.cells["end_of_year"].to_numpy(), conf)[0]


def end_of_year_logit_from_points(gte: GroupTimeEffects, conf: float = 0.95) -> Estimate:
    """The end-of-year effect in points read on the logit scale at the treated schools' mean school-year
    rate r: logit(r) - logit(r - effect), its interval the image of the points interval (the map rises with
    the effect)."""
    if gte.scale != "points":
        raise ValueError("needs the points-scale group-time effects")
    points = end_of_year_effect(gte, conf)
    cells = gte.cells[gte.cells["end_of_year"]]
    if cells.empty:
        return points
    rate = float(np.average(cells["treated_mean"], weights=cells["n_treated"])) / 100

    def to_logit(effect: float) -> float:
        without = min(max(rate - effect / 100, 1e-6), 1 - 1e-6)
        return float(np.log(rate / (1 - rate)) - np.log(without / (1 - without)))

    estimate, low, high = (to_logit(v) for v in (points.estimate, points.ci_low, points.ci_high))
    return Estimate(estimate, np.nan, low, high, points.n_schools)


def event_study(gte: GroupTimeEffects, conf: float = 0.95, n_boot: int = 999, seed: int = 0) -> pd.DataFrame:
    """ATT by event time (leads: pre-trend check; -1 is the base, 0 by construction) with pointwise
    intervals and a uniform band over event times (multiplier bootstrap)."""
    window = gte.cells["in_window"].to_numpy()
    times = sorted(gte.cells.loc[window, "event_time"].unique())
    results, psis = [], []
    for e in times:
        est, psi = aggregate(gte, window & (gte.cells["event_time"] == e).to_numpy(), conf)
        results.append(est)
        psis.append(psi)
    frame = pd.DataFrame({"event_time": times, "estimate": [r.estimate for r in results], "se": [r.se for r in results],
                          "ci_low": [r.ci_low for r in results], "ci_high": [r.ci_high for r in results],
                          "n_schools": [r.n_schools for r in results]})
    if not times:
        return frame.assign(band_low=[], band_high=[])
    psi = np.column_stack(psis)
    n = len(gte.units)
    draws = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_boot, n)) @ psi / n
    raw_se = np.sqrt((psi**2).sum(axis=0)) / n
    t_max = np.nanmax(np.abs(draws) / np.where(raw_se > 0, raw_se, np.nan), axis=1)
    crit = float(np.nanquantile(t_max, conf))
    # the band takes the few-clusters variance scaling too, and is never narrower than the pointwise interval
    half = np.maximum(crit * frame["se"].to_numpy(), frame["ci_high"].to_numpy() - frame["estimate"].to_numpy())
    return frame.assign(band_low=frame["estimate"] - half, band_high=frame["estimate"] + half)


def pre_trend_test(gte: GroupTimeEffects, max_lead: int = 8) -> tuple[float, int, float]:
    """Wald test that every lead (event times -max_lead .. -2) is zero: (chi², df, p-value)."""
    cells = gte.cells
    leads = sorted(e for e in cells.loc[cells["in_window"], "event_time"].unique() if -max_lead <= e <= -2)
    if not leads:
        return np.nan, 0, np.nan
    pairs = [aggregate(gte, (cells["in_window"] & (cells["event_time"] == e)).to_numpy()) for e in leads]
    est = np.array([p[0].estimate for p in pairs])
    psi = np.column_stack([p[1] for p in pairs])
    cov = psi.T @ psi / len(gte.units) ** 2
    chi2 = float(est @ np.linalg.pinv(cov) @ est)
    return chi2, len(leads), float(stats.chi2.sf(chi2, len(leads)))
