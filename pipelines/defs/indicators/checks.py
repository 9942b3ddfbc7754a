"""Checks on the indicators: rates are rates, counts are consistent, rollups add up."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.quality.violations import violations

COUNTS = ("loaded", "activated", "active", "sessions")

ADOPTION_RULES = {
    "activation_rate_outside_0_1": "activation_rate NOT BETWEEN 0 AND 1",
    "active_rate_outside_0_1": "active_rate NOT BETWEEN 0 AND 1",
    "mobile_share_outside_0_1": "mobile_share NOT BETWEEN 0 AND 1",
    "active_above_loaded": "active > loaded",
    "activated_above_loaded": "activated > loaded",
}


@dg.asset_check(asset="adoption_school", blocking=True, description="Rates in [0, 1]; active ≤ loaded; activated ≤ loaded.")
def adoption_school_rates_consistent(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        found = violations(con, "adoption_school", ADOPTION_RULES)
    return dg.AssetCheckResult(passed=not any(found.values()), metadata=found)


@dg.asset_check(asset="feature_reach_school", blocking=True, description="Reach in [0, 1]; users ≤ active.")
def feature_reach_in_bounds(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        found = violations(con, "feature_reach_school", {"reach_outside_0_1": "reach NOT BETWEEN 0 AND 1",
                                                          "users_above_active": "users > active"})
    return dg.AssetCheckResult(passed=not any(found.values()), metadata=found)


def rollup_mismatches(con) -> dict[str, int]:
    """Rows where départements do not add up to their académie, or académies to the nation."""
    sums = ", ".join(f"sum({c}) AS {c}" for c in COUNTS)
    differ = " OR ".join(f"c.{c} IS DISTINCT FROM p.{c}" for c in COUNTS)
    out = {}
    for child, parent, parent_key in (("departement", "academie", "d.academie_code"), ("academie", "nation", "'FR'")):
        out[f"{child}_sums_differ_from_{parent}"] = con.execute(
            f"""
            WITH children AS (
                SELECT r.period_type, r.period, r.profile, {parent_key} AS parent_code, {sums}
                FROM adoption_rollup r
                LEFT JOIN departements d ON d.departement_code = r.geo_code
                WHERE r.geo_level = '{child}' AND r.breakdown = 'all'
                GROUP BY ALL
            )
            SELECT count(*) FROM children c
            FULL JOIN (SELECT * FROM adoption_rollup WHERE geo_level = '{parent}' AND breakdown = 'all') p
              ON p.period_type = c.period_type AND p.period = c.period AND p.profile = c.profile
             AND p.geo_code = c.parent_code
            WHERE {differ}
            """
        ).fetchall()[0][0]
    return out


@dg.asset_check(asset="adoption_rollup", blocking=True, description="Département sums = académie sums = nation; rates in [0, 1].")
def adoption_rollup_adds_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        found = rollup_mismatches(con) | violations(con, "adoption_rollup", ADOPTION_RULES)
    return dg.AssetCheckResult(passed=not any(found.values()), metadata=found)


indicator_checks = [adoption_school_rates_consistent, feature_reach_in_bounds, adoption_rollup_adds_up]
