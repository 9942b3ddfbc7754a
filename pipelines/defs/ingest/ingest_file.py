"""Ingest landed files into the warehouse and the event lake: one transaction per batch of new event
files of one format (one file for the other formats), nothing lost, nothing counted twice.

A file's content is identified by its SHA-256: the same path and content is skipped, the same content
under another name is recorded as a duplicate without reading it again, and a new content is read.
Each read row ends up stored, duplicate or quarantined (with its reason), and the manifest records
``rows_read = rows_stored + rows_duplicate + rows_quarantined`` for every file. Stored events go to the
Parquet lake (lake.py): staged, fsynced and renamed into their week folders before the transaction
holding the manifest and ``lake_files`` rows commits; ``recover`` removes what a crash in between left.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from time import perf_counter

import duckdb

from pipelines.defs.ingest import lake
from pipelines.defs.ingest.event_readers import FileSchemaError, parsed_events_sql
from pipelines.defs.ingest.formats import EVENT_FORMATS, Sniffed, UnrecognizedFileError, sniff, transcode_to_utf8
from pipelines.defs.ingest.pseudonymize import Pseudonymizer
from pipelines.defs.ingest.stage_events import (
    BatchFile,
    StageCounts,
    drop_work_tables,
    stage_event_rows,
    stored_rows_sql,
)
from pipelines.defs.ingest.stage_tables import stage_table_rows
from pipelines.defs.ingest.stage_timer import stage
from pipelines.paths import lake_dir
from pipelines.sql_files import load_sql
from pipelines.transactions import transaction

# Files that others resolve against are read first: structures and accounts before events.
FORMAT_ORDER = [
    "entcore_structures_csv", "accounts_csv", "school_context_csv", "mediation_workshops_csv",
    "ode_statistics_csv", "canonical_parquet", "canonical_csv", "entcore_jsonl", "access_events_csv",
]
# New event files are ingested in batches of one format (one pass, one transaction, the lake's
# event ids of the touched weeks read once per batch): up to BATCH_ROWS rows, about 1 to 2 GB of
# DuckDB work tables (docs/scale/dbt_engines.md, "Ingest in batches").
BATCH_ROWS = 8_000_000
TEXT_BYTES_PER_ROW = 100
LANDING_SUFFIXES = {".parquet", ".csv", ".jsonl", ".json", ".ndjson", ".txt"}


class BalanceError(RuntimeError):
    """rows read != stored + duplicate + quarantined: the file is rolled back."""


class KeyMismatchError(RuntimeError):
    """The warehouse was built with another pseudonymization key: pseudonyms would not link."""


class LegacyWarehouseError(RuntimeError):
    """The warehouse predates keyed event ids, or the lake: it must be rebuilt from landing/ (README, "Ingest")."""


# DuckDB errors a file's content can raise (a corrupt Parquet file, a value no cast accepts). Their
# messages may quote the content, so the file is rejected with the error's class name only.
DATA_ERRORS = (duckdb.ConversionException, duckdb.InvalidInputException)


@dataclass
class FileOutcome:
    file_path: str
    status: str
    format: str | None
    rows_read: int = 0
    rows_stored: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    rows_mapped_to_autre: int = 0
    weeks: list[str] = field(default_factory=list)
    error: str | None = None


def ensure_schema(con: duckdb.DuckDBPyConnection, lake_root: Path | None = None) -> None:
    """Create the ingest tables and the view ``events`` over the lake if missing; refuse a warehouse
    built before keyed event ids or before the lake (its events are tables in the DuckDB file)."""
    con.execute(load_sql("pipelines.defs.ingest", "schema"))
    legacy = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name IN ('staged_events', 'events') AND column_name = 'event_id' AND data_type = 'VARCHAR'"
    ).fetchall()[0][0]
    pre_lake = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name IN ('staged_events', 'events')"
    ).fetchall()[0][0]
    if legacy or pre_lake:
        path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
        why = ("was built before keyed event ids: it stores event ids unkeyed, and its quarantine excerpts and "
               "manifest errors may quote landing files" if legacy else
               "was built before the event lake: its events are tables in the DuckDB file, not Parquet files "
               "under lake/events/")
        raise LegacyWarehouseError(
            f"the warehouse {path[0][0] if path else ''} {why}. Refusing to ingest "
            "into it. Rebuild it from landing/ (ingestion never deletes a landing file): stop Dagster, move the "
            "warehouse file (and lake/, if any) aside, run `ent-equity run` (then `retention_job`), and delete the old file."
        )
    lake.refresh_events_view(con, lake_root or lake_dir())


def check_key(con: duckdb.DuckDBPyConnection, pseudonymizer: Pseudonymizer) -> None:
    """Record the key fingerprint on first use; refuse a different key afterwards."""
    rows = con.execute("SELECT value FROM warehouse_settings WHERE key = 'pseudonymization_key'").fetchall()
    row = rows[0] if rows else None
    if row is None:
        con.execute("INSERT INTO warehouse_settings VALUES ('pseudonymization_key', ?)", [pseudonymizer.fingerprint])
    elif row[0] != pseudonymizer.fingerprint:
        raise KeyMismatchError(
            f"the warehouse was pseudonymized with key {row[0]}, this run has key {pseudonymizer.fingerprint}: "
            "refusing to ingest (pseudonyms would not link). Use the original key or a new warehouse."
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def landing_files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.rglob("*") if p.is_file() and p.suffix.lower() in LANDING_SUFFIXES)


def landing_signature(landing: Path) -> dict[str, str]:
    """Each landing file's path with its size and modification time (``size:mtime_ns``): what the landing
    sensor and a re-run compare to tell that no file appeared or changed, without reading any."""
    files = landing_files(landing) if landing.exists() else []
    return {p.relative_to(landing).as_posix(): f"{(st := p.stat()).st_size}:{st.st_mtime_ns}" for p in files}


def landing_signature_digest(signature: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(signature, sort_keys=True).encode()).hexdigest()


@dataclass
class _Pending:
    """A new event file of a batch: sniffed, hashed, its manifest row prepared."""
    path: Path
    rel: str
    sha: str
    sniffed: Sniffed
    manifest: dict


def _prepare(con: duckdb.DuckDBPyConnection, path: Path, landing: Path, pseudonymizer: Pseudonymizer, now: datetime,
             sniffed: Sniffed | UnrecognizedFileError) -> FileOutcome | _Pending | None:
    """What can be decided about one file before reading its rows: None (this path and content was
    ingested), a duplicate content or an unrecognized file (recorded, each in its own transaction), or
    the file still to read."""
    rel = path.relative_to(landing).as_posix()
    with stage("sha256 of the file"):
        sha = file_sha256(path)
    if con.execute("SELECT 1 FROM landing_manifest WHERE file_path = ? AND sha256 = ?", [rel, sha]).fetchall():
        return None
    first = con.execute(
        "SELECT file_path, format, rows_read FROM landing_manifest WHERE sha256 = ? AND status = 'ingested' "
        "ORDER BY ingested_at LIMIT 1",
        [sha],
    ).fetchall()
    first = first[0] if first else None
    manifest = dict(file_path=rel, file_name=path.name, size_bytes=path.stat().st_size, sha256=sha, ingested_at=now,
                    pseudonymization=pseudonymizer.label, format=None, encoding=None, separator=None,
                    duplicate_of=None, error=None, first_event_at=None, last_event_at=None)
    if first is not None:
        outcome = FileOutcome(rel, "duplicate_content", first[1], rows_read=first[2], rows_duplicate=first[2])
        with transaction(con):
            _write_manifest(con, manifest | {"format": first[1], "duplicate_of": first[0]}, outcome)
        return outcome
    if isinstance(sniffed, UnrecognizedFileError):
        return _reject(con, manifest, rel, sha, None, str(sniffed), now)
    manifest |= {"format": sniffed.format, "encoding": sniffed.encoding, "separator": sniffed.separator}
    return _Pending(path, rel, sha, sniffed, manifest)


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    landing: Path,
    pseudonymizer: Pseudonymizer,
    window_start: date,
    now: datetime | None = None,
    sniffed: dict[Path, Sniffed | UnrecognizedFileError] | None = None,
    lake_root: Path | None = None,
) -> list[FileOutcome | None]:
    """Ingest ``paths`` (event files of one format, or one file of any format) in one transaction and,
    for event files, one pass; an outcome per path, None where this exact path and content was already
    ingested. A batch that a file's content breaks (DATA_ERRORS) is rolled back and its files are
    ingested one by one, so that only that file is rejected."""
    now = now or datetime.now(timezone.utc)
    lake_root = lake_root or lake_dir()
    sniffed = sniffed or {}
    outcomes: dict[Path, FileOutcome | None] = {}
    pending: list[_Pending] = []
    copies: list[Path] = []  # the same content as a file pending in this batch: decided once that one is recorded
    for path in paths:
        prepared = _prepare(con, path, landing, pseudonymizer, now, sniffed.get(path) or _try_sniff(path))
        if isinstance(prepared, _Pending) and any(p.sha == prepared.sha for p in pending):
            copies.append(path)
        elif isinstance(prepared, _Pending):
            pending.append(prepared)
        else:
            outcomes[path] = prepared
    if pending:
        outcomes |= _ingest_pending(con, pending, pseudonymizer, window_start, now, lake_root)
    for path in copies:
        (outcomes[path],) = ingest_files(con, [path], landing, pseudonymizer, window_start, now, sniffed, lake_root)
    return [outcomes[path] for path in paths]


def _ingest_pending(con: duckdb.DuckDBPyConnection, pending: list[_Pending], pseudonymizer: Pseudonymizer,
                    window_start: date, now: datetime, lake_root: Path) -> dict[Path, FileOutcome]:
    fmt = pending[0].sniffed.format
    outcomes: dict[Path, FileOutcome] = {}
    with tempfile.TemporaryDirectory(prefix="ent_ingest_") as tmp:
        readable = {}
        for i, p in enumerate(pending):
            readable[p.path] = p.path
            if p.sniffed.encoding in {"cp1252", "latin-1"}:
                readable[p.path] = transcode_to_utf8(p.path, p.sniffed.encoding, Path(tmp) / f"utf8-{i}.txt")
        if fmt in EVENT_FORMATS:
            batch = []
            for p in pending:  # a file whose schema cannot be read as its format is rejected alone, unread
                try:
                    batch.append((p, BatchFile(parsed_events_sql(con, str(readable[p.path]), p.sniffed), p.rel, p.sha)))
                except FileSchemaError as exc:
                    outcomes[p.path] = _reject(con, p.manifest, p.rel, p.sha, fmt, str(exc), now)
                except (*DATA_ERRORS, duckdb.Error) as exc:  # not even its schema reads (a corrupt footer)
                    outcomes[p.path] = _reject(con, p.manifest, p.rel, p.sha, fmt,
                                               f"unreadable as {fmt} (DuckDB {type(exc).__name__})", now)
            if not batch:
                return outcomes
            pending = [p for p, _ in batch]
        published: list[lake.LakeFile] = []
        try:
            with transaction(con):
                if fmt in EVENT_FORMATS:
                    counts = stage_event_rows(con, [f for _, f in batch], fmt, pseudonymizer, window_start, now, lake_root)
                else:
                    (p,) = pending
                    counts = [stage_table_rows(con, str(readable[p.path]), p.sniffed, p.rel, p.sha, pseudonymizer, now)]
                done = {}
                for p, c in zip(pending, counts):
                    outcome = done[p.path] = _outcome(p.rel, fmt, c)
                    if outcome.rows_read != outcome.rows_stored + outcome.rows_duplicate + outcome.rows_quarantined:
                        raise BalanceError(f"{p.rel}: read {outcome.rows_read} != stored + duplicate + quarantined")
                    _write_manifest(con, p.manifest | {"first_event_at": c.first_event_at, "last_event_at": c.last_event_at},
                                    outcome)
                if fmt in EVENT_FORMATS and any(o.rows_stored for o in done.values()):
                    with stage("lake write (zstd COPY, fsync)"):
                        staging, files = lake.write_week_files(con, stored_rows_sql([p.rel for p in pending]), lake_root, [p.sha for p in pending])
                    for p, own in zip(pending, files):
                        done[p.path].weeks = sorted({f.week_start for f in own})
                        lake.record(con, own, p.sha, p.rel)
                    published = [f for own in files for f in own]
                    with stage("lake publish (renames)"):
                        lake.publish(staging, lake_root, published)
                if fmt in EVENT_FORMATS:
                    drop_work_tables(con)
        except FileSchemaError as exc:
            (p,) = pending
            return {p.path: _reject(con, p.manifest, p.rel, p.sha, fmt, str(exc), now)}
        except DATA_ERRORS as exc:
            lake.unpublish(lake_root, published)
            if len(pending) > 1:  # find the file that breaks the batch: each alone
                return outcomes | {p.path: _ingest_pending(con, [p], pseudonymizer, window_start, now, lake_root)[p.path]
                                   for p in pending}
            (p,) = pending
            return outcomes | {p.path: _reject(con, p.manifest, p.rel, p.sha, fmt,
                                               f"unreadable as {fmt} (DuckDB {type(exc).__name__})", now)}
        except BaseException:
            lake.unpublish(lake_root, published)
            raise
    return outcomes | done


def _outcome(rel: str, fmt: str, counts: StageCounts) -> FileOutcome:
    return FileOutcome(rel, "ingested", fmt, rows_read=counts.read, rows_stored=counts.stored,
                       rows_duplicate=counts.duplicate, rows_quarantined=counts.quarantined,
                       rows_mapped_to_autre=counts.mapped_to_autre)


def _reject(con, manifest: dict, rel: str, sha: str, fmt: str | None, error: str, now: datetime) -> FileOutcome:
    """A file that cannot be read at all: recorded as rejected, with one quarantine row saying why.
    It stays in landing/; a corrected file (new content) is read on the next run."""
    outcome = FileOutcome(rel, "rejected", fmt, error=error)
    with transaction(con):
        con.execute("INSERT INTO quarantine VALUES (?, ?, NULL, ?, NULL, ?)", [rel, sha, f"file rejected: {error}", now])
        _write_manifest(con, manifest | {"error": error}, outcome)
    return outcome


def _write_manifest(con: duckdb.DuckDBPyConnection, manifest: dict, outcome: FileOutcome) -> None:
    row = manifest | {k: v for k, v in asdict(outcome).items() if k.startswith("rows_")} | {"status": outcome.status}
    columns = list(row)
    con.execute(
        f"INSERT INTO landing_manifest ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [row[c] for c in columns],
    )


def ingest_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    pseudonymizer: Pseudonymizer,
    window_start: date,
    now: datetime | None = None,
    lake_root: Path | None = None,
    progress: Callable[[int, int, Path, FileOutcome | None, float], None] | None = None,
) -> list[FileOutcome]:
    """Ingest every new file under ``landing`` (reference files first), one transaction each; first
    remove what an interrupted run left in the lake (lake.recover). ``progress(done, total, path,
    outcome, seconds)`` is called after each file (outcome None: already ingested)."""
    lake_root = lake_root or lake_dir()
    ensure_schema(con, lake_root)
    check_key(con, pseudonymizer)
    lake.recover(con, lake_root)
    sniffed = {path: _try_sniff(path) for path in (landing_files(landing) if landing.exists() else [])}

    def order(path: Path) -> tuple[int, str]:
        fmt = getattr(sniffed[path], "format", None)
        return (FORMAT_ORDER.index(fmt) if fmt in FORMAT_ORDER else len(FORMAT_ORDER), path.as_posix())

    outcomes = []
    paths = sorted(sniffed, key=order)
    done = 0
    for batch in _batches(con, paths, sniffed):
        started = perf_counter()
        results = ingest_files(con, batch, landing, pseudonymizer, window_start, now, sniffed, lake_root)
        seconds = perf_counter() - started
        rows = sum(o.rows_read for o in results if o is not None) or 1
        for path, outcome in zip(batch, results):
            done += 1
            if outcome is not None:
                outcomes.append(outcome)
            if progress is not None:  # a batch's time shared by its files' rows
                progress(done, len(paths), path, outcome, seconds * (outcome.rows_read if outcome else 0) / rows)
    lake.refresh_events_view(con, lake_root)
    return outcomes


def _batches(con: duckdb.DuckDBPyConnection, paths: list[Path],
             sniffed: dict[Path, Sniffed | UnrecognizedFileError]) -> list[list[Path]]:
    """Consecutive event files of one format, up to BATCH_ROWS estimated rows each (Parquet: its footer;
    text: a row per TEXT_BYTES_PER_ROW bytes, fewer than a real line has, so that the estimate is high
    and a batch is rarely over);
    every other file alone."""
    batches: list[list[Path]] = []
    budget = batch_rows()
    rows = 0
    for path in paths:
        fmt = getattr(sniffed[path], "format", None)
        if fmt not in EVENT_FORMATS:
            batches.append([path])
            rows = budget
            continue
        estimate = path.stat().st_size // TEXT_BYTES_PER_ROW
        if fmt == "canonical_parquet":
            try:
                estimate = con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)]).fetchall()[0][0] or 0
            except duckdb.Error:
                pass  # a corrupt file: rejected when read
        same = batches and getattr(sniffed[batches[-1][0]], "format", None) == fmt
        if same and rows + estimate <= budget:
            batches[-1].append(path)
            rows += estimate
        else:
            batches.append([path])
            rows = estimate
    return batches


def batch_rows() -> int:
    """The row budget of an ingest batch (ENT_INGEST_BATCH_ROWS, default BATCH_ROWS)."""
    return int(os.environ.get("ENT_INGEST_BATCH_ROWS", BATCH_ROWS))


def _try_sniff(path: Path) -> Sniffed | UnrecognizedFileError:
    try:
        return sniff(path)
    except UnrecognizedFileError as exc:
        return exc
