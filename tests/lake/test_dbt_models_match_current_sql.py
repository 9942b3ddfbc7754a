"""The dbt models give, on DuckDB, what the warehouse's current SQL gives on the same events:
sessions = pipelines/defs/indicators/sql/sessions.sql, usage_weekly = .../usage_weekly.sql."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.defs.indicators.queries import indicator_sql
from pipelines.defs.ingest.ingest_file import ensure_schema
from tests.lake.event_lake import FIRST_WEEK, LAST_WEEK

SESSION_COLUMNS = "uai, user_pseudo, profile, week_start, started_at, channel, events, services_mask, hour_paris, weekday_paris"
USAGE_COLUMNS = "uai, week_start, profile, service, channel, events, sessions, accounts"
# The lake keeps the 128-bit pseudonym as 16 bytes, the warehouse as a UHUGEINT.
AS_UHUGEINT = "('0x' || hex(user_pseudo))::UHUGEINT AS user_pseudo"
# The warehouse's event ids are keyed hashes (UHUGEINT); the fixture's are text. Their rank keeps the order
# the sessions tie-break on.
EVENT_ID_RANK = "dense_rank() OVER (ORDER BY event_id)::UHUGEINT AS event_id"


@pytest.fixture(scope="module")
def warehouse(event_lake, duckdb_build):
    """The fixture's events in the warehouse schema, the current SQL run on them (tables sessions and
    usage_weekly), and the dbt build attached as `dbt`."""
    lake, _ = event_lake
    window = {"first_week": FIRST_WEEK, "last_week": LAST_WEEK}
    with duckdb.connect() as con:
        ensure_schema(con)
        con.execute("DROP VIEW events")  # the warehouse's view of its own lake, replaced by the fixture's events
        con.execute(f"""
            CREATE TABLE events AS
            SELECT {EVENT_ID_RANK}, occurred_at, week_start, uai, {AS_UHUGEINT}, profile::profile_t AS profile,
                   service::service_t AS service, event_type, channel::channel_t AS channel,
                   auth_method::auth_method_t AS auth_method, source_file
            FROM read_parquet('{lake}/events/*/*.parquet', hive_partitioning = true)""")
        con.execute(f"CREATE TABLE sessions AS {indicator_sql('sessions')}", window)
        con.execute(f"CREATE TABLE usage_weekly AS {indicator_sql('usage_weekly')}", window)
        con.execute(f"ATTACH '{duckdb_build / 'event_models.duckdb'}' AS dbt (READ_ONLY)")
        yield con


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
