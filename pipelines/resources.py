"""Dagster resources: the warehouse is one DuckDB file under ``$ENT_DATA_DIR/warehouse``."""

from __future__ import annotations

from dagster_duckdb import DuckDBResource

from pipelines.paths import warehouse_path


def warehouse_resource() -> DuckDBResource:
    """DuckDBResource on the warehouse file (its folder is created if missing)."""
    path = warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return DuckDBResource(database=str(path))
