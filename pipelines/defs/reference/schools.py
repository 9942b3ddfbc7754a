"""Build the reference tables (académies, départements, communes, schools) from the real open data.

The SQL lives in ``sql/<table>.sql``; ``{{reference_dir}}`` in it is the folder that holds the
reference files (pipelines/sql_files.py). The Dagster assets and the synthetic generator both build
through here, so there is one definition of what a school is.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sql_files import load_sql

# Build order: each table only needs the ones before it.
REFERENCE_TABLES = ("academies", "departements", "communes", "schools")


def build_reference_table(con: duckdb.DuckDBPyConnection, table: str, reference_dir: Path) -> int:
    """(Re)create one reference table in ``con`` and return its row count."""
    con.execute(load_sql("pipelines.defs.reference", table, reference_dir=reference_dir))
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def build_schools(con: duckdb.DuckDBPyConnection, reference_dir: Path) -> None:
    """Create every reference table, ``schools`` last, in ``con``."""
    for table in REFERENCE_TABLES:
        build_reference_table(con, table, reference_dir)
