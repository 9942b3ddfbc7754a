"""The national report's ingestion incidents of the week, read from the warehouse: how many rows were
quarantined for each reason, and which landing files were rejected and why.

These are operational facts about files, not statistics about families: they are the only thing the
reports read from the warehouse, and only counts, reasons and file names (never a line of a file).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Operations:
    quarantine: list[dict]  # reason, rows, files
    rejected: list[dict]    # file_name, format, error


def load_operations(con, week_start: dt.date) -> Operations:
    """Quarantined rows by reason and rejected files of the week (Europe/Paris days, Monday to Sunday)."""
    days = {"first": week_start, "last": week_start + dt.timedelta(days=6)}
    quarantine = con.execute(
        """
        SELECT reason, count(*)::BIGINT AS rows, count(DISTINCT file_path)::BIGINT AS files
        FROM quarantine
        WHERE (quarantined_at AT TIME ZONE 'Europe/Paris')::DATE BETWEEN $first AND $last
        GROUP BY reason ORDER BY rows DESC, reason
        """,
        days,
    ).fetchall()
    rejected = con.execute(
        """
        SELECT file_name, coalesce(format, '') AS format, coalesce(error, '') AS error
        FROM landing_manifest
        WHERE status = 'rejected' AND (ingested_at AT TIME ZONE 'Europe/Paris')::DATE BETWEEN $first AND $last
        ORDER BY ingested_at, file_name
        """,
        days,
    ).fetchall()
    return Operations([dict(zip(("reason", "rows", "files"), r)) for r in quarantine],
                      [dict(zip(("file_name", "format", "error"), r)) for r in rejected])
