"""The tables a dbt build wrote, read back through DuckDB as comparable rows, whatever the engine."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.lake.dbt_run import duckdb_table, spark_table_folder


def duckdb_model(work: Path, model: str) -> tuple[list[tuple], list[tuple]]:
    """(rows in a fixed order, schema as (column, type)) of ``model`` in the DuckDB build in ``work``."""
    with duckdb.connect(str(duckdb_table(work)), read_only=True) as con:
        return _read(con, f"main.{model}")


def spark_model(work: Path, model: str) -> tuple[list[tuple], list[tuple]]:
    """The same for the Spark build: the Parquet files of its managed table."""
    folder = spark_table_folder(work, model)
    assert any(folder.glob("*.parquet")), f"no Parquet file in {folder}"
    with duckdb.connect() as con:
        return _read(con, f"read_parquet('{folder}/*.parquet')")


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
