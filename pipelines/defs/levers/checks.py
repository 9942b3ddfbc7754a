"""Checks on the levers tables: intervals around their estimates, one row per key, the activity to date
adds up to the school-year figures, the gap parts add up, rankings are complete."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.equity import MIN_RANKED_SCHOOLS
from pipelines.quality.violations import violations

TOLERANCE = 1e-6
INTERVAL = "(ci_low > estimate + 1e-9 OR ci_high < estimate - 1e-9 OR NOT isfinite(estimate))"

_SII_FIGURES = ("sii_before", "sii_after")
# A scenario's SII (points) under the published SII's rules (docs/equity_fit_guards.md): present with both
# bounds or absent with the guard that refused it, in [-100, 100], an interval of positive width around it,
# on at least MIN_RANKED_SCHOOLS schools. The publisher applies them before it swaps a release in.
SCENARIO_RULES = {
    "sii_without_interval": " OR ".join(
        f"(sii_refusal IS NULL AND ({c} IS NULL OR {c}_ci_low IS NULL OR {c}_ci_high IS NULL "
        f"OR NOT isfinite({c}) OR NOT isfinite({c}_ci_low) OR NOT isfinite({c}_ci_high) OR {c}_ci_high <= {c}_ci_low))"
        for c in (*_SII_FIGURES, "sii_change")),
    "refused_sii_shown": "sii_refusal IS NOT NULL AND coalesce(sii_before, sii_after, sii_change) IS NOT NULL",
    "sii_outside_minus_100_100": " OR ".join(f"{c}_ci_low < -100 OR {c}_ci_high > 100" for c in _SII_FIGURES),
    "ci_not_around_sii": " OR ".join(f"{c}_ci_low > {c} + 1e-9 OR {c}_ci_high < {c} - 1e-9"
                                     for c in (*_SII_FIGURES, "sii_change")),
    "sii_on_fewer_than_min_ranked_schools": f"sii_refusal IS NULL AND n_schools < {MIN_RANKED_SCHOOLS}",
}


def _result(con, table: str, rules: dict[str, str]) -> dg.AssetCheckResult:
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchall()[0][0]:
        return dg.AssetCheckResult(passed=True, metadata={"skipped": f"no {table} table"})
    broken = violations(con, table, rules)
    return dg.AssetCheckResult(passed=not any(broken.values()), metadata=broken)


def _duplicates(table: str, key: str) -> str:
    return (f"(school_year, {key}) IN (SELECT (school_year, {key}) FROM {table} "
            f"GROUP BY school_year, {key} HAVING count(*) > 1)")


@dg.asset_check(asset="parent_activity_to_date", blocking=True,
                description="Activity to date never falls, stays within loaded accounts, and at the last week equals "
                            "the school-year active parents of adoption_school.")
def activity_to_date_adds_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        return _result(con, "parent_activity_to_date", {
            "above_loaded_or_negative": "active_to_date > loaded OR active_to_date < 0",
            "falls": """(school_year, uai, week_start) IN (SELECT (school_year, uai, week_start) FROM (
                SELECT *, lag(active_to_date) OVER (PARTITION BY school_year, uai ORDER BY week_start) AS previous
                FROM parent_activity_to_date) WHERE active_to_date < previous)""",
            "last_week_differs_from_school_year": """(school_year, uai, week_start) IN (
                SELECT (t.school_year, t.uai, t.week_start) FROM parent_activity_to_date t
                JOIN (SELECT school_year, max(week_start) AS last FROM parent_activity_to_date GROUP BY 1) l
                  ON l.school_year = t.school_year AND l.last = t.week_start
                JOIN adoption_school a ON a.period_type = 'school_year' AND a.period = t.school_year
                  AND a.uai = t.uai AND a.profile = 'parent' AND a.source = 'events'
                WHERE a.active <> t.active_to_date)""",
        })


@dg.asset_check(asset="lever_effects", blocking=True,
                description="Each lever × scope × profile × scale × method once; interval around the estimate; n_schools > 0.")
def lever_effects_valid(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        return _result(con, "lever_effects", {
            "interval_not_around_estimate": INTERVAL,
            "no_school": "n_schools <= 0",
            "duplicate_key": _duplicates("lever_effects", "lever, scope, profile, scale, method"),
        })


@dg.asset_check(asset="workshop_event_study", blocking=True,
                description="One row per scope × scale × event time, none at the base week -1; band wider than the interval.")
def workshop_event_study_valid(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        return _result(con, "workshop_event_study", {
            "interval_not_around_estimate": INTERVAL,
            "row_at_base_week": "event_time = -1",
            "band_narrower_than_interval": "band_low > ci_low + 1e-9 OR band_high < ci_high - 1e-9",
            "duplicate_key": _duplicates("workshop_event_study", "scope, scale, event_time"),
        })


@dg.asset_check(asset="gap_decomposition", blocking=True,
                description="Gap = explained + unexplained, and the factor groups add up to the explained part.")
def gap_parts_add_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'gap_decomposition'").fetchall()[0][0]:
            return dg.AssetCheckResult(passed=True, metadata={"skipped": "no gap_decomposition table"})
        rows = con.execute(f"""
            WITH parts AS (
                SELECT school_year, gap, scope,
                       any_value(estimate) FILTER (WHERE component = 'gap') AS total,
                       any_value(estimate) FILTER (WHERE component = 'explained') AS explained,
                       any_value(estimate) FILTER (WHERE component = 'unexplained') AS unexplained,
                       sum(estimate) FILTER (WHERE component NOT IN ('gap', 'explained', 'unexplained')) AS detail
                FROM gap_decomposition GROUP BY ALL
            )
            SELECT count(*) FILTER (WHERE abs(total - explained - unexplained) > {TOLERANCE}),
                   count(*) FILTER (WHERE isfinite(detail) AND abs(detail - explained) > {TOLERANCE})
            FROM parts""").fetchall()[0]
    return dg.AssetCheckResult(passed=not any(rows), metadata={"gap_not_split": rows[0], "detail_not_explained": rows[1]})


@dg.asset_check(asset="workshop_targets", blocking=True,
                description="Ranks 1..n per académie; extra active parents within their interval and below the inactive parents.")
def workshop_targets_valid(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        return _result(con, "workshop_targets", {
            "extra_outside_interval": "extra_active < extra_active_low - 1e-9 OR extra_active > extra_active_high + 1e-9",
            "more_than_inactive": "extra_active_high > loaded - active + 1e-9",
            "ranks_not_contiguous": """(school_year, academie_code) IN (SELECT (school_year, academie_code)
                FROM workshop_targets GROUP BY ALL HAVING max(rank) <> count(*) OR count(DISTINCT rank) <> count(*))""",
        })


lever_checks = [activity_to_date_adds_up, lever_effects_valid, workshop_event_study_valid, gap_parts_add_up,
                workshop_targets_valid]
