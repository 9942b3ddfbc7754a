"""The serving file: the one artefact the publication stage writes and the dashboard, the weekly reports and
the runner read: where it lives, the version of its tables' shape, and how to open it for reading.

No Dagster import, directly or through any module this one imports: the dashboard reads this module
(docs/design.md, Layout; tests/test_import_layout.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.paths import serving_dir

SERVING_FILENAME = "observatoire_serving.duckdb"
# Bumped when the published tables change shape; the dashboard refuses a file of another version.
# 3: levers_* and school_ips_quintiles tables, active_rate_se, funnel_p / funnel_q
# 4: reach_cells.reach_margin; active_rate_se of staff cells (rounded cluster margin)
# 5: activation_rate_se, mobile_share_se, visits_per_active_se; ips_fit.slope_low / slope_high; Theil intervals
SCHEMA_VERSION = "5"
# The name the file is attached under by ``open_serving``.
ALIAS = "srv"


def serving_path() -> Path:
    """The published, read-only DuckDB file the dashboard opens (swapped atomically by each publish)."""
    return serving_dir() / SERVING_FILENAME


def open_serving(path: Path, threads: int = 2) -> duckdb.DuckDBPyConnection:
    """A new connection on which the serving file ``path`` is attached read-only as ``srv`` and in use (the
    dashboard and the weekly reports open it this way).

    ``duckdb.connect(path)`` would reuse the process-wide instance of the file that was at ``path`` before an
    atomic swap. A fresh in-memory DuckDB that ATTACHes the file read-only reads the file the path names now,
    and keeps reading that one whole if a publish swaps another in meanwhile (its inode stays alive until the
    connection closes)."""
    con = duckdb.connect(":memory:", config={"threads": threads})
    try:
        con.execute(f"ATTACH '{Path(path).as_posix().replace(chr(39), chr(39) * 2)}' AS {ALIAS} (READ_ONLY)")
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con
