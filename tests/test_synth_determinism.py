"""Same seed -> byte-identical files; another seed -> other files; a re-run replaces the previous output."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from pipelines.synth.command import load_schools
from pipelines.synth.generator import generate
from tests.conftest import REFERENCE_DIR

# Three small académies (Corse, Guyane, Mayotte) stand in for the national table: seconds, not minutes.
ACADEMIES = ("27", "33", "43")


@pytest.fixture(scope="module")
def schools() -> pl.DataFrame:
    return load_schools(REFERENCE_DIR).filter(pl.col("academie_code").is_in(ACADEMIES))


def run(schools: pl.DataFrame, root: Path, seed: int, n_schools: int = 9) -> dict[str, str]:
    """Generate into ``root`` and return {relative path: sha256} of every file written."""
    generate(schools, root / "landing", root / "truth", seed=seed, n_schools=n_schools, entcore_schools=2)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_gives_byte_identical_files(schools, tmp_path):
    first = run(schools, tmp_path / "a", seed=7)
    assert first == run(schools, tmp_path / "b", seed=7)
    assert {
        "landing/canonical/events_2025-2026_ac27.parquet",
        "landing/entcore/events_2025-2026.jsonl",
        "landing/entcore/structures.csv",
        "landing/accounts/accounts_2025-2026.csv",
        "landing/context/school_context.csv",
        "landing/context/mediation_workshops.csv",
        "truth/parameters.json",
        "truth/schools_truth.parquet",
    } <= set(first)


def test_another_seed_gives_other_files(schools, tmp_path):
    first, other = run(schools, tmp_path / "a", seed=7), run(schools, tmp_path / "b", seed=8)
    assert all(first[name] != other.get(name) for name in first if "events" in name or "accounts" in name)


def test_rerun_replaces_the_previous_output(schools, tmp_path):
    run(schools, tmp_path / "rerun", seed=7, n_schools=9)
    (tmp_path / "rerun" / "landing" / "canonical" / "events_2024-2025_ac27.parquet").write_bytes(b"stale")
    (tmp_path / "rerun" / "landing" / "other_export.csv").write_text("not the generator's")
    two_academies = schools.filter(pl.col("academie_code") != "43")
    rerun = run(two_academies, tmp_path / "rerun", seed=7, n_schools=6)
    fresh = run(two_academies, tmp_path / "fresh", seed=7, n_schools=6)
    assert rerun == fresh | {"landing/other_export.csv": rerun["landing/other_export.csv"]}
