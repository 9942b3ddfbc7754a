"""Usage and adoption indicators: adoption per period, feature reach, rollups. The weekly ones
(sessions, usage_weekly) are dbt models: pipelines/defs/event_models/."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.indicators.queries import indicator_sql
from pipelines.defs.ingest.partitions import FIRST_WEEK

WHOLE = dict(group_name="indicators", kinds={"duckdb"})


@dg.asset(deps=["lake_events"], **WHOLE)
def periods(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Reporting periods: ISO weeks, months, school trimesters and school years, up to the data horizon."""
    with duckdb.get_connection() as con:
        con.execute(indicator_sql("periods"), {"first_day": FIRST_WEEK})
        rows = dict(con.execute("SELECT period_type, count(*) FROM periods GROUP BY ALL").fetchall())
    return dg.MaterializeResult(metadata={f"{k}s": v for k, v in rows.items()})


def _recompute_from(con) -> str:
    """First day whose periods are recomputed: after the last retention purge, raw events are gone and
    older periods keep the figures computed while they existed."""
    purged = con.execute(
        "SELECT max(value) FROM warehouse_settings WHERE key = 'events_purged_before'"
    ).fetchall()[0][0]
    return max(FIRST_WEEK, purged) if purged else FIRST_WEEK


def _replace_periods(con, table: str, from_day: str) -> int:
    select = indicator_sql(table)
    con.execute("BEGIN TRANSACTION")
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM ({select}) LIMIT 0", {"from_day": from_day})
    con.execute(f"DELETE FROM {table} WHERE (period_type, period) IN "
                "(SELECT period_type, period FROM periods WHERE period_start >= ?)", [from_day])
    con.execute(f"INSERT INTO {table} {select}", {"from_day": from_day})
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    con.execute("COMMIT")
    return rows


@dg.asset(deps=["sessions", "accounts", "ode_statistics", "periods", "schools"], **WHOLE)
def adoption_school(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Loaded, activated, active accounts, visits, breadth, mobile share per school × period × profile."""
    with duckdb.get_connection() as con:
        from_day = _recompute_from(con)
        rows = _replace_periods(con, "adoption_school", from_day)
        ode = con.execute("SELECT count(DISTINCT uai) FROM adoption_school WHERE source = 'ode_statistics'").fetchall()[0][0]
    return dg.MaterializeResult(metadata={"rows": rows, "recomputed_from": from_day, "schools_ode_only": ode})


@dg.asset(deps=["adoption_school", "sessions", "accounts"], **WHOLE)
def feature_reach_school(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Share of active accounts that used each service, per school × period × profile."""
    with duckdb.get_connection() as con:
        rows = _replace_periods(con, "feature_reach_school", _recompute_from(con))
    return dg.MaterializeResult(metadata={"rows": rows})


@dg.asset(deps=["accounts", "schools"], **WHOLE)
def school_ips_quintiles(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """National IPS quintile of each school for each profile, weighted by the profile's loaded accounts."""
    with duckdb.get_connection() as con:
        con.execute(indicator_sql("school_ips_quintiles"))
        counts = con.execute(
            "SELECT profile, ips_quintile, sum(accounts) FROM school_ips_quintiles GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    return dg.MaterializeResult(metadata={f"{p}_accounts_q{q}": int(n) for p, q, n in counts})


def _rollup(con, table: str) -> int:
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {indicator_sql(table)}")
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


period_indicator_assets = [periods, adoption_school, feature_reach_school, school_ips_quintiles,
                           adoption_rollup, feature_reach_rollup]
