"""Validate and upsert the rows of one non-event file (accounts, ODE statistics, entcore structures,
school context, mediation workshops). Runs inside the caller's transaction.

Each format declares its columns as SQL over the CSV row, the checks that quarantine a row, and the
key on which a later file replaces an earlier one. A row identical to the one already stored under
its key, or repeating its key earlier in the file, counts as a duplicate. A quarantined row keeps the
allow-listed excerpt its format declares (see excerpt.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import duckdb

from pipelines.defs.ingest import excerpt, pii
from pipelines.defs.ingest.formats import Sniffed
from pipelines.defs.ingest.pseudonymize import Pseudonymizer
from pipelines.defs.ingest.readers import csv_column, csv_rows_sql
from pipelines.defs.ingest.stage_events import StageCounts
from pipelines.defs.ingest.vocabulary import PROFILE_WORDS, UAI_PATTERN, profile_sql

# An entcore structure id (stored verbatim: it names a school, not a person): a token, no spaces.
STRUCTURE_ID_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"
# The statistics module writes LocalDateTime ISO dates ('2025-11-10T00:00').
DATE_FORMATS = ("['%Y-%m-%d', '%d/%m/%Y', '%Y-%m-%dT%H:%M', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M:%S.%f', "
                "'%Y-%m-%d %H:%M:%S', '%d/%m/%Y %H:%M']")


def _fill(template: str, columns: dict[str, str]) -> str:
    """``template`` with each ``{name}`` (lower-case letters and _) replaced by the SQL of CSV column name."""
    return re.sub(r"\{([a-z_]+)\}", lambda m: columns[m.group(1)], template)


def _date(expr: str) -> str:
    return f"TRY_CAST(try_strptime({expr}, {DATE_FORMATS}) AS DATE)"


def _number(expr: str, cast: str) -> str:
    """A number written the French way or not ('1 234', '0,75')."""
    return f"TRY_CAST(replace(replace(replace({expr}, ' ', ''), chr(160), ''), ',', '.') AS {cast})"


@dataclass(frozen=True)
class TableSpec:
    table: str
    columns: dict[str, str]      # target column -> SQL over CSV columns, written {name}
    checks: tuple[tuple[str, str], ...]  # (condition that rejects, reason), in order
    key: tuple[str, ...]
    excerpt: dict[str, str]      # quarantine excerpt: name -> SQL (excerpt.py) over the columns above and {name}
    pii_fields: tuple[str, ...] = ()


SPECS: dict[str, TableSpec] = {
    "accounts_csv": TableSpec(
        table="accounts",
        columns={
            "user_pseudo": "user_pseudo",
            "uai": "{uai}",
            "profile": f"coalesce({profile_sql('{profile}')}, 'autre')",
            "created_at": _date("{created_at}"),
            "activated_at": _date("{activated_at}"),
        },
        checks=(
            ("{user_id} IS NULL", "missing user id"),
            ("{profile} IS NULL", "missing profile"),
            ("{created_at} IS NOT NULL AND created_at IS NULL", "unparseable created_at"),
            ("{activated_at} IS NOT NULL AND activated_at IS NULL", "unparseable activated_at"),
            ("activated_at < created_at", "activated before created"),
        ),
        key=("user_pseudo", "uai", "profile"),
        excerpt={"user": excerpt.pseudonym("user_pseudo"), "uai": excerpt.uai("{uai}"),
                 "profile": excerpt.vocabulary("{profile}", PROFILE_WORDS),
                 "created_at": excerpt.day("created_at", "{created_at}"),
                 "activated_at": excerpt.day("activated_at", "{activated_at}")},
        pii_fields=("profile",),
    ),
    "ode_statistics_csv": TableSpec(
        table="ode_statistics",
        columns={
            "uai": "{uai}",
            "stat_date": _date("{date}"),
            "profile": f"coalesce({profile_sql('{profil}')}, 'autre')",
            "connexions": _number("{connexions}", "BIGINT"),
            "unique_visitors": _number("{visiteurs_uniques}", "BIGINT"),
            "accounts_loaded": _number("{comptes_charges}", "BIGINT"),
            "accounts_activated": _number("{comptes_actives}", "BIGINT"),
        },
        checks=(
            ("stat_date IS NULL", "missing or unparseable date"),
            ("{profil} IS NULL", "missing profile"),
            ("connexions < 0 OR unique_visitors < 0 OR accounts_loaded < 0 OR accounts_activated < 0",
             "negative count"),
            ("accounts_activated > accounts_loaded", "more activated than loaded accounts"),
            ("unique_visitors > connexions", "more unique visitors than connexions"),
            ("unique_visitors > accounts_loaded", "more unique visitors than loaded accounts"),
        ),
        key=("uai", "stat_date", "profile"),
        excerpt={"uai": excerpt.uai("{uai}"), "date": excerpt.day("stat_date", "{date}"),
                 "profil": excerpt.vocabulary("{profil}", PROFILE_WORDS),
                 "connexions": excerpt.number("connexions", "{connexions}"),
                 "visiteurs_uniques": excerpt.number("unique_visitors", "{visiteurs_uniques}"),
                 "comptes_charges": excerpt.number("accounts_loaded", "{comptes_charges}"),
                 "comptes_actives": excerpt.number("accounts_activated", "{comptes_actives}"),
                 "etablissement_chars": "length({etablissement})"},
        pii_fields=("etablissement", "profil"),
    ),
    "entcore_structures_csv": TableSpec(
        table="entcore_structures",
        columns={"structure_id": "{structure_id}", "uai": "{uai}"},
        checks=(("structure_id IS NULL", "missing structure id"),
                (f"NOT regexp_full_match(structure_id, '{STRUCTURE_ID_PATTERN}')", "malformed structure id")),
        key=("structure_id",),
        excerpt={"structure_id": excerpt.structure_id("{structure_id}"), "uai": excerpt.uai("{uai}"),
                 "name_chars": "length({name})"},
    ),
    "school_context_csv": TableSpec(
        table="school_context",
        columns={
            "uai": "{uai}",
            "teacher_ent_training_rate": _number("{teacher_ent_training_rate}", "DOUBLE"),
            "household_equipment_rate": _number("{household_equipment_rate}", "DOUBLE"),
        },
        checks=(
            ("NOT (teacher_ent_training_rate BETWEEN 0 AND 1) OR NOT (household_equipment_rate BETWEEN 0 AND 1)",
             "rate outside [0, 1]"),
        ),
        key=("uai",),
        excerpt={"uai": excerpt.uai("{uai}"),
                 "teacher_ent_training_rate": excerpt.number("teacher_ent_training_rate", "{teacher_ent_training_rate}"),
                 "household_equipment_rate": excerpt.number("household_equipment_rate", "{household_equipment_rate}")},
    ),
    "mediation_workshops_csv": TableSpec(
        table="mediation_workshops",
        columns={
            "uai": "{uai}",
            "workshop_date": _date("{workshop_date}"),
            "participants": _number("{participants}", "INTEGER"),
        },
        checks=(("workshop_date IS NULL", "missing or unparseable workshop date"),
                ("participants < 0", "negative participants")),
        key=("uai", "workshop_date"),
        excerpt={"uai": excerpt.uai("{uai}"), "workshop_date": excerpt.day("workshop_date", "{workshop_date}"),
                 "participants": excerpt.number("participants", "{participants}")},
    ),
}


def stage_table_rows(
    con: duckdb.DuckDBPyConnection,
    path: str,
    sniffed: Sniffed,
    file_path: str,
    sha256: str,
    pseudonymizer: Pseudonymizer,
    now: datetime,
) -> StageCounts:
    spec = SPECS[sniffed.format]
    c = {name: csv_column(sniffed, name) for name in sniffed.header} | {
        name: "NULL::VARCHAR" for name in ("user_id", "participants", "etablissement", "name")
        if name not in sniffed.header
    }
    select = ",\n".join(f"{_fill(expr, c)} AS {col}" for col, expr in spec.columns.items())
    pseudo = pseudonymizer.sql(c["user_id"]) if "user_pseudo" in spec.columns else "NULL::UHUGEINT"
    pii_reason = pii.pii_reason_sql({f: c[f] for f in spec.pii_fields if f in c}) if spec.pii_fields else "NULL"
    checks = " ".join(f"WHEN {_fill(cond, c)} THEN '{reason}'" for cond, reason in spec.checks)
    key = ", ".join(spec.key)
    on_key = " AND ".join(f"t.{k} IS NOT DISTINCT FROM x.{k}" for k in spec.key)
    same_values = " AND ".join(f"t.{col} IS NOT DISTINCT FROM x.{col}" for col in spec.columns)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _rows AS
        WITH parsed AS (
            SELECT line_number, line, malformed, fields,
                   CASE WHEN malformed IS NULL THEN {pseudo} END AS user_pseudo
            FROM ({csv_rows_sql(path, sniffed)})
        ),
        typed AS (
            SELECT line_number, line, malformed, fields, {pii_reason} AS pii_reason, {select}
            FROM parsed
        ),
        reasoned AS (
            SELECT x.*, CASE
                WHEN x.malformed IS NOT NULL THEN x.malformed
                {checks}
                WHEN x.uai IS NULL THEN 'missing UAI'
                WHEN NOT regexp_full_match(x.uai, '{UAI_PATTERN}') THEN 'malformed UAI'
                WHEN s.uai IS NULL THEN 'unknown UAI (not in the school reference)'
                WHEN x.pii_reason IS NOT NULL THEN x.pii_reason
            END AS reason
            FROM typed x LEFT JOIN schools s ON s.uai = x.uai
        )
        SELECT x.*,
            CASE
                WHEN reason IS NOT NULL THEN 'quarantined'
                WHEN row_number() OVER (PARTITION BY {key}, reason IS NULL ORDER BY line_number) > 1 THEN 'duplicate'
                WHEN EXISTS (SELECT 1 FROM {spec.table} t WHERE {on_key} AND {same_values}) THEN 'duplicate'
                ELSE 'stored'
            END AS outcome
        FROM reasoned x
        """,
        pseudonymizer.params if "user_pseudo" in spec.columns else None,
    )
    columns = ", ".join(spec.columns)
    source = "snapshot_file" if spec.table == "accounts" else "source_file"
    con.execute(
        f"INSERT OR REPLACE INTO {spec.table} ({columns}, {source}) "
        f"SELECT {columns}, $file FROM _rows WHERE outcome = 'stored'",
        {"file": file_path},
    )
    fields = {name: _fill(expr, c) for name, expr in spec.excerpt.items()}
    con.execute(
        f"INSERT INTO quarantine SELECT $file, $sha, line_number, reason, "
        f"{excerpt.excerpt_sql('malformed', 'line', fields)}, $now::TIMESTAMPTZ "
        "FROM _rows WHERE outcome = 'quarantined'",
        {"file": file_path, "sha": sha256, "now": now},
    )
    row = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE outcome = 'stored'), count(*) FILTER (WHERE outcome = 'duplicate'),
                  count(*) FILTER (WHERE outcome = 'quarantined')
           FROM _rows"""
    ).fetchall()[0]
    con.execute("DROP TABLE IF EXISTS _rows")
    return StageCounts(*row)
