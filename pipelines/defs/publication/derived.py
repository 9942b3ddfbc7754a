"""Derived figures of the release, computed from what the disclosure engine cleared and nothing else.

A model output or a summary measure fitted on every school would be one more equation on the hidden
schools (the score equations of the expected-rate GLM, an SII, a funnel target recovered suppressed
figures in an attack on an earlier release). Here they are computed on the **published** school figures
only, which anyone can read: they add no information about what is hidden (docs/disclosure_control.md).
The warehouse keeps the all-school versions (``equity_summary``, ``school_flags``) for analysts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from pipelines.defs.equity.school_flag_measures import flag_rows
from pipelines.defs.equity.summary_measures import THEIL_GROUPS, summary_rows
from pipelines.disclosure.cell_suppression import CELL_KEY, Family, cells_sql
from pipelines.equity.theil import THEIL_PARTS, theil_decomposition_ci

# What the dashboard and the reports show of the equity summary.
PUBLISHED_MEASURES = frozenset({"mean_rate", "sii", "rii", "q5_q1_gap", "theil_total", "theil_between",
                                "theil_within", "theil_between_share"})
SUMMARY_PERIOD_TYPES = ("school_year", "trimester", "month")
# Fewest published schools on which an intra-school correlation is estimated (as for a local funnel fit).
MIN_ICC_SCHOOLS = 10
FLAG_PERIOD_TYPES = ("school_year", "trimester")


def published_school_rates(con, units: str, quintiles: bool) -> pd.DataFrame:
    """Published school figures with a measured active rate, shaped like ``school_rates.sql``."""
    join_q = "LEFT JOIN school_ips_quintiles q ON q.uai = u.uai AND q.profile = u.profile" if quintiles else ""
    quintile = "q.ips_quintile" if quintiles else "NULL::INTEGER"
    return con.sql(f"""
        SELECT u.period_type, u.period, u.period_start, u.profile, u.uai, s.academie_code, s.departement_code,
               s.level, s.secteur, s.education_prioritaire, s.rural_urban, s.ips,
               {quintile} AS national_ips_quintile, u.size AS loaded, u.m1_k AS active,
               u.m1_k / u.size AS active_rate
        FROM {units} u JOIN schools s USING (uai) {join_q}
        WHERE u.published AND u.m1_n > 0 AND u.size > 0
        ORDER BY u.period_start, u.period_type, u.period, u.profile, u.uai
    """).df()


def published_flags(rates: pd.DataFrame) -> pd.DataFrame:
    """Shrunk rates, expected rates and funnel positions of the published schools, fitted on them only."""
    return flag_rows(rates[rates.period_type.isin(FLAG_PERIOD_TYPES)].reset_index(drop=True))


def published_equity(rates: pd.DataFrame) -> pd.DataFrame:
    """The equity measures the release shows, computed on the published schools only, the Theil
    decomposition with its bootstrap intervals (``theil_intervals``)."""
    frame, _ = summary_rows(rates[rates.period_type.isin(SUMMARY_PERIOD_TYPES)].reset_index(drop=True),
                            PUBLISHED_MEASURES)
    return theil_intervals(frame, rates)


THEIL_MEASURES = {f"theil_{part}": part for part in THEIL_PARTS}
# How far a Theil estimate may fall outside its interval by floating-point rounding alone.
ROUNDING = 1e-12


def theil_intervals(frame: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Fill ``ci_low`` / ``ci_high`` of the académie Theil rows of ``frame`` (summary rows) with the percentile
    bootstrap over the group's published schools (``theil.theil_decomposition_ci``): between / within
    départements (``THEIL_GROUPS``), the schools of ``rates`` the value was computed on (positive loaded
    accounts); none where the interval does not hold the value beyond rounding (docs/equity_fit_guards.md)."""
    # Académie rows only: the dashboard shows the split between départements (a national group of 43,000
    # schools costs ~1 s CPU a bootstrap, and France's split between académies is shown nowhere).
    theil = frame["measure"].isin(THEIL_MEASURES) & (frame["scope"] == "academie")
    if not theil.any():
        return frame
    frame = frame.copy()
    rates = rates[rates["loaded"] > 0]
    y, w = rates["active_rate"].to_numpy(float), rates["loaded"].to_numpy(float)
    groups = rates[THEIL_GROUPS["academie"]].fillna("inconnu").to_numpy(object)
    # The row positions in rates of each académie's schools, of all levels and of each level, in rates' order.
    of_academie = ["period_type", "period", "profile", "academie_code"]
    schools = {**{(*key, "all"): at for key, at in rates.groupby(of_academie, sort=False).indices.items()},
               **rates.groupby([*of_academie, "level"], sort=False).indices}
    rows = frame[theil]
    part = rows["measure"].map(THEIL_MEASURES).to_numpy(object)
    low, high = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    keys = ["period_type", "period", "profile", "scope_code", "level"]
    for key, at in rows.groupby(keys, sort=False).indices.items():  # one bootstrap per group of schools
        units = schools[key]
        bounds = theil_decomposition_ci(y[units], w[units], groups[units])
        low[at] = [bounds[p][0] for p in part[at]]
        high[at] = [bounds[p][1] for p in part[at]]
    frame.loc[rows.index, "ci_low"], frame.loc[rows.index, "ci_high"] = low, high
    # A percentile interval that leaves out its own estimate (the between share of a biased resampling on few
    # schools) or is not finite is not published: no interval rather than a misleading one. Rounding aside:
    # the between part of one département is 0 in every resample and ±2e-16 as computed by the estimate: its
    # interval is widened to hold it (the publication's rule ci_not_around_value, equity/checks.py).
    low, high, value = (frame[c].astype(float) for c in ("ci_low", "ci_high", "value"))
    holds = theil & np.isfinite(low) & np.isfinite(high) & (low <= value + ROUNDING) & (value - ROUNDING <= high)
    frame.loc[holds, "ci_low"], frame.loc[holds, "ci_high"] = np.minimum(low, value)[holds], np.maximum(high, value)[holds]
    frame.loc[theil & ~holds, ["ci_low", "ci_high"]] = np.nan
    return frame


