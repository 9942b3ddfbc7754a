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
from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "pipelines"
DBT_PROJECT = PROJECT_ROOT / "pipelines_dbt"
# Environment settings that change the rows or files the pipeline writes (the paths are not among them:
# another warehouse is another history, docs/rerun.md).
SETTINGS = ("ENT_SOURCE_TIMEZONE", "ENT_DBT_TARGET", "ENT_FILE_MODE")


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


def with_code_versions(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The assets with their code versions set (a dbt model's combines its checksum with the above)."""
    versioned = []
    for asset in assets:
        fn = asset.op.compute_fn
        module = getattr(fn, "decorated_fn", fn).__module__
        code = code_version_of_module(module)

        def version(spec: dg.AssetSpec, code: str = code) -> dg.AssetSpec:
            parts = [code] + ([spec.code_version, _dbt_configuration()] if spec.code_version else [])
            return spec.replace_attributes(code_version=hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24])

        versioned.append(asset.map_asset_specs(version))
    return versioned
