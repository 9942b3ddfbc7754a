"""Shared fixtures: every test runs against a temporary ENT_DATA_DIR, never the user's data/."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT / "data" / "reference"


@pytest.fixture
def con(tmp_path):
    """A fresh DuckDB file in tmp_path holding the reference tables (schools, académies, ...); its event
    lake is tmp_path/lake (ENT_LAKE_DIR)."""
    import duckdb

    from pipelines.defs.reference.schools import build_schools

    lake = pytest.MonkeyPatch()  # its own, so that a test's monkeypatch.undo() keeps the lake in tmp_path
    lake.setenv("ENT_LAKE_DIR", str(tmp_path / "lake"))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    build_schools(con, REFERENCE_DIR)
    yield con
    con.close()
    lake.undo()


@pytest.fixture
def ent_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary ENT_DATA_DIR whose reference/ is the repo's (read-only) real reference data."""
    root = tmp_path / "ent_data"
    root.mkdir()
    (root / "reference").symlink_to(REFERENCE_DIR, target_is_directory=True)
    monkeypatch.setenv("ENT_DATA_DIR", str(root))
    return root


DEMO_SCHOOLS = 90  # the smallest sample that covers every académie (3 each)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory):
    """Demo data generated for 90 schools (seed 7) and the whole pipeline run on it, once per session.

    Yields (data dir, pipeline outcome, read-only connection to the warehouse)."""
    import dagster as dg
    import duckdb

    from pipelines.cli import main
    from pipelines.paths import warehouse_path
    from pipelines.runner import run_pipeline

    root = tmp_path_factory.mktemp("demo")
    (root / "reference").symlink_to(REFERENCE_DIR, target_is_directory=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("ENT_DATA_DIR", str(root))
    mp.setenv("ENT_DEMO", "1")
    assert main(["synth", "--schools", str(DEMO_SCHOOLS), "--entcore-schools", "3", "--seed", "7"]) == 0
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_pipeline(instance)
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    yield root, outcome, con
    con.close()
    mp.undo()
