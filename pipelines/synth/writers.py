"""Files the generator writes, and their formats.

In ``landing/`` (what an ENT operator would drop; ingestion reads these):

``canonical/events_<school_year>_ac<académie code>.parquet``
    Canonical events of the académie's sampled schools (except the entcore ones), one row group per
    million rows. Columns: ``event_id`` VARCHAR (unique, stable), ``occurred_at`` TIMESTAMP WITH TIME
    ZONE (UTC, µs), ``uai`` VARCHAR, ``user_id`` VARCHAR (raw UUID: ingestion pseudonymizes it),
    ``profile`` (parent|eleve|enseignant|personnel|autre), ``service`` (connexion|notes|vie_scolaire|
    cahier_de_textes|messagerie|blog|documents|carnet_de_liaison|actualites|agenda|autre), ``event_type``
    (LOGIN|ACCESS), ``channel`` (web|mobile_app|other), ``auth_method`` (educonnect|franceconnect|
    ent_local; set on LOGIN rows, NULL on ACCESS rows), ``session_id`` VARCHAR (identifier formats in
    ``events``). Rows are ordered by session start (to the minute) within each chunk of schools, then
    by time within a session. No Arrow schema is stored: every reader sees plain strings. zstd;
    ``occurred_at`` delta-encoded.

``entcore/events_<school_year>.jsonl``
    entcore event-store documents, one JSON object per line (mongoexport style), for the schools chosen
    with ``--entcore-schools``: ``_id``, ``event-type``, ``module``, ``date`` (epoch ms, number),
    ``userId``, ``profil``, ``structures`` (array of entcore structure ids), ``ua``, ``deviceType``,
    ``sessionId`` (see pipelines.formats.entcore). Those schools' events are not in the Parquet files.

``entcore/structures.csv``
    ``structure_id;uai;name`` (``;``, UTF-8): entcore structure id -> UAI.

``accounts/accounts_<school_year>.csv``
    ``user_id;uai;profile;created_at;activated_at`` (``;``, UTF-8, ISO dates, ``activated_at`` empty when
    never activated): every loaded account of every sampled school, as an ENT admin export.

``context/school_context.csv``
    ``uai;teacher_ent_training_rate;household_equipment_rate`` (``;``, UTF-8), one row per sampled school.

``context/mediation_workshops.csv``
    ``uai;workshop_date;participants`` (``;``, UTF-8), one row per workshop held in a sampled school.

In ``truth/`` (never read by ingestion): ``parameters.json`` and ``schools_truth.parquet`` (see ``truth``).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.synth.events import CANONICAL_SCHEMA

ROW_GROUP_ROWS = 1_000_000
CSV_OPTIONS = {"separator": ";", "date_format": "%Y-%m-%d"}

# The generator's own files (globs under landing/ and truth/): everything matching is deleted before a run.
LANDING_OUTPUTS = (
    "canonical/events_*.parquet",
    "entcore/events_*.jsonl",
    "entcore/structures.csv",
    "accounts/accounts_*.csv",
    "context/school_context.csv",
    "context/mediation_workshops.csv",
)
TRUTH_OUTPUTS = ("parameters.json", "schools_truth.parquet")


def canonical_path(landing: Path, school_year: str, academie_code: str) -> Path:
    return landing / "canonical" / f"events_{school_year}_ac{academie_code}.parquet"


def entcore_events_path(landing: Path, school_year: str) -> Path:
    return landing / "entcore" / f"events_{school_year}.jsonl"


def structures_path(landing: Path) -> Path:
    return landing / "entcore" / "structures.csv"


def accounts_path(landing: Path, school_year: str) -> Path:
    return landing / "accounts" / f"accounts_{school_year}.csv"


def context_path(landing: Path) -> Path:
    return landing / "context" / "school_context.csv"


def workshops_path(landing: Path) -> Path:
    return landing / "context" / "mediation_workshops.csv"


def remove_previous_outputs(landing: Path, truth: Path) -> None:
    """Delete what an earlier run of the generator wrote (and nothing else)."""
    for folder, patterns in ((landing, LANDING_OUTPUTS), (truth, TRUTH_OUTPUTS)):
        for pattern in patterns:
            for path in folder.glob(pattern):
                path.unlink()


def open_output(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


class CanonicalParquet:
    """One académie's canonical Parquet file, created at its first non-empty table (one row group per
    ROW_GROUP_ROWS rows)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if self._writer is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self._path,
                CANONICAL_SCHEMA,
                compression="zstd",
                use_dictionary=["uai", "profile", "service", "event_type", "channel", "auth_method"],
                column_encoding={"occurred_at": "DELTA_BINARY_PACKED"},
                write_statistics=["occurred_at", "uai"],
                store_schema=False,
            )
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

    def __enter__(self) -> CanonicalParquet:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._writer is not None:
            self._writer.close()


class CsvAppender:
    """A ``;`` CSV written chunk by chunk (header once)."""

    def __init__(self, path: Path) -> None:
        self._file = open_output(path)
        self._header = True

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_csv(self._file, include_header=self._header, **CSV_OPTIONS)
        self._header = False

    def __enter__(self) -> CsvAppender:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._file.close()


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    with open_output(path) as f:
        frame.write_csv(f, **CSV_OPTIONS)
