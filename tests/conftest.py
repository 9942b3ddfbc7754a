"""Shared fixtures: every test runs against a temporary ENT_DATA_DIR, never the user's data/."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT / "data" / "reference"


@pytest.fixture
def ent_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary ENT_DATA_DIR whose reference/ is the repo's (read-only) real reference data."""
    root = tmp_path / "ent_data"
    root.mkdir()
    (root / "reference").symlink_to(REFERENCE_DIR, target_is_directory=True)
    monkeypatch.setenv("ENT_DATA_DIR", str(root))
    return root
