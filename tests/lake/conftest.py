"""Fixtures of the lake tests: the event lake, and the dbt project built on it by DuckDB and by Spark,
once per test session each.

Spark tests carry the ``spark`` marker (deselect with ``-m 'not spark'``). Without Java 17+ or
pyspark they are skipped, except when CI=true, where they fail: CI must prove the parity."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lake.dbt_run import run_dbt
from tests.lake.event_lake import FIRST_WEEK, LAST_WEEK, write_event_lake, write_fixture_warehouse

WINDOW = {"first_week": FIRST_WEEK, "last_week": LAST_WEEK}


def _spark_missing() -> str | None:
    """Why local Spark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (uv sync installs it with the dev group)"
    java = shutil.which("java")
    if java is None:
        return "java is not on PATH (make test installs openjdk-17-jre-headless)"
    banner = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(\d+)', banner)
    if not found or int(found.group(1)) < 17:
        return f"Spark 4 needs Java 17 or later, found: {banner.splitlines()[:1]}"
    return None


@pytest.fixture(scope="session")
def require_spark() -> None:
    reason = _spark_missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the Spark parity tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def event_lake(tmp_path_factory) -> tuple[Path, list[dict]]:
    """(lake folder, the events written to it); its dimensions are written by ``fixture_warehouse``."""
    lake = tmp_path_factory.mktemp("lake")
    return lake, write_event_lake(lake)


@pytest.fixture(scope="session")
def fixture_warehouse(event_lake, tmp_path_factory) -> Path:
    """A warehouse DuckDB file with the lake's events and the dimensions, which it exported to the lake.
    Open it read-only, or copy it."""
    return write_fixture_warehouse(tmp_path_factory.mktemp("warehouse") / "observatoire.duckdb", event_lake[0])


@pytest.fixture(scope="session")
def duckdb_build(event_lake, fixture_warehouse, tmp_path_factory) -> Path:
    """The dbt project built (models and tests) on DuckDB over the fixture's window; its work folder."""
    work = tmp_path_factory.mktemp("dbt_duckdb")
    run_dbt(["build"], "duckdb", work, event_lake[0], WINDOW)
    return work


@pytest.fixture(scope="session")
def spark_build(require_spark, event_lake, fixture_warehouse, tmp_path_factory) -> Path:
    """The same build on a local Spark session; its work folder."""
    work = tmp_path_factory.mktemp("dbt_spark")
    run_dbt(["build"], "spark_session", work, event_lake[0], WINDOW)
    return work
