"""Usage and adoption indicators: reporting periods, IPS quintiles, rollups. The event-scale ones
(sessions, data_gaps, adoption_school, feature_reach_school) are dbt models: pipelines/defs/event_models/."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest.partitions import FIRST_WEEK
from pipelines.sql_files import load_sql

WHOLE = dict(group_name="indicators", kinds={"duckdb"})


@dg.asset(deps=["lake_events"], **WHOLE)
def periods(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Reporting periods: ISO weeks, months, school trimesters and school years, up to the data horizon."""
    with duckdb.get_connection() as con:
        con.execute(load_sql("pipelines.defs.indicators", "periods"), {"first_day": FIRST_WEEK})
        rows = dict(con.execute("SELECT period_type, count(*) FROM periods GROUP BY ALL").fetchall())
    return dg.MaterializeResult(metadata={f"{k}s": v for k, v in rows.items()})


@dg.asset(deps=["accounts", "schools"], **WHOLE)
def school_ips_quintiles(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """National IPS quintile of each school for each profile, weighted by the profile's loaded accounts."""
    with duckdb.get_connection() as con:
        con.execute(load_sql("pipelines.defs.indicators", "school_ips_quintiles"))
        counts = con.execute(
            "SELECT profile, ips_quintile, sum(accounts) FROM school_ips_quintiles GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    return dg.MaterializeResult(metadata={f"{p}_accounts_q{q}": int(n) for p, q, n in counts})


def _rollup(con, table: str) -> int:
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {load_sql('pipelines.defs.indicators', table)}")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


@dg.asset(deps=["adoption_school", "schools"], **WHOLE)
def adoption_rollup(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Adoption summed to département, académie and nation, by level, secteur, EP and rural/urban."""
    with duckdb.get_connection() as con:
        rows = _rollup(con, "adoption_rollup")
    return dg.MaterializeResult(metadata={"rows": rows})


@dg.asset(deps=["feature_reach_school", "school_ips_quintiles", "schools"], **WHOLE)
def feature_reach_rollup(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Feature reach summed to département, académie and nation, by level, secteur, EP, rural/urban, IPS quintile."""
    with duckdb.get_connection() as con:
        rows = _rollup(con, "feature_reach_rollup")
    return dg.MaterializeResult(metadata={"rows": rows})


period_indicator_assets = [periods, school_ips_quintiles, adoption_rollup, feature_reach_rollup]
