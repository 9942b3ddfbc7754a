"""Run the repo's dbt project (pipelines_dbt/) on one engine, with every path in a work folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipelines.formats.entcore import VISIT_EVENT_TYPES

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO_ROOT / "pipelines_dbt"
DBT = Path(sys.executable).with_name("dbt")
SPARK_SCHEMA = "event_models"  # the spark_session target's schema (profiles.yml)


def run_dbt(command: list[str], target: str, work: Path, lake: Path, dbt_vars: dict[str, str],
            duckdb_path: Path | None = None, env: dict[str, str] | None = None) -> str:
    """``dbt <command>`` on ``target`` over ``lake``; outputs, logs and compiled SQL go under ``work``
    (the DuckDB target's file too, unless ``duckdb_path``: a warehouse, not open elsewhere; the Spark
    target's warehouse, and its metastore with ``env={"ENT_SPARK_CATALOG": "hive"}``); ``env`` is added
    to dbt's environment.
    Returns dbt's output; raises AssertionError with it when dbt fails."""
    work.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "ENT_DBT_TARGET": target,
        "ENT_LAKE_DIR": str(lake),
        "ENT_DBT_DUCKDB_PATH": str(duckdb_path or work / "event_models.duckdb"),
        "ENT_DBT_SPARK_WAREHOUSE": str(work / "spark-warehouse"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    } | (env or {})
    args = [str(DBT), *command, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--vars", json.dumps({"visit_event_types": list(VISIT_EVENT_TYPES), **dbt_vars})]
    done = subprocess.run(args, env=env, cwd=work, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"dbt {' '.join(command)} on {target} failed:\n{output[-6000:]}"
    return output


def duckdb_table(work: Path) -> Path:
    return work / "event_models.duckdb"


def spark_table_folder(work: Path, table: str) -> Path:
    """Where the spark_session target keeps a table's Parquet files (in-memory catalog, managed table)."""
    return work / "spark-warehouse" / f"{SPARK_SCHEMA}.db" / table
