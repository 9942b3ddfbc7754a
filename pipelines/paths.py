"""Every path the product reads or writes, rooted at ``ENT_DATA_DIR`` (default ``./data``)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "ENT_DATA_DIR"


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


def serving_dir() -> Path:
    """Read-only published copies for the dashboard and reports."""
    return data_dir() / "serving"


def reports_dir() -> Path:
    return data_dir() / "reports"
