"""Open the published serving file for reading (the dashboard and the weekly reports do it this way).

``duckdb.connect(path)`` would reuse the process-wide instance of the file that was at ``path`` before an
atomic swap. A fresh in-memory DuckDB that ATTACHes the file read-only reads the file the path names now,
and keeps reading that one whole if a publish swaps another in meanwhile (its inode stays alive until the
connection closes).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

ALIAS = "srv"


def open_serving(path: Path, threads: int = 2) -> duckdb.DuckDBPyConnection:
    """A new connection on which the serving file ``path`` is attached read-only as ``srv`` and in use."""
    con = duckdb.connect(":memory:", config={"threads": threads})
    try:
        con.execute(f"ATTACH '{Path(path).as_posix().replace(chr(39), chr(39) * 2)}' AS {ALIAS} (READ_ONLY)")
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con
