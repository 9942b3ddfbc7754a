"""The event lake: validated, pseudonymized events written once by ingestion as zstd Parquet,
hive-partitioned by ISO week (docs/scale/dbt_engines.md, "Plan", section 2).

    <lake>/events/week_start=YYYY-MM-DD/part-<source sha256[:16]>-<n>.parquet
    <lake>/_staging/<uuid>/...                       (a file being written; never read)

A landed file's events are written to ``_staging/``, fsynced, then moved into their week folders with
``os.replace`` (same file system: atomic) before the DuckDB transaction that records the file in
``landing_manifest`` and its Parquet files in ``lake_files`` commits. A crash between the move and
the commit leaves files that ``lake_files`` does not list: ``recover`` deletes them (and empties
``_staging/``) at the start of every ingest run, before anything reads the lake.

The warehouse reads the lake through one view, ``events`` (``refresh_events_view``), with the types
the warehouse uses elsewhere (UHUGEINT pseudonyms and event ids, the enums of schema.sql). The dbt
models read the same folder through their source ``lake.events``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

EVENTS = "events"
STAGING = "_staging"
MARKER = "_warehouse_id"  # the id of the one warehouse whose lake_files list this lake's files


class LakeMismatchError(RuntimeError):
    """The lake belongs to another warehouse: recovery would delete that warehouse's events."""

# Columns of a lake file, in order (week_start is the folder, not a column): the contract of the dbt
# source lake.events and of the fixture tests/lake/event_lake.py.
LAKE_COLUMNS = ("event_id", "occurred_at", "uai", "user_pseudo", "profile", "service", "event_type", "channel",
                "auth_method", "source_file")


@dataclass(frozen=True)
class LakeFile:
    path: str  # relative to <lake>/events, e.g. week_start=2025-09-08/part-0123456789abcdef-0.parquet
    week_start: str
    rows: int
    staged: str = ""  # relative to the staging folder while being written (write_week_files)


def events_dir(lake: Path) -> Path:
    return lake / EVENTS


def week_dir(lake: Path, week_start: str) -> Path:
    return events_dir(lake) / f"week_start={week_start}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_week_files(con: duckdb.DuckDBPyConnection, select_sql: str, lake: Path,
                     sha256s: list[str]) -> tuple[Path, list[list[LakeFile]]]:
    """COPY ``select_sql`` (the LAKE_COLUMNS, week_start and file_idx, the index in ``sha256s`` of the
    landed file each row comes from) into a fresh staging folder in one pass, partitioned by week and
    source file; fsync every file and folder. Returns the staging folder and, for each landed file, its
    files as they will be named in the lake (``part-<its sha256[:16]>-<n>`` in the week folder).

    The rows are not sorted: on 2 M events a sort by school, account and time costs 0.9 s of the
    write's 2.2 s (2 cores) for files 5 % smaller, and no reader relies on the order (sessions order
    explicitly). zstd level 1: as small as the default level 3 (the keyed event ids, random hex, are most
    of the bytes) for about 20 % less CPU."""
    staging = lake / STAGING / uuid.uuid4().hex
    staging.parent.mkdir(parents=True, exist_ok=True)
    # RETURN_STATS: the row count of each written file, without reading the files' footers back.
    written = con.execute(
        f"COPY (SELECT {', '.join(LAKE_COLUMNS)}, week_start, file_idx FROM ({select_sql})) "
        f"TO '{staging}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (week_start, file_idx), "
        f"FILENAME_PATTERN 'part-{{i}}', ROW_GROUP_SIZE 1000000, RETURN_STATS)"
    ).fetchall()
    counts = {Path(filename).resolve(): int(count) for filename, count, *_ in written}
    files: list[list[LakeFile]] = [[] for _ in sha256s]
    for week in sorted(staging.glob("week_start=*")):
        for source in sorted(week.glob("file_idx=*")):
            index = int(source.name.split("=", 1)[1])
            for n, part in enumerate(sorted(source.glob("part-*.parquet"))):
                _fsync(part)
                files[index].append(LakeFile(f"{week.name}/part-{sha256s[index][:16]}-{n}.parquet",
                                             week.name.split("=", 1)[1], counts.pop(part.resolve()),
                                             part.relative_to(staging).as_posix()))
            _fsync(source)
        _fsync(week)
    if counts:
        raise RuntimeError(f"COPY reported files not found in {staging}: {sorted(map(str, counts))}")
    _fsync(staging)
    return staging, files


def publish(staging: Path, lake: Path, files: list[LakeFile]) -> None:
    """Move the staged files into their week folders (atomic renames), fsync the folders, drop the staging folder."""
    root = events_dir(lake)
    root.mkdir(parents=True, exist_ok=True)
    touched = set()
    for f in files:
        target = root / f.path
        if not target.parent.exists():
            target.parent.mkdir()
            touched.add(root)
        os.replace(staging / f.staged, target)
        touched.add(target.parent)
    for folder in touched:
        _fsync(folder)
    shutil.rmtree(staging, ignore_errors=True)


