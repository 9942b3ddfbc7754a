"""The ingest domain's Dagster definitions: the ingest's assets and checks, and the retention purge with
its monthly job and schedule (merged into the code location by pipelines/definitions.py)."""

import dagster as dg

from pipelines.defs.ingest.assets import events, landed_files
from pipelines.defs.ingest.checks import ingest_checks
from pipelines.defs.ingest.retention import expired_events_purge, retention_job, retention_schedule

defs = dg.Definitions(assets=[landed_files, events, expired_events_purge], asset_checks=ingest_checks,
                      jobs=[retention_job], schedules=[retention_schedule])
