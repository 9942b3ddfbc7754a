"""The Dagster code location loads, and ``schools`` materializes with its checks on a real DuckDB file."""

from __future__ import annotations

import dagster as dg
import duckdb


def test_definitions_load(ent_data_dir):
    from pipelines.definitions import build_defs

    defs = build_defs()
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"academies", "departements", "communes", "schools"} <= keys


def test_schools_materializes_with_passing_checks(ent_data_dir):
    from pipelines.definitions import build_defs
    from pipelines.paths import warehouse_path

    defs = build_defs()
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("schools"), dg.AssetKey("academies"), dg.AssetKey("departements"), dg.AssetKey("communes")])
    assert result.success
    checks = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks) == 4 and all(c.passed for c in checks)
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM schools").fetchall()[0][0] == 43_065
    assert str(warehouse_path()).startswith(str(ent_data_dir))


def test_schools_checks_fail_on_bad_rows(tmp_path):
    from dagster_duckdb import DuckDBResource

    from pipelines.defs.reference.checks import (
        schools_counts_per_level_plausible,
        schools_ips_in_published_range,
        schools_uai_valid_and_unique,
    )
    from pipelines.defs.reference.schools import build_schools
    from tests.conftest import REFERENCE_DIR

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        build_schools(con, REFERENCE_DIR)
        con.execute("INSERT INTO schools (uai, level, ips) SELECT 'ABC', 'ecole', 250.0")
        con.execute("INSERT INTO schools (uai, level, ips) SELECT uai, level, ips FROM schools WHERE level = 'lycee' LIMIT 1")
    resource = DuckDBResource(database=str(path))
    uai = schools_uai_valid_and_unique(duckdb=resource)
    assert not uai.passed and uai.metadata["malformed"].value == 1 and uai.metadata["duplicates"].value == 1
    assert not schools_ips_in_published_range(duckdb=resource).passed
    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM schools WHERE level = 'college'")
    assert not schools_counts_per_level_plausible(duckdb=resource).passed


def test_run_status_sensors_chain_weeks_indicators_and_publication(ent_data_dir):
    """The run-status sensors request the next job of PIPELINE_JOBS from the weekly one on (weekly →
    indicators → publication), once per upstream run (keyed by its id, so a daemon restart never republishes
    twice for one run)."""
    from pipelines.jobs import PIPELINE_JOBS
    from pipelines.sensors import after_success_sensors

    @dg.op
    def succeeds():
        return 1

    @dg.job
    def upstream():
        succeeds()

    assert [s.name for s in after_success_sensors] == ["indicators_after_weekly_sensor",
                                                       "publication_after_indicators_sensor"]
    assert [j.name for j in PIPELINE_JOBS] == ["ingest_job", "weekly_job", "indicators_job", "publication_job"]
    with dg.DagsterInstance.ephemeral() as instance:
        result = upstream.execute_in_process(instance=instance)
        for sensor, requested in zip(after_success_sensors, PIPELINE_JOBS[2:], strict=True):
            assert [t.job_name for t in sensor.targets] == [requested.name]
            context = dg.build_run_status_sensor_context(
                sensor_name=sensor.name, dagster_event=result.get_run_success_event(),
                dagster_instance=instance, dagster_run=result.dagster_run)
            request = sensor(context)
            assert isinstance(request, dg.RunRequest) and result.run_id in request.run_key


def test_code_location_merges_the_domains(ent_data_dir):
    """The code location holds every domain's definitions, the pipeline's jobs and sensors, and nothing else."""
    from pipelines import definitions
    from pipelines.definitions import DOMAINS, build_defs, pipeline_assets
    from pipelines.jobs import PIPELINE_JOBS
    from pipelines.sensors import PIPELINE_SENSORS

    # Dagster refuses to load a module holding more than one Definitions object.
    assert [name for name, value in vars(definitions).items() if isinstance(value, dg.Definitions)] == ["defs"]
    defs = build_defs()
    assert {k for a in defs.assets for k in a.keys} == {k for a in pipeline_assets() for k in a.keys} == {
        k for d in DOMAINS for a in d.assets for k in a.keys}
    assert {j.name for j in defs.jobs} == {j.name for j in PIPELINE_JOBS} | {"retention_job", "weekly_report_job"}
    assert {s.name for s in defs.sensors} == {s.name for s in PIPELINE_SENSORS}
    assert {s.name for s in defs.schedules} == {"retention_job_schedule", "weekly_report_job_schedule"}
    assert all(spec.code_version for a in defs.assets for spec in a.specs)
    # "publication" names the stage, the asset keeps its key (docs/design.md, Layout).
    assert defs.resolve_asset_graph().get(dg.AssetKey("published_serving")).group_name == "publication"