# The rates of a published cell that carry a standard error with the school as the unit: column ->
# (measure m<i> of the units, the cell's denominator from its own published figures).
RATE_SE = {
    "activation_rate_se": (0, "(CASE WHEN c.activation_rate > 0 THEN c.activated / c.activation_rate ELSE c.loaded END)"),
    "active_rate_se": (1, "(CASE WHEN c.active_rate > 0 THEN c.active / c.active_rate ELSE c.loaded END)"),
    "mobile_share_se": (2, "c.sessions"),
}
RATE_OF = {"activation_rate_se": "activation_rate", "active_rate_se": "active_rate",
           "mobile_share_se": "mobile_share"}


def _week_rows(table: str) -> str:
    """``table`` (keyed period_type, period, profile, level) plus a copy of its trimester rows for every week
    whose Monday falls in the trimester (weekly school figures are never published)."""
    return f"""
        SELECT * FROM {table}
        UNION ALL BY NAME
        SELECT i.* REPLACE ('week' AS period_type, w.period AS period)
        FROM periods w JOIN periods t ON t.period_type = 'trimester' AND w.period_start BETWEEN t.period_start
             AND t.period_end
        JOIN {table} i ON i.period_type = 'trimester' AND i.period = t.period
        WHERE w.period_type = 'week'"""


