"""Checks on the equity tables: numbers are finite, rates are rates, the Theil parts add up, SII / RII and
their intervals inside the range the measures can take (the fit guards of ``pipelines.equity.fit_guard``
as a blocking net: a value that escaped them stops the release), and no figure rests on fewer than
MIN_SCHOOLS schools (MIN_RANKED_SCHOOLS for an SII / RII)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.equity.summary_measures import MIN_SCHOOLS
from pipelines.equity import FDR_LEVEL, MIN_RANKED_SCHOOLS, RII_MAX
from pipelines.quality.violations import violations

THEIL_TOLERANCE = 1e-9


def _not_finite(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"({c} IS NOT NULL AND NOT isfinite({c}))" for c in columns)


def _outside_0_1(columns: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"{c} NOT BETWEEN 0 AND 1" for c in columns) + ")"  # a NULL is not counted


SII_MEASURES = "measure IN ('sii', 'sii_linear', 'rii')"
SUMMARY_RULES = {
    "not_finite": _not_finite(("value", "ci_low", "ci_high")),
    "rate_outside_0_1": "measure IN ('mean_rate') AND " + _outside_0_1(("value", "ci_low", "ci_high")),
    "sii_outside_minus_1_1": "measure IN ('sii', 'sii_linear') AND (value NOT BETWEEN -1 AND 1 "
                             "OR ci_low < -1 OR ci_high > 1)",
    "rii_out_of_range": f"measure = 'rii' AND (value NOT BETWEEN {1 / RII_MAX} AND {RII_MAX} "
                        f"OR ci_low < {1 / RII_MAX} OR ci_high > {RII_MAX})",
    "sii_without_interval": f"{SII_MEASURES} AND (ci_low IS NULL OR ci_high IS NULL OR ci_high <= ci_low)",
    "ci_not_around_value": "ci_low > value OR ci_high < value",
    "fewer_than_min_schools": f"n_schools < {MIN_SCHOOLS} OR weight_total <= 0",
    "sii_on_fewer_than_min_ranked_schools": f"{SII_MEASURES} AND n_schools < {MIN_RANKED_SCHOOLS}",
}

FLAG_RATES = ("observed_rate", "shrunk_rate", "shrunk_low", "shrunk_high", "eb_shrinkage", "expected_rate", "funnel_target",
              "funnel_low95", "funnel_high95", "funnel_low998", "funnel_high998")
FLAG_RULES = {
    "not_finite": _not_finite(FLAG_RATES + ("observed_minus_expected", "funnel_z", "funnel_p", "funnel_q")),
    "rate_outside_0_1": _outside_0_1(FLAG_RATES + ("funnel_p", "funnel_q")),
    "q_below_p": "funnel_q < funnel_p",
    "shrunk_outside_its_interval": "shrunk_rate NOT BETWEEN shrunk_low AND shrunk_high",
    "funnel_limits_not_nested": "NOT (funnel_low998 <= funnel_low95 AND funnel_low95 <= funnel_target "
                                "AND funnel_target <= funnel_high95 AND funnel_high95 <= funnel_high998)",
    "unknown_flag": "funnel_flag NOT IN ('haut', 'bas')",
    "flag_disagrees_with_fdr": f"(funnel_flag IS NOT NULL) <> coalesce(funnel_q <= {FDR_LEVEL}, false) "
                               "OR (funnel_flag = 'haut' AND funnel_z <= 0) OR (funnel_flag = 'bas' AND funnel_z >= 0)",
}


@dg.asset_check(asset="equity_summary", blocking=True,
                description="Values and intervals finite; mean rates in [0, 1]; SII and its interval in [-1, 1], RII "
                            f"and its interval in [1/{RII_MAX:g}, {RII_MAX:g}], both with an interval of positive "
                            f"width; interval around the value; every row on at least {MIN_SCHOOLS} schools, "
                            f"{MIN_RANKED_SCHOOLS} for an SII / RII.")
def equity_summary_values_valid(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        found = violations(con, "equity_summary", SUMMARY_RULES)
    return dg.AssetCheckResult(passed=not any(found.values()), metadata=found)


def theil_mismatches(con, tolerance: float = THEIL_TOLERANCE) -> dict[str, int]:
    """Groups where theil_between + theil_within differs from theil_total, or a part is missing."""
    row = con.execute(
        f"""
        WITH parts AS (
            PIVOT (SELECT period_type, period, profile, scope, scope_code, level, measure, value
                   FROM equity_summary WHERE measure IN ('theil_total', 'theil_between', 'theil_within'))
            ON measure USING any_value(value)
        )
        SELECT count(*) FILTER (WHERE abs(theil_between + theil_within - theil_total)
                                      > {tolerance} * greatest(1, abs(theil_total))),
               count(*) FILTER (WHERE theil_between IS NULL OR theil_within IS NULL OR theil_total IS NULL)
        FROM parts
        """
    ).fetchall()[0] if _has_theil(con) else (0, 0)
    return {"theil_parts_do_not_add_up": row[0], "theil_part_missing": row[1]}


def _has_theil(con) -> bool:
    return con.execute("SELECT count(*) FROM equity_summary WHERE measure = 'theil_total'").fetchall()[0][0] > 0


@dg.asset_check(asset="equity_summary", blocking=True,
                description="theil_between + theil_within = theil_total in every group.")
def equity_summary_theil_adds_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        found = theil_mismatches(con)
    return dg.AssetCheckResult(passed=not any(found.values()), metadata=found)


@dg.asset_check(asset="school_flags", blocking=True,
                description="Rates, shrunk rates and limits finite and in [0, 1]; shrunk rate inside its interval; "
                            "nested funnel limits; p and q in [0, 1], q >= p; flags 'haut' / 'bas' exactly where the "
                            f"Benjamini-Hochberg q is at most {FDR_LEVEL:.0%}, on the side of z.")
def school_flags_valid(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        found = violations(con, "school_flags", FLAG_RULES)
    return dg.AssetCheckResult(passed=not any(found.values()), metadata=found)


equity_checks = [equity_summary_values_valid, equity_summary_theil_adds_up, school_flags_valid]
