"""The reports domain's Dagster definitions: the weekly report asset, its job and its Monday-morning
schedule (merged into the code location by pipelines/definitions.py)."""

import dagster as dg

from pipelines.defs.reports.assets import weekly_report, weekly_report_job, weekly_report_schedule

defs = dg.Definitions(assets=[weekly_report], jobs=[weekly_report_job], schedules=[weekly_report_schedule])
