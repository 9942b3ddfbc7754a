"""Run the pipeline in this process on a Dagster instance, the way the sensors would in the daemon:
the ingest job, one run of the weekly job over every week that holds events, the indicators, then the
serving copy the dashboard reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg
import duckdb

from pipelines.definitions import build_defs
from pipelines.jobs import indicators_job, ingest_job, serving_job, weekly_job
from pipelines.paths import warehouse_path


@dataclass
class PipelineRun:
    success: bool = True
    runs: list[tuple[str, str, bool, float]] = field(default_factory=list)  # (job, run_id, success, seconds)
    failed_checks: list[str] = field(default_factory=list)
    weeks: tuple[str, str] | None = None


def _execute(job: dg.JobDefinition, instance: dg.DagsterInstance, outcome: PipelineRun, **kwargs) -> None:
    started = time.perf_counter()
    result = job.execute_in_process(instance=instance, raise_on_error=False, **kwargs)
    outcome.runs.append((job.name, result.run_id, result.success, time.perf_counter() - started))
    outcome.success &= result.success
    outcome.failed_checks += [
        f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:{e.asset_check_evaluation_data.check_name}"
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]


def lake_week_range() -> tuple[str, str] | None:
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        first, last = con.execute("SELECT min(week_start)::VARCHAR, max(week_start)::VARCHAR FROM lake_files").fetchall()[0]
    return (first, last) if first else None


def run_pipeline(instance: dg.DagsterInstance) -> PipelineRun:
    """Ingest, then the weekly assets over all weeks with events, the period indicators, then the serving copy."""
    defs = build_defs()
    outcome = PipelineRun()
    _execute(defs.resolve_job_def(ingest_job.name), instance, outcome)
    if not outcome.success:
        return outcome
    outcome.weeks = lake_week_range()
    if outcome.weeks:
        first, last = outcome.weeks
        _execute(
            defs.resolve_job_def(weekly_job.name), instance, outcome,
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )
    if outcome.success:
        _execute(defs.resolve_job_def(indicators_job.name), instance, outcome)
    if outcome.success:
        _execute(defs.resolve_job_def(serving_job.name), instance, outcome)
    return outcome
