"""The one SQL-file loader (pipelines/sql_files.py): folders filled in quoted, nothing else templated."""

from pathlib import Path

import duckdb
import pytest

from pipelines.sql_files import PLACEHOLDER, load_sql

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"
SQL_FILES = sorted(PIPELINES.rglob("sql/*.sql"))


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.relative_to(PIPELINES).as_posix())
def test_every_sql_file_renders_to_statements_duckdb_parses(path, tmp_path):
    package = ".".join(("pipelines", *path.parent.parent.relative_to(PIPELINES).parts))
    folders = {name: tmp_path / "l'école" for name in set(PLACEHOLDER.findall(path.read_text()))}
    text = load_sql(package, path.stem, **folders)
    assert "{{" not in text and "}}" not in text
    assert duckdb.connect().extract_statements(text)


def test_a_folder_is_resolved_and_its_quotes_doubled(tmp_path):
    folder = tmp_path / "l'école"
    text = load_sql("pipelines.defs.reference", "departements", reference_dir=folder)
    assert f"read_csv('{folder.resolve().as_posix().replace(chr(39), chr(39) * 2)}/departement_academie_mapping.csv'" in text


def test_a_missing_or_unused_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="reference_dir"):
        load_sql("pipelines.defs.reference", "schools")
    with pytest.raises(ValueError, match="extra"):
        load_sql("pipelines.defs.indicators", "periods", extra=tmp_path)
