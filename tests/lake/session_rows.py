"""The sessions a dbt build wrote, read back through DuckDB as comparable rows, whatever the engine."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.lake.dbt_run import duckdb_table, spark_table_folder

SESSION_COLUMNS = ("uai", "user_pseudo", "profile", "week_start", "iso_week", "started_at", "channel",
                   "events", "services_mask", "hour_paris", "weekday_paris")
# Instants as microseconds since the epoch, so that no time zone of the reading client enters.
_SELECT = ("SELECT uai, user_pseudo, profile, week_start, iso_week, epoch_us(started_at) AS started_us, "
           "channel, events, services_mask, hour_paris, weekday_paris FROM {table} ORDER BY ALL")


def duckdb_sessions(work: Path) -> tuple[list[tuple], list[tuple]]:
    """(rows, schema as (column, type)) of the sessions of the DuckDB build in ``work``."""
    with duckdb.connect(str(duckdb_table(work)), read_only=True) as con:
        return _read(con, "main.sessions")


def spark_sessions(work: Path) -> tuple[list[tuple], list[tuple]]:
    """The same for the Spark build: its managed table's Parquet files."""
    folder = spark_table_folder(work, "sessions")
    assert any(folder.glob("*.parquet")), f"no Parquet file in {folder}"
    with duckdb.connect() as con:
        return _read(con, f"read_parquet('{folder}/*.parquet')")


def _read(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[tuple], list[tuple]]:
    schema = [(name, kind) for name, kind, *_ in con.sql(f"DESCRIBE SELECT * FROM {table}").fetchall()]
    return con.sql(_SELECT.format(table=table)).fetchall(), schema
