"""The asset graph as a re-run reads it, kept beside the Dagster instance so that a re-run with nothing
new decides without building the definitions (docs/rerun.md, "A re-run with nothing new").

Building ``pipelines/definitions.py`` imports every asset module (dagster-dbt and dbt, which parse the
manifest, great_expectations, the reports) and takes seconds. What the runner reads of it is small:
each asset's parents, whether it is partitioned, the jobs' selections, the reference assets, and what
each code version is computed from (the defining module, a dbt model's checksum). A snapshot of that is
written whenever the definitions are built, with ``code_versions.definitions_fingerprint()``; it is read
back only while the fingerprint is unchanged. Code versions are not stored: they are computed from the
current sources each time (``code_versions.asset_code_version``), as ``with_code_versions`` does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipelines import code_versions

FILE = "asset_graph.json"  # in the instance's folder, beside run_output/


@dataclass(frozen=True)
class AssetNode:
    parents: tuple[dg.AssetKey, ...]
    partitioned: bool
    module: str | None  # None for a key the graph holds but no asset of the pipeline defines
    dbt_checksum: str | None


@dataclass(frozen=True)
class AssetGraph:
    nodes: dict[dg.AssetKey, AssetNode]  # in the order of the definitions' asset graph
    jobs: dict[str, frozenset[dg.AssetKey]]  # each pipeline job's selected assets, in the order the jobs run
    reference: tuple[dg.AssetKey, ...]  # the reference tables (their input is the reference/ folder)

    @property
    def keys(self) -> list[dg.AssetKey]:
        return list(self.nodes)

    def parents(self, key: dg.AssetKey) -> tuple[dg.AssetKey, ...]:
        return self.nodes[key].parents

    def partitioned(self, key: dg.AssetKey) -> bool:
        return self.nodes[key].partitioned

    def code_version(self, key: dg.AssetKey) -> str | None:
        """What ``with_code_versions`` gives the asset from today's sources."""
        node = self.nodes[key]
        return None if node.module is None else code_versions.asset_code_version(node.module, node.dbt_checksum)

    def to_json(self) -> dict:
        return {
            "nodes": [{"key": list(k.path), "parents": [list(p.path) for p in n.parents], "partitioned": n.partitioned,
                       "module": n.module, "dbt_checksum": n.dbt_checksum} for k, n in self.nodes.items()],
            "jobs": {name: sorted(list(k.path) for k in keys) for name, keys in self.jobs.items()},
            "reference": [list(k.path) for k in self.reference],
        }

    @classmethod
    def from_json(cls, data: dict) -> AssetGraph:
        nodes = {dg.AssetKey(n["key"]): AssetNode(tuple(dg.AssetKey(p) for p in n["parents"]), n["partitioned"],
                                                  n["module"], n["dbt_checksum"]) for n in data["nodes"]}
        jobs = {name: frozenset(dg.AssetKey(k) for k in keys) for name, keys in data["jobs"].items()}
        return cls(nodes, jobs, tuple(dg.AssetKey(k) for k in data["reference"]))


def from_definitions(defs: dg.Definitions, assets: list[dg.AssetsDefinition], reference: list[dg.AssetsDefinition],
                     jobs: list[str]) -> AssetGraph:
    """The graph of ``defs``, built from ``assets`` (before their code versions are set); ``jobs`` are the
    names of the pipeline's jobs in the order they run (``PIPELINE_JOBS``, pipelines/jobs.py)."""
    graph = defs.resolve_asset_graph()
    sources = code_versions.asset_sources(assets)
    nodes = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        module, checksum = sources.get(key, (None, None))
        nodes[key] = AssetNode(tuple(sorted(node.parent_keys, key=str)), node.partitions_def is not None, module, checksum)
    return AssetGraph(nodes, {name: frozenset(defs.resolve_job_def(name).asset_layer.selected_asset_keys) for name in jobs},
                      tuple(k for a in reference for k in a.keys))


def load(folder: Path) -> AssetGraph | None:
    """The snapshot in ``folder`` when it was written from the sources as they are now, else None."""
    path = folder / FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("fingerprint") != code_versions.definitions_fingerprint():
        return None
    return AssetGraph.from_json(data["graph"])


def save(folder: Path, graph: AssetGraph) -> None:
    """Write the snapshot of ``graph`` (just built from the sources) atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{FILE}.{os.getpid()}"
    tmp.write_text(json.dumps({"fingerprint": code_versions.definitions_fingerprint(), "graph": graph.to_json()}))
    os.replace(tmp, folder / FILE)
