"""Re-runs (docs/rerun.md): with nothing new no job runs and the serving copy stays byte for byte; a new
landing file, a changed reference folder, a retention purge or a code change re-run what depends on
them, and a re-run after them is a no-op again; what is wrong still fails.

One data dir and one Dagster instance (the project's dagster.yaml, in tmp) for the module: each test
starts from a pipeline that is up to date and leaves it so."""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import pytest

from tests.conftest import REFERENCE_DIR, REPO_ROOT
from tests.ingest_helpers import UAI_A, entcore_line, write_text

JOBS = ["ingest_job", "weekly_job", "indicators_job", "publication_job"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A data dir with a copy of the reference folder (a test changes it), a small landing, and the
    project's instance settings in a temporary DAGSTER_HOME (also the working folder)."""
    root = tmp_path_factory.mktemp("rerun")
    data, home = root / "data", root / "dagster"
    shutil.copytree(REFERENCE_DIR, data / "reference")
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    landing = data / "landing"
    write_text(landing / "structures.csv", ["structure_id;uai", f"struct-a;{UAI_A}"])
    write_text(landing / "events.jsonl", [
        entcore_line(f"j{i}", f"user-{i % 3}", f"2025-09-{8 + i:02d}T18:00:00") for i in range(10)])
    write_text(landing / "accounts.csv", ["user_id;uai;profile;created_at;activated_at"] + [
        f"user-{i};{UAI_A};parent;2025-08-25;2025-09-01" for i in (0, 1, 3)])
    mp = pytest.MonkeyPatch()
    mp.setenv("ENT_DATA_DIR", str(data))
    mp.setenv("DAGSTER_HOME", str(home))
    mp.setenv("ENT_DEMO", "1")
    mp.delenv("ENT_PSEUDONYMIZATION_KEY", raising=False)
    mp.chdir(home)
    yield data
    mp.undo()


def _serving_bytes(data) -> bytes:
    return (data / "serving" / "observatoire_serving.duckdb").read_bytes()


def _run():
    from pipelines.runner import run_pipeline

    with dg.DagsterInstance.get() as instance:
        return run_pipeline(instance, announce=lambda line: None)


def _assert_noop(outcome) -> None:
    assert outcome.success and outcome.runs == [] and outcome.problems == [], outcome
    assert [job for job, _ in outcome.skipped] == JOBS


def test_cli_first_run_then_noop_rerun_runs_no_job(project, capsys):
    from pipelines.cli import main

    assert main(["run"]) == 0
    first = capsys.readouterr().out
    assert [line.split()[0] for line in first.splitlines() if " run " in line and "succeeded" in line] == JOBS
    assert "stage ingest" in first and "file 3/3 events.jsonl [entcore_jsonl] ingested" in first
    assert "  done landed_files in " in first and "  done published_serving in " in first  # one line per step
    assert "DEBUG" not in first and "STEP_START" not in first and "Running with dbt" not in first  # dbt: in the log
    published, mtime = _serving_bytes(project), (project / "serving" / "observatoire_serving.duckdb").stat().st_mtime_ns
    with dg.DagsterInstance.get() as instance:
        runs = len(instance.get_run_records())

    assert main(["run"]) == 0
    again = capsys.readouterr().out
    assert "nothing changed since the last run" in again and "no landing file new or changed (3 files" in again
    assert " run " not in again.replace("since the last run", "")
    assert _serving_bytes(project) == published
    assert (project / "serving" / "observatoire_serving.duckdb").stat().st_mtime_ns == mtime
    with dg.DagsterInstance.get() as instance:
        assert len(instance.get_run_records()) == runs  # no run at all, not even an empty one
        raw_output = list((project.parent / "dagster" / ".dagster" / "run_output").glob("*.log"))
    assert raw_output and "Running with dbt" in raw_output[0].read_text()  # dbt's log kept in the instance folder


def test_new_landing_file_reruns_its_week_and_republishes(project):
    published = _serving_bytes(project)
    write_text(project / "landing" / "late.jsonl", [
        entcore_line("late-1", "user-1", "2025-10-01T18:00:00"), entcore_line("late-2", "user-3", "2025-10-02T18:00:00")])
    outcome = _run()
    assert outcome.success, outcome
    assert [job for job, *_ in outcome.runs] == JOBS
    assert outcome.weeks == ("2025-09-29", "2025-09-29")  # its week only, not the lake's first weeks
    assert dict(outcome.reasons)["ingest_job"] == ["landed_files: a landing file appeared or changed"]
    assert _serving_bytes(project) != published
    _assert_noop(_run())


def test_touched_file_with_same_content_ingests_nothing_and_reruns_nothing_else(project):
    path = project / "landing" / "late.jsonl"
    path.write_bytes(path.read_bytes())  # new mtime, same content
    outcome = _run()
    assert outcome.success and [job for job, *_ in outcome.runs] == ["ingest_job"], outcome
    _assert_noop(_run())


def test_changed_reference_reruns_what_reads_it(project):
    notes = project / "reference" / "NOTES.txt"
    notes.write_text("a file added to the reference folder\n")
    try:
        outcome = _run()
        assert outcome.success, outcome
        assert [job for job, *_ in outcome.runs] == JOBS
        ingest_reasons = dict(outcome.reasons)["ingest_job"]
        assert "schools: the reference files changed" in ingest_reasons
        assert not any(r.startswith("landed_files") for r in ingest_reasons)  # old files are not read again
        assert outcome.weeks == ("2025-09-08", "2025-09-29")  # every week reads schools
        _assert_noop(_run())
    finally:
        notes.unlink()
    outcome = _run()  # removing it is a change too
    assert "schools: the reference files changed" in dict(outcome.reasons)["ingest_job"]


def test_code_change_reruns_only_its_assets_and_what_depends_on_them(project, monkeypatch):
    from pipelines import code_versions

    original = code_versions.code_version_of_module
    monkeypatch.setattr(code_versions, "code_version_of_module",
                        lambda m: original(m) + ("-edited" if m == "pipelines.defs.publication.assets" else ""))
    outcome = _run()
    assert outcome.success and [job for job, *_ in outcome.runs] == ["publication_job"], outcome
    assert dict(outcome.reasons)["publication_job"] == ["published_serving: its code or settings changed"]
    _assert_noop(_run())


def test_a_deleted_serving_copy_is_published_again(project):
    (project / "serving" / "observatoire_serving.duckdb").unlink()
    outcome = _run()
    assert outcome.success and [job for job, *_ in outcome.runs] == ["publication_job"], outcome
    assert (project / "serving" / "observatoire_serving.duckdb").exists()
    _assert_noop(_run())


def test_noop_still_fails_without_the_key_or_with_a_lost_lake_file(project, monkeypatch):
    monkeypatch.delenv("ENT_DEMO")
    outcome = _run()
    assert not outcome.success and outcome.runs == []
    assert any("ENT_PSEUDONYMIZATION_KEY" in p for p in outcome.problems), outcome.problems
    monkeypatch.setenv("ENT_PSEUDONYMIZATION_KEY", "another-key-that-is-long-enough-0123456789")
    monkeypatch.delenv("ENT_DEMO", raising=False)
    assert any("refusing to ingest" in p for p in _run().problems)
    monkeypatch.setenv("ENT_DEMO", "1")
    monkeypatch.delenv("ENT_PSEUDONYMIZATION_KEY")
    _assert_noop(_run())
    part = sorted((project / "lake" / "events").rglob("*.parquet"))
    moved = project.parent / "moved.parquet"  # out of the lake: a file there that lake_files lacks is deleted
    part[0].rename(moved)
    try:
        outcome = _run()
        assert not outcome.success and outcome.runs == []
        assert any("lake file(s) listed in lake_files are missing" in p for p in outcome.problems)
    finally:
        moved.rename(part[0])
    _assert_noop(_run())


def test_retention_purge_reruns_the_period_models_and_serving(project):
    from pipelines.definitions import build_defs

    # Events of last month, kept by a 12-month purge (which deletes the 2025 weeks).
    recent = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    write_text(project / "landing" / "recent.jsonl", [entcore_line("recent-1", "user-1", f"{recent}T18:00:00")])
    assert _run().success
    with dg.DagsterInstance.get() as instance:
        purge = build_defs().resolve_job_def("retention_job").execute_in_process(
            instance=instance, run_config={"ops": {"expired_events_purge": {"config": {"months": 12}}}})
    assert purge.success
    outcome = _run()
    assert outcome.success, outcome
    assert [job for job, *_ in outcome.runs] == ["indicators_job", "publication_job"]
    assert "adoption_school: expired_events_purge was materialized since" in dict(outcome.reasons)["indicators_job"]
    _assert_noop(_run())


def test_noop_rerun_process_builds_no_definitions(project):
    """A no-op ``ent-equity run`` decides from the asset graph's snapshot: none of dagster-dbt, dbt, great
    expectations, plotly, the asset modules or the reports is imported (docs/rerun.md)."""
    import os
    import subprocess
    import sys

    heavy = ["dagster_dbt", "dbt", "great_expectations", "plotly", "pandas", "pipelines.definitions", "pipelines.jobs",
             "pipelines.defs.ingest.assets", "pipelines.defs.reports.weekly"]
    script = ("import sys; from pipelines.cli import main; code = main(['run']); "
              f"print('imported:', [m for m in {heavy!r} if m in sys.modules]); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=os.environ | {"PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing changed since the last run" in done.stdout
    assert "imported: []" in done.stdout, done.stdout
