"""The analysts' notebooks run top to bottom on demo data (stored without outputs)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_notebooks_stored_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["01_adoption.ipynb", "02_equity_decomposition.ipynb", "03_features_ignored.ipynb",
                                           "04_leviers.ipynb"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_demo_data(path, demo_warehouse, tmp_path):
    root, outcome, con = demo_warehouse
    assert outcome.success
    nb = nbformat.read(path, as_version=4)
    assert os.environ["ENT_DATA_DIR"] == str(root)  # the kernel inherits it
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type in {"execute_result", "display_data"} for o in outputs)
