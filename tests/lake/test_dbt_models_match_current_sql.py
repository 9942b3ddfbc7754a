"""The dbt period models give, on DuckDB, what the warehouse's current SQL gives on the same events,
sessions and dimensions: adoption_school and feature_reach_school = the files of the same name in
pipelines/defs/indicators/sql, data_gaps = pipelines/defs/ingest/sql/data_gaps.sql. (sessions and
usage_weekly are run by dbt in Dagster already; their checks are in test_dbt_models_hand_computed.py.)

Transitional: each test goes with its SQL file, when the file is deleted because Dagster runs the model
(docs/scale/dbt_engines.md, section 3). The models' own checks are in test_dbt_sessions.py and
test_dbt_period_models.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tests.lake.event_lake import AS_UHUGEINT, EVENT_ID_RANK, FIRST_DAY, FIRST_WEEK, LAST_WEEK, MAYOTTE_SCHOOL

WINDOW = {"first_week": FIRST_WEEK, "last_week": LAST_WEEK}
SQL = Path(__file__).resolve().parents[2] / "pipelines" / "defs"


def _current_sql(name: str) -> str:
    if name == "data_gaps":
        return (SQL / "ingest" / "sql" / "data_gaps.sql").read_text()
    from pipelines.defs.indicators.queries import indicator_sql
    return indicator_sql(name)


@pytest.fixture(scope="module")
def warehouse(event_lake, fixture_warehouse, duckdb_build, tmp_path_factory):
    """A copy of the fixture warehouse (its dimensions) with the lake's events and the dbt build's sessions
    (attached as `dbt`), the current SQL run on them (tables adoption_school, feature_reach_school,
    data_gaps)."""
    lake, _ = event_lake
    copy = tmp_path_factory.mktemp("current_sql") / "observatoire.duckdb"
    shutil.copy(fixture_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        # The lake's events as the warehouse types them, under the names the current SQL reads (events,
        # and staged_events for data_gaps.sql), in place of whatever the warehouse schema made of them.
        for name in ("events", "staged_events"):
            kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
            if kind:
                con.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} {name}")
        con.execute(f"""
            CREATE TABLE events AS
            SELECT {EVENT_ID_RANK}, occurred_at, week_start, uai, {AS_UHUGEINT}, profile::profile_t AS profile,
                   service::service_t AS service, event_type, channel::channel_t AS channel,
                   auth_method::auth_method_t AS auth_method, source_file
            FROM read_parquet('{lake}/events/*/*.parquet', hive_partitioning = true)""")
        con.execute("CREATE TABLE staged_events AS SELECT * FROM events")
        con.execute(f"ATTACH '{duckdb_build / 'event_models.duckdb'}' AS dbt (READ_ONLY)")
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'sessions' "
                           "AND table_catalog = current_database()").fetchall()
        if kind:
            con.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} sessions")
        # The dbt sessions, pseudonyms already as the warehouse keeps them (UHUGEINT on DuckDB).
        con.execute("CREATE TABLE sessions AS SELECT * FROM dbt.main.sessions")
        con.execute(f"CREATE TABLE adoption_school AS {_current_sql('adoption_school')}", {"from_day": FIRST_DAY})
        con.execute(f"CREATE TABLE feature_reach_school AS {_current_sql('feature_reach_school')}", {"from_day": FIRST_DAY})
        con.execute(f"INSERT INTO data_gaps {_current_sql('data_gaps')}", WINDOW | {"min_median": 20})
        yield con


def _columns(con, table: str) -> list[str]:
    return [name for name, *_ in con.execute(f"DESCRIBE {table}").fetchall()]


def _same_rows(con, model: str) -> list[tuple]:
    """The current table's rows, asserted equal to the model's (same columns, profile as text)."""
    columns = _columns(con, model)
    assert _columns(con, f"dbt.main.{model}") == columns
    select = ", ".join("profile::VARCHAR AS profile" if c == "profile" else c for c in columns)
    current = con.execute(f"SELECT {select} FROM {model} ORDER BY ALL").fetchall()
    ported = con.execute(f"SELECT {select} FROM dbt.main.{model} ORDER BY ALL").fetchall()
    assert ported == current
    return current


def test_adoption_school(warehouse):
    rows = _same_rows(warehouse, "adoption_school")
    assert {r[4] for r in rows} == {"events", "ode_statistics"} and len(rows) > 500


def test_feature_reach_school(warehouse):
    assert len(_same_rows(warehouse, "feature_reach_school")) > 1000


def test_data_gaps(warehouse):
    # One deliberate difference (docs/scale/dbt_engines.md, section 3): where the académie's median week
    # is empty, the current SQL divides by zero and flags every week of the school (ratios NaN or inf);
    # the model judges none of them.
    odd = warehouse.execute("SELECT DISTINCT uai FROM data_gaps WHERE isnan(academie_ratio) OR isinf(academie_ratio)")
    assert odd.fetchall() == [(MAYOTTE_SCHOOL,)]
    warehouse.execute("DELETE FROM data_gaps WHERE uai = ?", [MAYOTTE_SCHOOL])
    assert len(_same_rows(warehouse, "data_gaps")) >= 1