def write_cell_rate_se(con, units: str, cells: str) -> None:
    """Add the columns of RATE_SE to the published ``cells``: the standard error of the activation rate, the
    active rate and the mobile share with the school as the unit (Kish's design effect for a cluster sample)::

        se = sqrt(p (1 - p) / n * (1 + (n / schools - 1) * rho))

    ``p``, ``n`` (accounts with a measured activation or activity, sessions for the mobile share) and
    ``schools`` are the cell's published figures; ``rho``, the intra-school correlation of the measure, is
    estimated on the published schools of ``units`` per period × profile × level ('all': every level) by
    moments, ``Var(k_i) = n_i p (1 - p) (1 + (n_i - 1) rho)``: ``rho = (sum (k_i - n_i p)^2 - p (1 - p) sum
    n_i) / (p (1 - p) sum n_i (n_i - 1))``, 0 at least, on at least MIN_ICC_SCHOOLS schools. A week takes the
    rho of the trimester that holds its Monday; a profile without published schools (staff) gets none here.
    """
    for column, (measure, n) in RATE_SE.items():
        mn, mk = f"m{measure}_n", f"m{measure}_k"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _cell_icc AS
            WITH schools AS (
                SELECT period_type, period, profile, level, {mn}::DOUBLE AS n, {mk}::DOUBLE AS k
                FROM {units} WHERE published AND {mn} > 0
            ),
            pooled AS (
                SELECT period_type, period, profile, coalesce(level, 'all') AS level, count(*) AS schools,
                       sum(k) / sum(n) AS p, sum(n) AS sn, sum(n * (n - 1)) AS snn
                FROM schools GROUP BY GROUPING SETS ((period_type, period, profile, level), (period_type, period, profile))
            ),
            moments AS (
                SELECT q.period_type, q.period, q.profile, q.level, q.schools, q.p, q.sn, q.snn,
                       sum((s.k - s.n * q.p) ^ 2) AS ss
                FROM pooled q JOIN schools s USING (period_type, period, profile)
                WHERE q.level = 'all' OR s.level = q.level
                GROUP BY ALL
            )
            SELECT period_type, period, profile, level,
                   greatest(0, (ss - p * (1 - p) * sn) / (p * (1 - p) * snn)) AS rho
            FROM moments WHERE schools >= {MIN_ICC_SCHOOLS} AND p > 0 AND p < 1 AND snn > 0
        """)
        rate = RATE_OF[column]
        con.execute(f"ALTER TABLE {cells} ADD COLUMN {column} DOUBLE")
        con.execute(f"""
            UPDATE {cells} c SET {column} = sqrt(c.{rate} * (1 - c.{rate}) / {n}
                                                 * (1 + greatest({n} / c.schools - 1, 0) * r.rho))
            FROM ({_week_rows("_cell_icc")}) r
            WHERE r.period_type = c.period_type AND r.period = c.period AND r.profile = c.profile AND r.level = c.level
              AND NOT c.suppressed AND c.{rate} IS NOT NULL AND {n} > 0
        """)


def write_cell_mean_se(con, units: str, cells: str) -> None:
    """Add ``visits_per_active_se`` to the published ``cells``: the standard error of visits per active
    account ``R = Y / X`` (sessions over active accounts) with the school as the unit. Per school,
    ``E[(y_i - R0 x_i)^2] = a x_i + b x_i^2`` (an account-level variance and a between-school one: the
    binomial version is Kish's ``p(1-p)(1-rho) n + p(1-p) rho n^2``), ``a, b >= 0`` fitted by least squares
    on the published schools of ``units`` per period × profile × level (at least MIN_ICC_SCHOOLS), ``R0``
    their pooled ratio. ``a / R0^2`` and ``b / R0^2`` are relative variances, free of the period's length;
    the cell's relative variance is ``Var(R) / R^2 = (a / X + b / S) / R0^2``, taking the mean school size
    ``X / S`` for ``sum x_i^2 / X`` (the cell's school sizes are not published), with ``R =
    visits_per_active``, ``X = sessions / R`` and ``S = schools`` its published figures::

        se = R / R0 * sqrt(a / X + b / S)

    Weeks take the trimester's ``a, b, R0``: a week's visits are a tenth of a trimester's, and the absolute
    ``a, b`` of a trimester gave weekly intervals ~20 times too wide (docs/equity_fit_guards.md, section 2).
    Staff profiles get none."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cell_var AS
        WITH schools AS (
            SELECT period_type, period, profile, level, ev_active::DOUBLE AS x, ev_sessions::DOUBLE AS y
            FROM {units} WHERE published AND ev_active > 0
        ),
        pooled AS (
            SELECT period_type, period, profile, coalesce(level, 'all') AS level, count(*) AS schools,
                   sum(y) / sum(x) AS r
            FROM schools GROUP BY GROUPING SETS ((period_type, period, profile, level), (period_type, period, profile))
        ),
        moments AS (  -- normal equations of e^2 ~ a x + b x^2 (no intercept)
            SELECT q.period_type, q.period, q.profile, q.level, q.schools, q.r,
                   sum(s.x ^ 2) AS x2, sum(s.x ^ 3) AS x3, sum(s.x ^ 4) AS x4,
                   sum((s.y - q.r * s.x) ^ 2 * s.x) AS ex, sum((s.y - q.r * s.x) ^ 2 * s.x ^ 2) AS exx
            FROM pooled q JOIN schools s USING (period_type, period, profile)
            WHERE q.level = 'all' OR s.level = q.level
            GROUP BY ALL
        ),
        solved AS (
            SELECT *, (ex * x4 - exx * x3) / nullif(x2 * x4 - x3 * x3, 0) AS a0,
                      (exx * x2 - ex * x3) / nullif(x2 * x4 - x3 * x3, 0) AS b0
            FROM moments WHERE schools >= {MIN_ICC_SCHOOLS} AND r > 0
        )
        SELECT period_type, period, profile, level, r AS ratio,
               CASE WHEN a0 >= 0 AND b0 >= 0 THEN a0 WHEN coalesce(b0, -1) < 0 THEN ex / x2 ELSE 0 END AS a,
               CASE WHEN a0 >= 0 AND b0 >= 0 THEN b0 WHEN coalesce(b0, -1) < 0 THEN 0 ELSE exx / x4 END AS b
        FROM solved
    """)
    x = "(c.sessions / c.visits_per_active)"
    con.execute(f"ALTER TABLE {cells} ADD COLUMN visits_per_active_se DOUBLE")
    con.execute(f"""
        UPDATE {cells} c SET visits_per_active_se = c.visits_per_active / r.ratio * sqrt(r.a / {x} + r.b / c.schools)
        FROM ({_week_rows("_cell_var")}) r
        WHERE r.period_type = c.period_type AND r.period = c.period AND r.profile = c.profile AND r.level = c.level
          AND NOT c.suppressed AND c.visits_per_active > 0 AND c.sessions > 0
    """)


# Half-widths (rate scale) a cluster margin is rounded up to: docs/equity_fit_guards.md, section 2.
MARGIN_LADDER = (0.01, 0.02, 0.03, 0.05, 0.07, 0.10, 0.15, 0.20, 0.30, 0.50, 1.00)


def ladder_margin(margin: float) -> float:
    """The smallest value of MARGIN_LADDER at or above ``margin`` (a half-width on the rate scale)."""
    for step in MARGIN_LADDER:
        if margin <= step + 1e-12:
            return step
    return MARGIN_LADDER[-1]


def cluster_margins(con, family: Family, measure: int) -> pd.DataFrame:
    """The 95 % half-width of the rate ``m<measure>_k / m<measure>_n`` of every published cell of ``family``,
    with the school as the unit, for cells whose school figures are never published (feature reach, staff):

        var = S / (S - 1) * sum_i (k_i - p n_i)^2 / (sum_i n_i)^2     (linearised ratio estimator)
        margin = t(0.975, S - 1) * sqrt(var), rounded up to MARGIN_LADDER

    over the cell's S schools with n_i > 0; none below MIN_ICC_SCHOOLS schools. The margin depends on the
    schools' rates and relative sizes only (multiplying every count of the cell by the same factor leaves
    it unchanged): it carries no equation on the cell's denominator, and the rounding leaves a class, not
    a number (docs/equity_fit_guards.md, section 2; docs/disclosure_control.md).

    Returns the cell key (group columns and CELL_KEY) and ``margin`` (NULL when not computable).
    """
    keys = [*family.group_cols, *CELL_KEY]
    n, k = f"m{measure}_n::DOUBLE", f"m{measure}_k::DOUBLE"
    # Per-cell sums over the cell's schools, aggregated like the cells themselves (no membership table).
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _cluster_units AS
        SELECT *, ({n} > 0)::INTEGER AS _s, {k} AS _k, {n} AS _n, {k} * {k} AS _kk, {k} * {n} AS _kn,
               {n} * {n} AS _nn
        FROM {family.units}
    """)
    sums = cells_sql(family, "_cluster_units", ["_s", "_k", "_n", "_kk", "_kn", "_nn"], count_as="_units")
    join = " AND ".join(f"c.{key} IS NOT DISTINCT FROM x.{key}" for key in keys)
    frame = con.sql(f"""
        SELECT {", ".join(f"c.{key}" for key in keys)}, x._s AS s, x._k AS sk, x._n AS sn, x._kk AS skk,
               x._kn AS skn, x._nn AS snn
        FROM {family.cells} c JOIN ({sums}) x ON {join}
        WHERE c.published AND x._n > 0
    """).df()
    if frame.empty:
        return frame.assign(margin=pd.Series(dtype=float))[keys + ["margin"]]
    s = frame["s"].to_numpy(float)
    p = frame["sk"].to_numpy(float) / frame["sn"].to_numpy(float)
    ss = np.maximum(frame["skk"] - 2 * p * frame["skn"] + p * p * frame["snn"], 0.0).to_numpy(float)
    enough = s >= MIN_ICC_SCHOOLS
    df = np.where(enough, s - 1, 1)
    raw = stats.t.ppf(0.975, df) * np.sqrt(np.where(enough, s / df, 0) * ss) / frame["sn"].to_numpy(float)
    frame["margin"] = [ladder_margin(m) if ok else None for m, ok in zip(raw, enough)]
    return frame[keys + ["margin"]]


def write_cluster_margins(con, family: Family, measure: int, target: str, column: str,
                          scale: float = 1.0, where: str = "true") -> None:
    """Set ``column`` of the published cells of ``target`` (a serving table keyed like ``family``'s cells) to
    ``cluster_margins(...) / scale`` where ``where`` holds (``scale`` = Z95 stores a standard error whose
    95 % margin is the rounded one)."""
    margins = cluster_margins(con, family, measure)
    margins = margins[margins["margin"].notna()]
    if margins.empty:
        return
    keys = [c for c in (*family.group_cols, *CELL_KEY) if c not in ("period_start", "period_end")]
    con.register("_cluster_margins", margins)
    join = " AND ".join(f"t.{c} = m.{c}" for c in keys)
    con.execute(f"""
        UPDATE {target} t SET {column} = m.margin / {scale}
        FROM _cluster_margins m WHERE {join} AND NOT t.suppressed AND ({where})
    """)
    con.unregister("_cluster_margins")
