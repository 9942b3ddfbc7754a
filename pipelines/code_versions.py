"""Dagster code versions of the assets: what a re-run compares to decide that an asset's code changed.

An asset's code version hashes the source of the module that defines it and of every project module it
imports, transitively (read with ``ast``, nothing executed), the SQL files of those modules' packages
(``<package>/sql/``), and the settings that change what the code writes (``SETTINGS``). The dbt models
keep the checksum dagster-dbt gives them (their SQL) and add the dbt project's configuration and
macros. Editing one module re-runs the assets whose code reads it, and what depends on them
(docs/rerun.md).
"""

from __future__ import annotations

import ast
import hashlib
import os
from functools import cache
from importlib.metadata import version
from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "pipelines"
DBT_PROJECT = PROJECT_ROOT / "pipelines_dbt"
# Environment settings that change the rows or files the pipeline writes (the paths are not among them:
# another warehouse is another history, docs/rerun.md).
SETTINGS = ("ENT_SOURCE_TIMEZONE", "ENT_DBT_TARGET", "ENT_FILE_MODE")
# What builds the Dagster definitions besides the project's files (definitions_fingerprint).
DBT_MANIFEST = DBT_PROJECT / "target" / "manifest.json"
PACKAGES = ("dagster", "dagster-dbt", "dbt-core")


def _module_file(name: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _imports(name: str) -> tuple[str, ...]:
    """The project modules ``name`` imports (``from pipelines.x import y`` counts y when it is a module)."""
    path = _module_file(name)
    if path is None:
        return ()
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if _module_file(f"{node.module}.{a.name}")}
    return tuple(sorted(m for m in found if _module_file(m)))


def module_closure(name: str) -> list[str]:
    """``name`` and every project module it imports, transitively."""
    seen, todo = set(), [name]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_imports(module))
    return sorted(seen)


def _files(name: str) -> list[Path]:
    files = {_module_file(m) for m in module_closure(name)}
    sql_dirs = {f.parent / "sql" for f in files}
    files |= {p for d in sql_dirs if d.is_dir() for p in d.rglob("*") if p.is_file()}
    return sorted(files)


def _digest(parts: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for label, content in parts:
        digest.update(label.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:24]


@cache
def code_version_of_module(name: str) -> str:
    parts = [(p.relative_to(PROJECT_ROOT).as_posix(), p.read_bytes()) for p in _files(name)]
    parts += [(f"setting {s}", os.environ.get(s, "").encode()) for s in SETTINGS]
    return _digest(parts)


@cache
def _dbt_configuration() -> str:
    files = [DBT_PROJECT / "dbt_project.yml", DBT_PROJECT / "profiles.yml",
             *sorted((DBT_PROJECT / "macros").rglob("*.sql"))]
    return _digest([(p.relative_to(PROJECT_ROOT).as_posix(), p.read_bytes()) for p in files if p.is_file()])


def definitions_fingerprint() -> str:
    """A hash of everything the asset graph of ``pipelines/definitions.py`` is built from: every file of
    the ``pipelines`` package, the dbt project's files and the manifest Dagster reads, the settings and
    the versions of Dagster and dbt. The same fingerprint, the same asset graph (pipelines/asset_graph.py)."""
    dbt_sources = [p for p in DBT_PROJECT.rglob("*")
                   if p.is_file() and not {"target", "logs"} & set(p.relative_to(DBT_PROJECT).parts)]
    files = [p for p in (PROJECT_ROOT / PACKAGE).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files += [*dbt_sources, *([DBT_MANIFEST] if DBT_MANIFEST.is_file() else [])]
    parts = [(p.relative_to(PROJECT_ROOT).as_posix(), p.read_bytes()) for p in sorted(files)]
    parts += [(f"setting {s}", os.environ.get(s, "").encode()) for s in SETTINGS]
    parts += [(f"package {name}", version(name).encode()) for name in PACKAGES]
    return _digest(parts)


def asset_code_version(module: str, dbt_checksum: str | None) -> str:
    """The code version of an asset defined in ``module`` (a dbt model's also holds its checksum)."""
    parts = [code_version_of_module(module)] + ([dbt_checksum, _dbt_configuration()] if dbt_checksum else [])
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def asset_sources(assets: list[dg.AssetsDefinition]) -> dict[dg.AssetKey, tuple[str, str | None]]:
    """What each asset's code version is computed from: the module defining it, and the code version
    its definition gives it (dagster-dbt's checksum of a model's SQL, None for the others)."""
    sources = {}
    for asset in assets:
        fn = asset.op.compute_fn
        module = getattr(fn, "decorated_fn", fn).__module__
        sources |= {spec.key: (module, spec.code_version) for spec in asset.specs}
    return sources


def with_code_versions(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The assets with their code versions set (``asset_code_version``)."""
    sources = asset_sources(assets)
    return [asset.map_asset_specs(lambda spec: spec.replace_attributes(code_version=asset_code_version(*sources[spec.key])))
            for asset in assets]
