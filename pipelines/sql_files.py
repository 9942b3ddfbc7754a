"""The one loader of the SQL files kept beside the Python that runs them (``<package>/sql/<name>.sql``).

Values never enter the text: a query takes them as DuckDB parameters (``$name``). The only placeholders
are folders, written ``{{name}}`` inside a quoted literal (``read_csv('{{reference_dir}}/x.csv')``): each is
filled with the resolved path, its single quotes doubled, and the file must use every folder it is given.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def load_sql(package: str, name: str, **folders: Path | str) -> str:
    """The text of ``sql/<name>.sql`` of ``package`` with its ``{{folder}}`` placeholders filled in."""
    text = (importlib.resources.files(package) / "sql" / f"{name}.sql").read_text()
    used = set(PLACEHOLDER.findall(text))
    if used != set(folders):
        raise ValueError(f"{package} sql/{name}.sql uses {sorted(used)}, was given {sorted(folders)}")
    return PLACEHOLDER.sub(lambda m: _literal_path(folders[m.group(1)]), text)


def _literal_path(folder: Path | str) -> str:
    return Path(folder).resolve().as_posix().replace("'", "''")
