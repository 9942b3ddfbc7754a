"""The dbt models give, on DuckDB, what the warehouse's current SQL gives on the same events and
dimensions: sessions = pipelines/defs/indicators/sql/sessions.sql, usage_weekly = .../usage_weekly.sql,
adoption_school and feature_reach_school = the files of the same name, data_gaps =
pipelines/defs/ingest/sql/data_gaps.sql.

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
SESSION_COLUMNS = "uai, user_pseudo, profile, week_start, started_at, channel, events, services_mask, hour_paris, weekday_paris"
USAGE_COLUMNS = "uai, week_start, profile, service, channel, events, sessions, accounts"
SQL = Path(__file__).resolve().parents[2] / "pipelines" / "defs"


def _current_sql(name: str) -> str:
    if name == "data_gaps":
        return (SQL / "ingest" / "sql" / "data_gaps.sql").read_text()
    from pipelines.defs.indicators.queries import indicator_sql
    return indicator_sql(name)


@pytest.fixture(scope="module")
def warehouse(event_lake, fixture_warehouse, duckdb_build, tmp_path_factory):
    """A copy of the fixture warehouse (its dimensions) with the lake's events, the current SQL run on it
    (tables sessions, usage_weekly, adoption_school, feature_reach_school, data_gaps), and the dbt build
    attached as `dbt`."""
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
        con.execute(f"CREATE TABLE sessions AS {_current_sql('sessions')}", WINDOW)
        con.execute(f"CREATE TABLE usage_weekly AS {_current_sql('usage_weekly')}", WINDOW)
        con.execute(f"CREATE TABLE adoption_school AS {_current_sql('adoption_school')}", {"from_day": FIRST_DAY})
        con.execute(f"CREATE TABLE feature_reach_school AS {_current_sql('feature_reach_school')}", {"from_day": FIRST_DAY})
        con.execute(f"INSERT INTO data_gaps {_current_sql('data_gaps')}", WINDOW | {"min_median": 20})
        con.execute(f"ATTACH '{duckdb_build / 'event_models.duckdb'}' AS dbt (READ_ONLY)")
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


def test_sessions(warehouse):
    current = warehouse.execute(f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY ALL").fetchall()
    ported = warehouse.execute(
        f"SELECT {SESSION_COLUMNS.replace('user_pseudo', AS_UHUGEINT)} FROM dbt.main.sessions ORDER BY ALL"
    ).fetchall()
    assert len(current) > 1000
    assert ported == current


def test_usage_weekly(warehouse):
    current = warehouse.execute(f"SELECT {USAGE_COLUMNS} FROM usage_weekly ORDER BY ALL").fetchall()
    ported = warehouse.execute(f"SELECT {USAGE_COLUMNS} FROM dbt.main.usage_weekly ORDER BY ALL").fetchall()
    services = {row[3] for row in current}
    assert len(current) > 1000 and {"all", "connexion", "notes"} <= services
    assert ported == current


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
