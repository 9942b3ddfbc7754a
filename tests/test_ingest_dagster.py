"""Ingestion through Dagster: runs on a real instance, weekly partitions, checks, sensors, retention."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from tests.ingest_helpers import UAI_A, entcore_line, write_text

PERIOD_TABLES = ("adoption_school", "feature_reach_school", "data_gaps")


@pytest.fixture
def landed(ent_data_dir, monkeypatch):
    monkeypatch.setenv("ENT_DEMO", "1")
    monkeypatch.delenv("ENT_PSEUDONYMIZATION_KEY", raising=False)
    landing = ent_data_dir / "landing"
    write_text(landing / "structures.csv", ["structure_id;uai", f"struct-a;{UAI_A}"])
    write_text(landing / "events.jsonl", [
        entcore_line(f"j{i}", f"user-{i % 3}", f"2025-09-{8 + i:02d}T18:00:00") for i in range(10)
    ] + ['{"broken": '])
    return landing


def test_pipeline_materializes_weeks_and_checks_pass(landed, ent_data_dir):
    from pipelines.paths import warehouse_path
    from pipelines.runner import run_pipeline

    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_pipeline(instance)
        assert outcome.success, outcome
        assert outcome.failed_checks == []
        assert outcome.weeks == ("2025-09-08", "2025-09-15")
        ingest_run = instance.get_run_by_id(outcome.runs[0][1])
        assert ingest_run.is_success
        materialized = instance.get_latest_materialization_event(dg.AssetKey("landing_manifest"))
        metadata = materialized.asset_materialization.metadata
        assert metadata["demo_key"].value is True and metadata["balance_holds"].value is True
        partitions = instance.get_materialized_partitions(dg.AssetKey("events"))
        assert partitions == {"2025-09-08", "2025-09-15"}
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(10,)]
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(1,)]


def test_rerunning_a_week_does_not_double_count(landed):
    from pipelines.definitions import build_defs
    from pipelines.paths import warehouse_path
    from pipelines.runner import run_pipeline

    # The parents' accounts, so that the period tables have rows (user-0 and user-1 active, user-3 not).
    write_text(landed / "accounts.csv", ["user_id;uai;profile;created_at;activated_at"] + [
        f"user-{i};{UAI_A};parent;2025-08-25;2025-09-01" for i in (0, 1, 3)])
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_pipeline(instance).success
        with duckdb.connect(str(warehouse_path()), read_only=True) as con:
            sessions = con.execute("SELECT count(*), sum(events) FROM sessions").fetchall()
            periods = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in PERIOD_TABLES}
        defs = build_defs()
        job = defs.resolve_job_def("weekly_job")
        for _ in range(2):
            assert job.execute_in_process(instance=instance, partition_key="2025-09-08").success
            assert defs.resolve_implicit_global_asset_job_def().execute_in_process(
                instance=instance, asset_selection=[dg.AssetKey("adoption_school"), dg.AssetKey("feature_reach_school")]
            ).success
        adoption = instance.get_latest_materialization_event(dg.AssetKey("adoption_school")).asset_materialization
        assert adoption.metadata["recomputed_from"].value == "2025-09-01"
        assert adoption.metadata["table_rows"].value == len(periods["adoption_school"])
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall() == [(10, 10)]
        # The dbt models replace the weeks they rebuild (incremental delete+insert on week_start), and
        # the periods (or, for data_gaps, the weeks) they recompute.
        assert con.execute("SELECT count(*), sum(events) FROM sessions").fetchall() == sessions
        assert {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in PERIOD_TABLES} == periods
        assert sessions[0][0] > 0 and periods["adoption_school"] and periods["feature_reach_school"]


def test_missing_key_fails_the_ingest_run_with_a_clear_error(landed, monkeypatch):
    from pipelines.paths import warehouse_path
    from pipelines.runner import run_pipeline

    monkeypatch.delenv("ENT_DEMO")
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_pipeline(instance)
        assert not outcome.success
        run = instance.get_run_by_id(outcome.runs[0][1])
        failure = [e for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.is_step_failure]
        assert "ENT_PSEUDONYMIZATION_KEY is not set" in str(failure[0].dagster_event.step_failure_data.error)
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert "landing_manifest" not in tables or con.execute("SELECT count(*) FROM landing_manifest").fetchall() == [(0,)]


def test_landing_sensor_requests_an_ingest_only_for_new_files(landed):
    from pipelines.sensors import landing_sensor

    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance)
        first = landing_sensor(context)
        assert isinstance(first, dg.RunRequest)
        context = dg.build_sensor_context(instance=instance, cursor=context.cursor)
        assert isinstance(landing_sensor(context), dg.SkipReason)
        write_text(landed / "new.jsonl", [entcore_line("n1", "user-9", "2025-10-01T18:00:00")])
        context = dg.build_sensor_context(instance=instance, cursor=context.cursor)
        again = landing_sensor(context)
        assert isinstance(again, dg.RunRequest) and "new.jsonl" in again.tags["landing_files"]


def test_retention_purges_old_raw_events(landed, ent_data_dir):
    from pipelines.definitions import build_defs
    from pipelines.paths import warehouse_path
    from pipelines.runner import run_pipeline

    with dg.DagsterInstance.ephemeral() as instance:
        assert run_pipeline(instance).success
        job = build_defs().resolve_job_def("retention_job")
        result = job.execute_in_process(
            instance=instance, run_config={"ops": {"expired_events_purge": {"config": {"months": 12}}}}
        )
        assert result.success
    # The test events are from September 2025, more than 12 months before any run of this test.
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM lake_files").fetchall() == [(0,)]
        assert not list((ent_data_dir / "lake" / "events").rglob("*.parquet"))  # dimensions/ is not events
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM landing_manifest").fetchall() == [(2,)]
