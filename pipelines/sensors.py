"""Sensors: new landing files launch an ingest run; an ingest that touched weeks launches those weeks."""

import hashlib
import json

import dagster as dg

from pipelines.defs.ingest.ingest_file import landing_signature
from pipelines.jobs import indicators_job, ingest_job, serving_job, weekly_job
from pipelines.paths import landing_dir


@dg.sensor(job=ingest_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def landing_sensor(context: dg.SensorEvaluationContext):
    """Launches an ingest when a file appears in (or changes under) the landing folder."""
    current = landing_signature(landing_dir())
    known = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(path for path, signature in current.items() if known.get(path) != signature)
    context.update_cursor(json.dumps(current))
    if not changed:
        return dg.SkipReason("no new landing file")
    return dg.RunRequest(
        run_key="landing-" + hashlib.sha1(json.dumps({p: current[p] for p in changed}).encode()).hexdigest()[:16],
        tags={"landing_files": ", ".join(changed)[:1000]},
    )


@dg.asset_sensor(asset_key=dg.AssetKey("lake_events"), job=weekly_job, default_status=dg.DefaultSensorStatus.RUNNING)
def ingested_weeks_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    """Launches one run over the range of weeks an ingest touched."""
    materialization = asset_event.asset_materialization
    weeks_meta = materialization.metadata.get("weeks_touched") if materialization else None
    weeks = sorted(weeks_meta.value) if weeks_meta is not None else []
    if not weeks:
        return dg.SkipReason("the ingest touched no week")
    return dg.RunRequest(
        run_key=f"weeks-{asset_event.storage_id}",
        tags={"dagster/asset_partition_range_start": weeks[0], "dagster/asset_partition_range_end": weeks[-1]},
    )


def _after_success(name: str, upstream: dg.JobDefinition, downstream: dg.JobDefinition, key_prefix: str,
                   description: str) -> dg.SensorDefinition:
    """A sensor that launches ``downstream`` once after each successful run of ``upstream``."""

    @dg.run_status_sensor(name=name, description=description, run_status=dg.DagsterRunStatus.SUCCESS,
                          monitored_jobs=[upstream], request_job=downstream,
                          default_status=dg.DefaultSensorStatus.RUNNING)
    def _sensor(context: dg.RunStatusSensorContext):
        return dg.RunRequest(run_key=f"{key_prefix}-after-{context.dagster_run.run_id}")

    return _sensor


indicators_after_weeks_sensor = _after_success(
    "indicators_after_weeks_sensor", weekly_job, indicators_job, "indicators",
    "Recomputes the period indicators after weeks were (re)materialized.")
serving_after_indicators_sensor = _after_success(
    "serving_after_indicators_sensor", indicators_job, serving_job, "serving",
    "Republishes the dashboard's serving copy after the indicators were recomputed.")
