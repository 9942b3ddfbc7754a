"""The tables a dbt build wrote, read back through DuckDB as comparable rows, whatever the engine."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.lake.dbt_run import duckdb_table, spark_table_folder

# Each model's columns, in the order of its SQL (and of its DuckDB table).
_SESSIONS = ["uai", "user_pseudo", "profile", "week_start", "iso_week", "started_at", "channel",
             "events", "services_mask", "hour_paris", "weekday_paris", "hour_local", "weekday_local"]
_ADOPTION = ["period_type", "period", "uai", "profile", "source", "loaded", "activated", "active", "sessions",
             "mobile_sessions", "services_used", "active_without_account", "sessions_by_hour",
             "sessions_by_weekday", "missing_reason", "activation_rate", "active_rate", "visits_per_active",
             "breadth", "mobile_share"]
_REACH = ["period_type", "period", "uai", "profile", "service", "users", "active", "reach"]
_GAPS = ["uai", "week_start", "events", "median_events", "school_ratio", "academie_ratio"]
COLUMNS = {"sessions": _SESSIONS, "adoption_school": _ADOPTION,
           "feature_reach_school": _REACH, "data_gaps": _GAPS}


def duckdb_model(work: Path, model: str) -> tuple[list[tuple], list[tuple]]:
    """(rows in a fixed order, schema as (column, type)) of ``model`` in the DuckDB build in ``work``."""
    with duckdb.connect(str(duckdb_table(work)), read_only=True) as con:
        return _read(con, f"main.{model}")


def spark_model(work: Path, model: str, columns: list[str]) -> tuple[list[tuple], list[tuple]]:
    """The same for the Spark build, its columns in the order ``columns``: the Parquet files of its
    managed table, hive-partitioned (Spark keeps the partition columns in the folder names and puts them
    last in the table's schema: docs/scale/dbt_engines.md, section 4)."""
    folder = spark_table_folder(work, model)
    assert folder.is_dir(), f"no table folder {folder}"
    if not any(folder.rglob("*.parquet")):
        return [], []  # an empty table (every partition dropped)
    partitions = {part.split("=")[0] for part in (p.name for p in folder.iterdir()) if "=" in part}
    # Partition values are text in folder names; week_start is the one that is not text.
    types = ", hive_types = {'week_start': 'DATE'}" if "week_start" in partitions else ""
    with duckdb.connect() as con:
        return _read(con, f"(SELECT {', '.join(columns)} FROM read_parquet('{folder}/**/*.parquet', "
                          f"hive_partitioning = true, hive_types_autocast = false{types}))")


def as_dicts(rows: list[tuple], schema: list[tuple]) -> list[dict]:
    names = [name for name, _ in schema]
    return [dict(zip(names, row)) for row in rows]


def _read(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[tuple], list[tuple]]:
    schema = [(name, kind) for name, kind, *_ in con.sql(f"DESCRIBE SELECT * FROM {table}").fetchall()]
    # Instants as microseconds since the epoch, so that no time zone of the reading client enters;
    # pseudonyms as the lake's 16 bytes (DuckDB's warehouse keeps them as UHUGEINT: warehouse_pseudonym).
    columns = ", ".join(f"epoch_us({name}) AS {name}" if kind == "TIMESTAMP WITH TIME ZONE"
                        else f"unhex(lpad(hex({name}), 32, '0')) AS {name}" if kind == "UHUGEINT" else name
                        for name, kind in schema)
    schema = [(name, "BLOB" if kind == "UHUGEINT" else kind) for name, kind in schema]
    return con.sql(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall(), schema
