"""The asset graph's snapshot a re-run decides from (pipelines/asset_graph.py, docs/rerun.md): it holds
what the definitions say, and is read back only while the sources it was built from are unchanged."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import REPO_ROOT

JOBS = ["ingest_job", "weekly_job", "indicators_job", "publication_job"]  # the order of PIPELINE_JOBS


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The definitions (bound to a temporary data dir) and their snapshot."""
    from pipelines import asset_graph
    from pipelines.definitions import build_defs, pipeline_assets
    from pipelines.defs.reference.assets import reference_assets
    from pipelines.jobs import PIPELINE_JOBS

    mp = pytest.MonkeyPatch()
    mp.setenv("ENT_DATA_DIR", str(tmp_path_factory.mktemp("graph_data")))
    defs = build_defs()
    yield defs, asset_graph.from_definitions(defs, pipeline_assets(), reference_assets, [j.name for j in PIPELINE_JOBS])
    mp.undo()


def test_snapshot_holds_what_the_definitions_say(built, tmp_path):
    from pipelines import asset_graph

    defs, graph = built
    asset_graph.save(tmp_path, graph)
    loaded = asset_graph.load(tmp_path)
    assert loaded == graph
    resolved = defs.resolve_asset_graph()
    assert loaded.keys == list(resolved.get_all_asset_keys())
    for key in loaded.keys:
        node = resolved.get(key)
        assert set(loaded.parents(key)) == set(node.parent_keys), key
        assert loaded.partitioned(key) == (node.partitions_def is not None), key
        assert loaded.code_version(key) == node.code_version, key
    assert sum(loaded.partitioned(k) for k in loaded.keys) >= 4  # events and the weekly dbt models
    assert any(graph.nodes[k].dbt_checksum for k in loaded.keys)
    assert list(loaded.jobs) == JOBS  # the runner runs them in the snapshot's order
    for job in JOBS:
        assert loaded.jobs[job] == defs.resolve_job_def(job).asset_layer.selected_asset_keys, job
    assert {k.to_user_string() for k in loaded.reference} >= {"schools"}


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """The package and the dbt project copied to tmp_path, the fingerprint computed from the copy."""
    from pipelines import code_versions

    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "pipelines", root / "pipelines", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "pipelines_dbt", root / "pipelines_dbt", ignore=shutil.ignore_patterns("logs", "target"))
    (root / "pipelines_dbt" / "target").mkdir()
    shutil.copy(code_versions.DBT_MANIFEST, root / "pipelines_dbt" / "target" / "manifest.json")
    monkeypatch.setattr(code_versions, "PROJECT_ROOT", root)
    monkeypatch.setattr(code_versions, "DBT_PROJECT", root / "pipelines_dbt")
    monkeypatch.setattr(code_versions, "DBT_MANIFEST", root / "pipelines_dbt" / "target" / "manifest.json")
    return root


@pytest.mark.parametrize("changed", [
    "pipelines/defs/publication/assets.py",  # a module defining assets
    "pipelines/jobs.py",  # the jobs' selections
    "pipelines/defs/indicators/sql/adoption_rollup.sql",  # a package's SQL
    "pipelines_dbt/models/periods/adoption_school.sql",  # a dbt model, before dbt parse
    "pipelines_dbt/target/manifest.json",  # what dagster-dbt builds the models' assets from
])
def test_snapshot_is_not_read_once_a_source_changed(built, project_copy, tmp_path, changed):
    from pipelines import asset_graph

    folder = tmp_path / "instance"
    asset_graph.save(folder, built[1])
    path = project_copy / changed
    if not path.exists():  # the file names are the repo's: fail loudly when one moves
        pytest.fail(f"{changed} is not in the repository any more")
    original = path.read_bytes()
    path.write_bytes(original)  # the same bytes, a new modification time
    assert asset_graph.load(folder) == built[1]
    path.write_bytes(original + b"\n")
    assert asset_graph.load(folder) is None
    path.write_bytes(original)
    assert asset_graph.load(folder) == built[1]


def test_snapshot_is_not_read_after_a_setting_changed_or_when_damaged(built, project_copy, tmp_path, monkeypatch):
    from pipelines import asset_graph

    target = os.environ.get("ENT_DBT_TARGET")
    asset_graph.save(tmp_path, built[1])
    monkeypatch.setenv("ENT_DBT_TARGET", f"{target}-other")
    assert asset_graph.load(tmp_path) is None
    if target is None:
        monkeypatch.delenv("ENT_DBT_TARGET")
    else:
        monkeypatch.setenv("ENT_DBT_TARGET", target)
    assert asset_graph.load(tmp_path) == built[1]
    (tmp_path / asset_graph.FILE).write_text('{"fingerprint": ')
    assert asset_graph.load(tmp_path) is None
    (tmp_path / asset_graph.FILE).unlink()
    assert asset_graph.load(tmp_path) is None
