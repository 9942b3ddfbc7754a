"""Export the warehouse's small tables that the dbt period models join (accounts, ode_statistics,
schools, periods) as Parquet files under ``<lake>/dimensions/``, where both dbt engines read them as
``lake`` sources (docs/scale/dbt_engines.md, section 3). The DuckDB warehouse stays their system of
record; each file is a full copy, written beside its target, fsynced and swapped in with ``os.replace``,
so a reader sees the old file or the new one, never half of one.

Columns are listed explicitly and enums become strings, as in the event lake. Pseudonyms are written
as the lake writes them: 16 bytes, big-endian, the same 128 bits as the warehouse's UHUGEINT
(``unhex(lpad(hex(u), 32, '0'))``; the inverse is ``('0x' || hex(b))::UHUGEINT``).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipelines.file_modes import private_folder, replace_durably
from pipelines.defs.reference.school_calendar import DEFAULT_TIME_ZONE, TIME_ZONE_OF_ACADEMIE


def _time_zone_of_academie() -> str:
    """The IANA zone of a school's académie (the one mapping: TIME_ZONE_OF_ACADEMIE), Europe/Paris by
    default; the dbt models read it for local hours and weekdays (docs/equity_fit_guards.md, section 6)."""
    whens = " ".join(f"WHEN '{code}' THEN '{zone}'" for code, zone in sorted(TIME_ZONE_OF_ACADEMIE.items()))
    return f"CASE academie_code {whens} ELSE '{DEFAULT_TIME_ZONE}' END AS time_zone"


# dimension -> the SELECT list read from the warehouse table of the same name.
DIMENSIONS: dict[str, str] = {
    "accounts": "unhex(lpad(hex(user_pseudo), 32, '0')) AS user_pseudo, uai, profile::VARCHAR AS profile, "
                "created_at, activated_at",
    "ode_statistics": "uai, stat_date, profile::VARCHAR AS profile, connexions, unique_visitors, "
                      "accounts_loaded, accounts_activated",
    "schools": f"uai, academie_code, departement_code, {_time_zone_of_academie()}",
    "periods": "period_type, period, period_start, period_end, school_year",
}


def dimension_path(lake: Path, name: str) -> Path:
    """Where the dbt source ``lake.<name>`` is read from (pipelines_dbt/models/lake/_lake__sources.yml)."""
    return Path(lake) / "dimensions" / f"{name}.parquet"


def export_dimension(con: duckdb.DuckDBPyConnection, name: str, lake: Path) -> int:
    """Write the warehouse table ``name`` (on ``con``) to its lake file, atomically; return its rows."""
    target = dimension_path(lake, name)
    private_folder(target.parent)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        quoted = str(tmp).replace("'", "''")
        con.execute(f"COPY (SELECT {DIMENSIONS[name]} FROM {name} ORDER BY ALL) "
                    f"TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)")
        replace_durably(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return con.execute("SELECT count(*) FROM read_parquet(?)", [str(target)]).fetchall()[0][0]


def export_dimensions(warehouse: Path | duckdb.DuckDBPyConnection, lake: Path,
                      names: tuple[str, ...] = tuple(DIMENSIONS)) -> dict[str, int]:
    """Export ``names`` from the warehouse (a DuckDB file, opened read-only, or an open connection to
    it); return the rows written per dimension."""
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        return {name: export_dimension(warehouse, name, lake) for name in names}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: export_dimension(con, name, lake) for name in names}
