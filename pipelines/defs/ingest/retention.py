"""Retention: raw events older than N months (default 12, CNIL logging guidance 6–12 months) are
deleted; aggregates are kept. Runs monthly on a schedule and on demand.

The lake is deleted by whole ISO weeks (its partitions, lake.py): a week goes once all of it is older
than the cutoff, so up to six days older than N months may stay until the next run."""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest import lake
from pipelines.paths import lake_dir
from pipelines.transactions import transaction

RETENTION_ENV = "ENT_RETENTION_MONTHS"


class RetentionConfig(dg.Config):
    months: int = int(os.environ.get(RETENTION_ENV, "12"))


@dg.asset(deps=["events"], group_name="retention", kinds={"duckdb", "parquet"})
def expired_events_purge(config: RetentionConfig, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Deletes the lake's weeks (and quarantined excerpts) older than the retention period; keeps aggregates."""
    if config.months < 1:
        raise ValueError(f"retention must be at least 1 month, got {config.months}")
    cutoff_sql = f"now() - INTERVAL {int(config.months)} MONTH"
    # The first Monday (Europe/Paris) whose week is kept: every week before it ends before the cutoff.
    kept_from_sql = f"date_trunc('week', (({cutoff_sql}) AT TIME ZONE 'Europe/Paris')::DATE)::DATE"
    root = lake_dir()
    with duckdb.get_connection() as con:
        with transaction(con):
            expired = con.execute(
                f"SELECT path, rows FROM lake_files WHERE week_start < {kept_from_sql} ORDER BY path"
            ).fetchall()
            con.execute(f"DELETE FROM lake_files WHERE week_start < {kept_from_sql}")
            deleted_quarantine = con.execute(
                f"DELETE FROM quarantine WHERE quarantined_at < {cutoff_sql}").fetchall()[0][0]
            cutoff, kept_from = con.execute(f"SELECT ({cutoff_sql})::VARCHAR, {kept_from_sql}::VARCHAR").fetchall()[0]
            # Periods starting before this day keep the indicators computed while their events existed.
            con.execute("INSERT OR REPLACE INTO warehouse_settings VALUES ('events_purged_before', ?)", [kept_from])
        # After the commit: a crash here leaves files lake_files no longer lists, which the next
        # ingest's recovery deletes (lake.recover).
        lake.unpublish(root, [lake.LakeFile(path, "", rows) for path, rows in expired])
        lake.recover(con, root)
        lake.refresh_events_view(con, root)
    return dg.MaterializeResult(metadata={
        "retention_months": config.months, "cutoff": cutoff, "weeks_kept_from": kept_from,
        "deleted_lake_files": len(expired), "deleted_events": sum(rows for _, rows in expired),
        "deleted_quarantine": deleted_quarantine,
    })


retention_job = dg.define_asset_job("retention_job", selection=[expired_events_purge])
retention_schedule = dg.ScheduleDefinition(
    job=retention_job, cron_schedule="0 3 1 * *", execution_timezone="Europe/Paris",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