def unpublish(lake: Path, files: list[LakeFile]) -> None:
    """Best-effort removal of files whose manifest transaction did not commit (recover does it otherwise)."""
    for f in files:
        (events_dir(lake) / f.path).unlink(missing_ok=True)


def record(con: duckdb.DuckDBPyConnection, files: list[LakeFile], sha256: str, source_file: str) -> None:
    """The lake_files rows of a landed file, inside the caller's transaction."""
    for f in files:
        con.execute(
            "INSERT INTO lake_files (path, week_start, rows, sha256, source_file) VALUES (?, ?, ?, ?, ?)",
            [f.path, f.week_start, f.rows, sha256, source_file],
        )


def claim(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """Pair the warehouse and its lake (an id in warehouse_settings and in <lake>/_warehouse_id), or
    refuse a lake that holds another warehouse's files: recover would delete them."""
    rows = con.execute("SELECT value FROM warehouse_settings WHERE key = 'lake_id'").fetchall()
    ours = rows[0][0] if rows else None
    marker = lake / MARKER
    theirs = marker.read_text().strip() if marker.exists() else None
    if ours is not None and ours == theirs:
        return
    if theirs is not None or any(events_dir(lake).glob("week_start=*/*.parquet")):
        raise LakeMismatchError(
            f"the event lake {lake} holds the events of another warehouse (id {theirs or 'none'}, this warehouse's: "
            f"{ours or 'none'}): refusing to use it. A warehouse and its lake go together: point ENT_LAKE_DIR / "
            "ENT_DATA_DIR at this warehouse's lake, or, to rebuild from landing/, move the old lake aside with the "
            "old warehouse file."
        )
    ours = ours or uuid.uuid4().hex
    lake.mkdir(parents=True, exist_ok=True)
    marker.write_text(ours + "\n")
    _fsync(marker)
    con.execute("INSERT OR REPLACE INTO warehouse_settings VALUES ('lake_id', ?)", [ours])


def recover(con: duckdb.DuckDBPyConnection, lake: Path) -> list[str]:
    """Delete what an interrupted ingest left: every lake file not listed in lake_files (a crash between
    the rename and the manifest commit, or after a retention commit), and the staging folder. Returns
    the deleted files (relative paths). Refuses a lake paired with another warehouse (claim)."""
    claim(con, lake)
    shutil.rmtree(lake / STAGING, ignore_errors=True)
    root = events_dir(lake)
    if not root.exists():
        return []
    committed = {p for (p,) in con.execute("SELECT path FROM lake_files").fetchall()}
    deleted = []
    for part in sorted(root.glob("week_start=*/*")):
        rel = f"{part.parent.name}/{part.name}"
        if rel not in committed:
            part.unlink()
            deleted.append(rel)
    for folder in root.glob("week_start=*"):
        if not any(folder.iterdir()):
            folder.rmdir()
    return deleted


def files_of_weeks_sql(con: duckdb.DuckDBPyConnection, lake: Path, weeks_sql: str, columns: str) -> str | None:
    """A ``read_parquet`` over the committed files of the weeks ``weeks_sql`` selects (one column
    week_start), projecting ``columns``; None when those weeks hold no file."""
    paths = [str(events_dir(lake) / p) for (p,) in con.execute(
        f"SELECT path FROM lake_files WHERE week_start IN ({weeks_sql}) ORDER BY path").fetchall()]
    if not paths:
        return None
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    return f"(SELECT {columns} FROM read_parquet([{listed}]))"


# The warehouse's view of the lake: the columns and types the former `events` table had.
_VIEW_COLUMNS = """
    ('0x' || event_id)::UHUGEINT AS event_id, occurred_at, week_start, uai,
    ('0x' || hex(user_pseudo))::UHUGEINT AS user_pseudo, profile::profile_t AS profile,
    service::service_t AS service, event_type, channel::channel_t AS channel,
    auth_method::auth_method_t AS auth_method, source_file"""
_EMPTY = """(SELECT NULL::VARCHAR AS event_id, NULL::TIMESTAMPTZ AS occurred_at, NULL::DATE AS week_start,
    NULL::VARCHAR AS uai, NULL::BLOB AS user_pseudo, NULL::VARCHAR AS profile, NULL::VARCHAR AS service,
    NULL::VARCHAR AS event_type, NULL::VARCHAR AS channel, NULL::VARCHAR AS auth_method,
    NULL::VARCHAR AS source_file WHERE false)"""


def lake_events_sql(lake: Path, has_files: bool) -> str:
    """The lake's events folder as a DuckDB relation (hive partition week_start as a DATE)."""
    if not has_files:
        return _EMPTY
    glob = str(events_dir(lake) / "*" / "*.parquet").replace("'", "''")
    return f"read_parquet('{glob}', hive_partitioning = true, hive_types = {{'week_start': DATE}})"


def refresh_events_view(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """(Re)create the view ``events`` over the lake: after every write to the lake (ingest, retention),
    so that it exists, typed, even while the lake is empty."""
    has_files = con.execute("SELECT count(*) > 0 FROM lake_files").fetchall()[0][0]
    con.execute(f"CREATE OR REPLACE VIEW events AS SELECT {_VIEW_COLUMNS} FROM {lake_events_sql(lake, has_files)}")
