"""The weekly report asset, its job and its Monday-morning schedule.

The reports print figures of the published serving copy only (``published_serving``); the warehouse is
opened read-only for the national report's ingestion incidents (``quarantine``, ``landing_manifest``).
"""

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb as duckdb_lib
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest.partitions import weekly_partitions
from pipelines.defs.reports.mail import send_weekly_reports
from pipelines.defs.reports.weekly import read_manifest, write_weekly_reports
from pipelines.paths import reports_dir
from pipelines.serving_file import serving_path

REPORT_DEPS = ["published_serving", "quarantine", "landing_manifest"]


@contextmanager
def read_only_connection(resource: DuckDBResource, attempts: int = 10) -> Iterator[duckdb_lib.DuckDBPyConnection]:
    """A read-only connection to the resource's database: the report only reads, so it neither takes the
    writer's lock nor conflicts with other read-only connections of the process. Retries while a writer
    holds the file, as ``DuckDBResource.get_connection`` does."""
    for attempt in range(attempts):
        try:
            con = duckdb_lib.connect(resource.database, read_only=True, config=dict(resource.connection_config))
            break
        except duckdb_lib.IOException:
            if attempt == attempts - 1:
                raise
            time.sleep(min(0.2 * 2**attempt, 10.0))
    try:
        yield con
    finally:
        con.close()


@dg.asset(partitions_def=weekly_partitions, deps=REPORT_DEPS, group_name="reports", kinds={"duckdb", "html", "pdf"})
def weekly_report(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """French weekly report per académie and for France (HTML + PDF) from the serving copy, e-mailed when
    SMTP is configured."""
    week_start = dt.date.fromisoformat(context.partition_key)
    serving = serving_path()
    with read_only_connection(duckdb) as con:
        paths = write_weekly_reports(serving, week_start, reports_dir(), warehouse=con, logger=context.log)
    week_dir = paths[0].parent
    manifest = read_manifest(week_dir)
    mail = send_weekly_reports(week_dir)
    if mail.configured:
        for error in mail.errors:
            context.log.warning(f"e-mail : {error}")
    else:
        context.log.info(f"e-mail : {mail.reason}")
    pdf = manifest["pdf"]
    national = next(e for e in manifest["reports"] if e["code"] == "FR")["summary"]
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(week_dir)),
        "serving_file": dg.MetadataValue.path(str(serving)),
        "serving_published_at": manifest["serving"]["published_at"] or "inconnu",
        "week": manifest["week_label"],
        "reports": len(manifest["reports"]),
        "pdf_printed": pdf["printed"],
        "pdf_missing": pdf["missing"],
        "pdf_missing_reason": pdf["reason"] or "aucun PDF manquant",
        "pdf_mode": pdf["mode"] or "aucun",
        **mail.as_metadata(),
        "national_parent_active_rate": national.get("parent_active_rate_text", "—"),
        "newly_flagged_schools": sum(e["summary"].get("flagged_schools", 0) for e in manifest["reports"]
                                     if e["code"] != "FR"),
        "seconds": dg.MetadataValue.json(manifest["seconds"]),
        "files": dg.MetadataValue.json([p.name for p in paths]),
    })


weekly_report_job = dg.define_asset_job(
    "weekly_report_job", selection=dg.AssetSelection.assets(weekly_report), partitions_def=weekly_partitions
)
# Mondays 07:00 Europe/Paris (the partitions' timezone), for the ISO week that ended the day before.
weekly_report_schedule = dg.build_schedule_from_partitioned_job(
    weekly_report_job, hour_of_day=7, minute_of_hour=0, day_of_week=1
)
