"""The one way to write to the warehouse in a transaction: ``transaction`` (commit, or roll back on any
error) and ``replace_rows`` (a table's rows of a range, or the whole table, replaced in one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # annotations only: a no-op ``ent-equity run`` imports no pandas (tests/test_rerun.py)
    import pandas as pd


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN; COMMIT when the block ends, ROLLBACK (then re-raise) when it raises anything. A failed COMMIT
    is not rolled back: DuckDB has already aborted the transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, select_sql: str, *, where: str | None = None,
                 params: dict | None = None, views: dict[str, pd.DataFrame] | None = None) -> int:
    """Replace the rows of ``table`` that ``where`` selects by the rows of ``select_sql`` that it selects
    (creating the table from their columns if missing, adding the columns it lacks), or without ``where``
    the whole table, its columns included, in one transaction; return the rows written. ``params`` go to
    every statement; ``views`` (name -> data frame) are registered while it runs."""
    views = views or {}
    for name, frame in views.items():
        con.register(name, frame)
    try:
        with transaction(con):
            if where is None:
                return con.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}", params).fetchall()[0][0]
            rows = f"SELECT * FROM ({select_sql}) WHERE {where}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE _replace_rows_columns AS {rows} LIMIT 0", params)
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS FROM _replace_rows_columns")
            # A table written before a column was added gains it (NULL in the rows written before)
            have = {name for name, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
            for name, kind, *_ in con.execute("DESCRIBE _replace_rows_columns").fetchall():
                if name not in have:
                    con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}')
            con.execute("DROP TABLE _replace_rows_columns")
            con.execute(f"DELETE FROM {table} WHERE {where}", params)
            return con.execute(f"INSERT INTO {table} BY NAME {rows}", params).fetchall()[0][0]
    finally:
        for name in views:
            con.unregister(name)
