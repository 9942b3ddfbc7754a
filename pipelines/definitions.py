"""The Dagster code location of the Observatoire ENT (``dagster dev`` loads ``defs`` from here)."""

import dagster as dg

from pipelines.code_versions import with_code_versions
from pipelines.defs.equity.assets import equity_assets
from pipelines.defs.equity.checks import equity_checks
from pipelines.defs.event_models.assets import event_model_assets
from pipelines.defs.event_models.project import dbt_resource
from pipelines.defs.indicators.assets import period_indicator_assets
from pipelines.defs.indicators.checks import indicator_checks
from pipelines.defs.ingest.assets import events, landed_files
from pipelines.defs.ingest.checks import ingest_checks
from pipelines.defs.ingest.retention import expired_events_purge, retention_job, retention_schedule
from pipelines.sensors import (
    indicators_after_weeks_sensor, ingested_weeks_sensor, landing_sensor, serving_after_indicators_sensor,
)
from pipelines.defs.levers.assets import lever_assets
from pipelines.defs.levers.checks import lever_checks
from pipelines.defs.reference.assets import reference_assets
from pipelines.defs.reports.assets import weekly_report, weekly_report_job, weekly_report_schedule
from pipelines.defs.reference.checks import schools_checks
from pipelines.defs.publication.assets import serving_assets
from pipelines.jobs import indicators_job, ingest_job, serving_job, weekly_job
from pipelines.resources import warehouse_resource
from pipelines.stage_log import stage_logger


def pipeline_assets() -> list[dg.AssetsDefinition]:
    """Every asset of the code location, before their code versions are set."""
    return [*reference_assets, landed_files, events, *event_model_assets, *period_indicator_assets, *equity_assets,
            *lever_assets, *serving_assets, expired_events_purge, weekly_report]


def build_defs() -> dg.Definitions:
    """Definitions bound to the current ``ENT_DATA_DIR`` (tests call this after pointing it at tmp_path)."""
    return dg.Definitions(
        # Code versions on every asset: a re-run compares them with the last materializations' (runner.py).
        assets=with_code_versions(pipeline_assets()),
        asset_checks=[*schools_checks, *ingest_checks, *indicator_checks, *equity_checks, *lever_checks],
        jobs=[ingest_job, weekly_job, indicators_job, serving_job, retention_job, weekly_report_job],
        schedules=[retention_schedule, weekly_report_schedule],
        sensors=[landing_sensor, ingested_weeks_sensor, indicators_after_weeks_sensor, serving_after_indicators_sensor],
        resources={"duckdb": warehouse_resource(), "dbt": dbt_resource()},
        # Dagster's console logger by default (dagster dev); ``ent-equity run`` picks the stage logger.
        loggers={"console": dg.colored_console_logger, "stages": stage_logger},
        # One process per run: DuckDB allows a single writing process per file, and steps are SQL-bound.
        executor=dg.in_process_executor,
    )


defs = build_defs()
