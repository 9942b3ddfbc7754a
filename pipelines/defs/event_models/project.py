"""The dbt project (pipelines_dbt/, beside this package) as Dagster sees it, and its manifest.

Dagster builds its assets from ``pipelines_dbt/target/manifest.json``. ``ensure_manifest`` runs
``dbt parse`` when that file is missing (a fresh clone) or older than a file of the project, so that
``make setup``, ``make test``, ``ent-equity run`` and ``dagster dev`` all load the current models
(docs/scale/dbt_engines.md, section 5). ``python -m pipelines.defs.event_models.project`` parses by hand.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from pipelines.formats.entcore import VISIT_EVENT_TYPES

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "pipelines_dbt"
TARGET_ENV = "ENT_DBT_TARGET"
# The dbt of this interpreter's environment (the .venv), found even when its bin/ is not on PATH.
_BESIDE = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_BESIDE) if _BESIDE.exists() else "dbt"


def dbt_target() -> str:
    return os.environ.get(TARGET_ENV, "duckdb")


def base_vars() -> dict:
    """Vars every invocation passes: the visit event types have one definition, in Python."""
    return {"visit_event_types": list(VISIT_EVENT_TYPES)}


PARSE_ARGS = ["parse", "--quiet", "--vars", json.dumps(base_vars())]
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=dbt_target(),
                         prepare_project_cli_args=PARSE_ARGS)


def _stale() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [p for p in DBT_PROJECT_DIR.rglob("*")
               if p.is_file() and p.suffix in {".sql", ".yml", ".csv"} and "target" not in p.relative_to(DBT_PROJECT_DIR).parts
               and "logs" not in p.relative_to(DBT_PROJECT_DIR).parts]
    return any(p.stat().st_mtime > built for p in sources)


def ensure_manifest() -> Path:
    """The manifest's path, after ``dbt parse`` if it is missing or stale (always under ``dagster dev``)."""
    if dbt_project.preparer.using_dagster_dev() or _stale():
        # What DbtProject's preparer does (the project has no packages), with this environment's dbt.
        dbt_resource().cli(PARSE_ARGS, target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(dbt_project.profiles_dir), target=dbt_target(),
                          dbt_executable=DBT_EXECUTABLE)


if __name__ == "__main__":
    print(ensure_manifest())
