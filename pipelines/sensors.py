"""Sensors: the daemon's chain of the pipeline's jobs, in the order of ``PIPELINE_JOBS`` (pipelines/jobs.py).

New landing files launch an ingest run; an ingest that touched weeks launches the weekly job over those
weeks; every later job runs once after each successful run of the job before it."""

import hashlib
import itertools
import json

import dagster as dg

from pipelines.defs.ingest.ingest_file import landing_signature
from pipelines.jobs import PIPELINE_JOBS, ingest_job, weekly_job
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


def _after_success(upstream: dg.JobDefinition, downstream: dg.JobDefinition) -> dg.SensorDefinition:
    """A sensor that launches ``downstream`` once after each successful run of ``upstream``, named after both
    jobs' stages (``indicators_after_weekly_sensor``); its run key holds the upstream run's id, so a daemon
    restart never launches twice for one run."""
    up, down = (job.name.removesuffix("_job") for job in (upstream, downstream))

    @dg.run_status_sensor(name=f"{down}_after_{up}_sensor",
                          description=f"Launches {downstream.name} after each successful run of {upstream.name}.",
                          run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[upstream], request_job=downstream,
                          default_status=dg.DefaultSensorStatus.RUNNING)
    def _sensor(context: dg.RunStatusSensorContext):
        return dg.RunRequest(run_key=f"{down}-after-{context.dagster_run.run_id}")

    return _sensor


# From the weekly job on, each job of PIPELINE_JOBS after the success of the one before it.
after_success_sensors = [_after_success(upstream, downstream)
                         for upstream, downstream in itertools.pairwise(PIPELINE_JOBS[PIPELINE_JOBS.index(weekly_job):])]
PIPELINE_SENSORS = [landing_sensor, ingested_weeks_sensor, *after_success_sensors]
