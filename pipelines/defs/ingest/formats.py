"""Recognize a landed file: its format (from its content, not its name), encoding and separator.

French exports are often Windows-1252: a file that is not valid UTF-8 is read as Windows-1252 (or
Latin-1 where a byte is undefined in 1252) and transcoded to UTF-8 before DuckDB reads it.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

PARQUET_MAGIC = b"PAR1"
_CHUNK = 1 << 20

# Normalized header columns (lower case, no accents, non-alphanumerics as "_") of each text format.
CSV_FORMATS: dict[str, set[str]] = {
    "canonical_csv": {"event_id", "occurred_at", "uai", "user_id", "profile", "service", "event_type", "channel"},
    "access_events_csv": {"id", "date", "profile", "module", "event_type", "ua", "device_type", "platform_id", "user_id"},
    "ode_statistics_csv": {"uai", "date", "profil", "connexions", "visiteurs_uniques", "comptes_charges", "comptes_actives"},
    "accounts_csv": {"user_id", "uai", "profile", "created_at", "activated_at"},
    "entcore_structures_csv": {"structure_id", "uai"},
    "school_context_csv": {"uai", "teacher_ent_training_rate", "household_equipment_rate"},
    "mediation_workshops_csv": {"uai", "workshop_date"},
}
CANONICAL_PARQUET_COLUMNS = {"event_id", "occurred_at", "uai", "user_id", "profile", "service", "event_type", "channel"}
EVENT_FORMATS = {"canonical_parquet", "canonical_csv", "entcore_jsonl", "access_events_csv"}


class UnrecognizedFileError(ValueError):
    """The file is not one of the formats the product reads."""


@dataclass(frozen=True)
class Sniffed:
    format: str
    encoding: str  # utf-8, utf-8-sig, cp1252, latin-1, binary
    separator: str | None
    header: tuple[str, ...]  # normalized column names (text formats)


def normalize_column(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.strip().lower()).strip("_")


def detect_encoding(path: Path) -> str:
    """utf-8-sig (BOM), utf-8, else cp1252 (latin-1 if a byte is undefined in cp1252)."""
    with open(path, "rb") as fh:
        head = fh.read(3)
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
        except UnicodeDecodeError:
            pass
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        try:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


def transcode_to_utf8(path: Path, encoding: str, target: Path) -> Path:
    """Stream ``path`` from ``encoding`` into a UTF-8 file ``target`` (no BOM)."""
    with open(path, encoding=encoding, newline="") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
    return target


def _first_line(path: Path, encoding: str) -> str:
    with open(path, encoding="utf-8-sig" if encoding.startswith("utf-8") else encoding, newline="") as fh:
        for line in fh:
            if line.strip():
                return line.rstrip("\r\n")
    return ""


def sniff(path: Path) -> Sniffed:
    """Recognize ``path`` or raise UnrecognizedFileError saying what was seen."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == PARQUET_MAGIC:
        return Sniffed("canonical_parquet", "binary", None, ())
    encoding = detect_encoding(path)
    first = _first_line(path, encoding)
    if not first:
        raise UnrecognizedFileError("empty file")
    if first.lstrip().startswith("{"):
        return Sniffed("entcore_jsonl", encoding, None, ())
    separator = ";" if first.count(";") >= first.count(",") else ","
    header = tuple(normalize_column(c.strip().strip('"')) for c in first.split(separator))
    for name, required in CSV_FORMATS.items():
        if required <= set(header):
            return Sniffed(name, encoding, separator, header)
    raise UnrecognizedFileError(_no_known_header(header))


def _no_known_header(header: tuple[str, ...]) -> str:
    """Why a first line is no known header, naming only the product's own column names (the line may be
    data: a file dropped without its header must not have its first row quoted in the manifest or logs)."""
    closest, required = max(CSV_FORMATS.items(), key=lambda item: len(item[1] & set(header)))
    missing = ", ".join(sorted(required - set(header)))
    return (f"unrecognized header: {len(header)} columns, no known format (closest: {closest}, "
            f"which needs {missing})")
