"""Equity assets: inequality summaries per nation / académie, and per-school shrunk rates, expected rates
and funnel flags."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipelines.defs.equity.school_flag_measures import flag_rows
from pipelines.defs.equity.summary_measures import summary_rows
from pipelines.sql_files import load_sql
from pipelines.transactions import replace_rows

EQUITY = dict(deps=["adoption_school", "schools", "school_ips_quintiles", "periods"],
              group_name="equity", kinds={"duckdb"})
SUMMARY_PERIOD_TYPES = ["school_year", "trimester", "month"]
FLAG_PERIOD_TYPES = ["school_year", "trimester"]


def school_rates(con, period_types: list[str]) -> pd.DataFrame:
    """School × period × profile active rates with the school attributes (``sql/school_rates.sql``)."""
    return con.sql(load_sql("pipelines.defs.equity", "school_rates"), params={"period_types": period_types}).df()


def replace_table(con, table: str, view: str, frame: pd.DataFrame, params: dict | None = None) -> int:
    """Rebuild ``table`` whole with ``sql/<table>.sql`` over ``frame`` (registered as ``view``); the rows written."""
    return replace_rows(con, table, load_sql("pipelines.defs.equity", table), params=params, views={view: frame})


@dg.asset(**EQUITY)
def equity_summary(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """SII/RII, concentration indices, Gini, Atkinson, CV, Theil decomposition and gaps per period × profile × scope × level."""
    with duckdb.get_connection() as con:
        rates = school_rates(con, SUMMARY_PERIOD_TYPES)
        frame, failed = summary_rows(rates)
        rows = replace_table(con, "equity_summary", "summary_rows", frame)
        groups = con.execute(
            "SELECT scope, count(DISTINCT (period_type, period, profile, scope_code, level)) FROM equity_summary GROUP BY 1"
        ).fetchall()
    return dg.MaterializeResult(metadata={
        "rows": rows, **{f"groups_{scope}": n for scope, n in groups},
        "schools_without_ips": int(rates.loc[rates["ips"].isna(), "uai"].nunique()),
        **{f"not_computable_{name}": n for name, n in sorted(failed.items())},
    })


@dg.asset(**EQUITY)
def school_flags(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Per school: empirical-Bayes shrunk rate, expected rate à IPS comparable and funnel-plot flag (years, trimesters)."""
    with duckdb.get_connection() as con:
        frame = flag_rows(school_rates(con, FLAG_PERIOD_TYPES))
        rows = replace_table(con, "school_flags", "flag_rows", frame)
        flags = dict(con.execute(
            "SELECT coalesce(funnel_flag, 'none'), count(*) FROM school_flags "
            "WHERE period_type = 'school_year' GROUP BY 1").fetchall())
    return dg.MaterializeResult(metadata={"rows": rows, **{f"school_year_flag_{k}": v for k, v in flags.items()}})


equity_assets = [equity_summary, school_flags]
