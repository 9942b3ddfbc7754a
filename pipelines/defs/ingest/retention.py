"""Retention: raw events older than N months (default 12, CNIL logging guidance 6–12 months) are
deleted; aggregates are kept. Runs monthly on a schedule and on demand."""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

RETENTION_ENV = "ENT_RETENTION_MONTHS"


class RetentionConfig(dg.Config):
    months: int = int(os.environ.get(RETENTION_ENV, "12"))


@dg.asset(deps=["events"], group_name="retention", kinds={"duckdb"})
def expired_events_purge(config: RetentionConfig, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Deletes raw events (and quarantined excerpts) older than the retention period; keeps aggregates."""
    if config.months < 1:
        raise ValueError(f"retention must be at least 1 month, got {config.months}")
    cutoff_sql = f"now() - INTERVAL {int(config.months)} MONTH"
    with duckdb.get_connection() as con:
        con.execute("BEGIN TRANSACTION")
        deleted = {
            table: con.execute(f"DELETE FROM {table} WHERE {column} < {cutoff_sql}").fetchall()[0][0]
            for table, column in (("events", "occurred_at"), ("staged_events", "occurred_at"),
                                  ("quarantine", "quarantined_at"))
        }
        cutoff = con.execute(f"SELECT ({cutoff_sql})::VARCHAR").fetchall()[0][0]
        # Periods starting before this day keep the indicators computed while their events existed.
        con.execute(
            "INSERT OR REPLACE INTO warehouse_settings VALUES "
            "('events_purged_before', ((" + cutoff_sql + ") AT TIME ZONE 'Europe/Paris')::DATE::VARCHAR)"
        )
        con.execute("COMMIT")
    return dg.MaterializeResult(metadata={"retention_months": config.months, "cutoff": cutoff} |
                                {f"deleted_{t}": n for t, n in deleted.items()})


retention_job = dg.define_asset_job("retention_job", selection=[expired_events_purge])
retention_schedule = dg.ScheduleDefinition(
    job=retention_job, cron_schedule="0 3 1 * *", execution_timezone="Europe/Paris",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
