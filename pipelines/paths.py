"""Every path the product reads or writes, rooted at ``ENT_DATA_DIR`` (default ``./data``)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "ENT_DATA_DIR"
LAKE_ENV_VAR = "ENT_LAKE_DIR"


def data_dir() -> Path:
    """Root of all product data; tests point ``ENT_DATA_DIR`` at a temporary folder."""
    return Path(os.environ.get(ENV_VAR, "data")).resolve()


def reference_dir() -> Path:
    """Real open reference data (IPS, boundaries, communes, annuaire)."""
    return data_dir() / "reference"


def landing_dir() -> Path:
    """Where ENT exports are dropped (and where the synthetic generator writes)."""
    return data_dir() / "landing"


def truth_dir() -> Path:
    """Ground truth of the synthetic generator, kept beside (not inside) the landing zone."""
    return data_dir() / "truth"


def warehouse_dir() -> Path:
    return data_dir() / "warehouse"


def warehouse_path() -> Path:
    """The one DuckDB file that Dagster writes."""
    return warehouse_dir() / "observatoire.duckdb"


def lake_dir() -> Path:
    """The Parquet event lake (``ENT_LAKE_DIR``, else ``ENT_DATA_DIR/lake``): events/week_start=YYYY-MM-DD/.
    The dbt source ``lake.events`` (pipelines_dbt/models/lake/_lake__sources.yml) resolves it the same way."""
    override = os.environ.get(LAKE_ENV_VAR)
    return Path(override).resolve() if override else data_dir() / "lake"


def serving_dir() -> Path:
    """Read-only published copies for the dashboard and reports."""
    return data_dir() / "serving"


def reports_dir() -> Path:
    return data_dir() / "reports"
