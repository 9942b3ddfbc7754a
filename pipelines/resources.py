"""Dagster resources: the warehouse is one DuckDB file under ``$ENT_DATA_DIR/warehouse``."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from dagster_duckdb import DuckDBResource

from pipelines.file_modes import private_folder, restrict
from pipelines.paths import warehouse_path


class WarehouseResource(DuckDBResource):
    """DuckDBResource whose file gets the product's file mode as soon as a connection has created it
    (owner-only by default, see ``pipelines.file_modes``); its folder, created at definition time, holds
    DuckDB's WAL and spill files too. Connections run in UTC, not in the host's zone (DuckDB's default):
    the SQL names Europe/Paris wherever a local day or week is meant."""

    @contextmanager
    def get_connection(self):
        with super().get_connection() as con:
            restrict(Path(self.database))
            con.execute("SET TimeZone = 'UTC'")
            yield con


def warehouse_resource() -> DuckDBResource:
    """The warehouse resource (its folder is created if missing)."""
    path = warehouse_path()
    private_folder(path.parent)
    return WarehouseResource(database=str(path))
