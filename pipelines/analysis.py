"""Small helpers for analysts' notebooks: open the warehouse read-only, read a table as a DataFrame."""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.paths import warehouse_path


def open_warehouse() -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse (``$ENT_DATA_DIR/warehouse/observatoire.duckdb``).

    DuckDB lets a file have one writing process: while a Dagster run writes, opening fails with a lock
    error; wait for the run to finish."""
    path = warehouse_path()
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `make demo` or `ent-equity run` first")
    return duckdb.connect(str(path), read_only=True)


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> pd.DataFrame:
    """Run ``sql`` with bound parameters and return a pandas DataFrame."""
    return con.sql(sql, params=params).df()


def latest_school_year(con: duckdb.DuckDBPyConnection) -> str:
    """The school year with the most recorded sessions (the demo's 2025-2026)."""
    return con.execute(
        "SELECT period FROM adoption_school WHERE period_type = 'school_year' GROUP BY period "
        "ORDER BY sum(sessions) DESC LIMIT 1"
    ).fetchall()[0][0]
