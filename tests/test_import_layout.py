"""The layout's import rules (docs/design.md, Layout): no import cycle between top-level folders, the
demo generator is imported only by itself and the CLI command that runs it, and the dashboard reaches the
serving file without Dagster.

A folder is a domain of ``pipelines/defs/`` (``pipelines/defs/ingest``), any other package of
``pipelines/`` (``pipelines/synth``, ``pipelines/equity``), a module directly under ``pipelines/``
(``pipelines/runner.py``) or a folder or module of ``dashboards/`` (``dashboards/ent_dash``). Every import
statement counts, at module level or inside a function."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pipelines", "dashboards")
# The dashboard puts dashboards/ on sys.path: its package imports as ``ent_dash``.
DASHBOARD_PACKAGES = ("ent_dash", "views")


def module_path(module: str) -> Path | None:
    """The file or package folder of a project module, None for anything else."""
    parts = module.split(".")
    if parts[0] in DASHBOARD_PACKAGES:
        parts = ["dashboards", *parts]
    elif parts[0] not in SOURCES:
        return None
    base = REPO.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base):
        if candidate.exists():
            return candidate
    return None


def folder_of(path: Path) -> str:
    parts = path.relative_to(REPO).parts
    depth = 3 if parts[:2] == ("pipelines", "defs") else 2
    return "/".join(parts[:depth])


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules an import of ``path`` reads (``from a import b``: ``a.b`` when it is
    a module, else ``a``)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])])
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if module_path(f"{base}.{alias.name}") else base)
    return names


def import_edges() -> dict[tuple[str, str], list[str]]:
    """(importing folder, imported folder) -> the importing files, over every module of SOURCES."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for source in SOURCES:
        for path in sorted(REPO.joinpath(source).rglob("*.py")):
            if ".venv" in path.parts:
                continue
            for module in imported_modules(path):
                target = module_path(module)
                if target is None or folder_of(target) in SOURCES:
                    continue
                pair = (folder_of(path), folder_of(target))
                if pair[0] != pair[1] and str(path.relative_to(REPO)) not in edges[pair]:
                    edges[pair].append(str(path.relative_to(REPO)))
    return edges


def imported_closure(paths) -> set[str]:
    """Every module the files ``paths`` import, transitively through the project's modules (importing a
    module runs its packages' ``__init__`` too, so they count)."""
    seen, todo, found = set(), list(paths), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path):
            found.add(module)
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                target = module_path(".".join(parts[:depth]))
                source = target / "__init__.py" if target is not None and target.is_dir() else target
                if source is not None and source.is_file():
                    todo.append(source)
    return found


def cycles(edges) -> list[list[str]]:
    """The strongly connected components of more than one folder (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(graph)):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_known_imports():
    """The graph is built from the real tree: edges that must exist do (so an empty graph cannot pass)."""
    edges = import_edges()
    assert ("pipelines/defs/publication", "pipelines/disclosure") in edges
    assert ("dashboards/views", "dashboards/ent_dash") in edges
    assert ("pipelines/synth", "pipelines/defs/reference") in edges
    assert "pipelines.equity._common" in imported_modules(REPO / "pipelines/equity/atkinson.py")  # relative


def test_cycles_are_found():
    edges = {("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({("a", "b"): [], ("b", "c"): []}) == []


def test_no_import_cycle_between_top_level_folders():
    edges = import_edges()
    found = cycles(edges)
    detail = [f"{a} -> {b}: {', '.join(files)}" for component in found for (a, b), files in sorted(edges.items())
              if a in component and b in component]
    assert not found, "import cycles between folders:\n" + "\n".join(detail)


def test_only_the_generator_and_its_command_import_the_generator():
    """The product never reads the demo generator: only ``pipelines/synth`` itself and the CLI, which
    registers the ``synth`` command, import it."""
    importers = {files_of for (a, b), files in import_edges().items() if b == "pipelines/synth"
                 for files_of in files}
    assert importers == {"pipelines/cli.py"}


def test_the_product_never_imports_the_test_support():
    """``testing_support`` (the fake warehouse of the tests and benchmarks) is no product code."""
    importers = sorted(str(path.relative_to(REPO)) for source in SOURCES for path in REPO.joinpath(source).rglob("*.py")
                       if any(m.split(".")[0] == "testing_support" for m in imported_modules(path)))
    assert importers == []
    assert "testing_support.fake_warehouse" in imported_modules(REPO / "tests/test_serving_publish.py")


def test_the_serving_file_module_and_the_dashboard_import_no_dagster():
    """The serving file's module (its path, schema version and opener) is the dashboard's one way to the
    published file: neither it nor the dashboard imports Dagster, or anything of ``pipelines/defs/``,
    directly or through another project module (docs/design.md, Layout)."""
    serving_file = REPO / "pipelines" / "serving_file.py"
    dashboard = sorted(REPO.joinpath("dashboards").rglob("*.py"))
    assert "pipelines.serving_file" in imported_modules(REPO / "dashboards/ent_dash/data.py")
    for sources in ([serving_file], dashboard):
        found = imported_closure(sources)
        assert "duckdb" in found  # the walk follows the imports (so an empty closure cannot pass)
        dagster = sorted(m for m in found if m.split(".")[0] == "dagster" or m.startswith("dagster_"))
        defs = sorted(m for m in found if m.startswith("pipelines.defs"))
        assert dagster == [] and defs == [], (sources[0], dagster, defs)
