"""Validate and upsert the rows of one non-event file (accounts, ODE statistics, entcore structures,
school context, mediation workshops). Runs inside the caller's transaction.

Each format declares its columns as SQL over the CSV row, the checks that quarantine a row, and the
key on which a later file replaces an earlier one. A row identical to the one already stored under
its key, or repeating its key earlier in the file, counts as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from pipelines.defs.ingest import pii
from pipelines.defs.ingest.formats import Sniffed
from pipelines.defs.ingest.pseudonymize import Pseudonymizer
from pipelines.defs.ingest.readers import csv_column, csv_rows_sql
from pipelines.defs.ingest.stage_events import UAI_PATTERN, StageCounts
from pipelines.defs.ingest.vocabulary import profile_sql

DATE_FORMATS = "['%Y-%m-%d', '%d/%m/%Y', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S', '%d/%m/%Y %H:%M']"


def _date(expr: str) -> str:
    return f"TRY_CAST(try_strptime({expr}, {DATE_FORMATS}) AS DATE)"


def _number(expr: str, cast: str) -> str:
    """A number written the French way or not ('1 234', '0,75')."""
    return f"TRY_CAST(replace(replace(replace({expr}, ' ', ''), chr(160), ''), ',', '.') AS {cast})"


@dataclass(frozen=True)
class TableSpec:
    table: str
    columns: dict[str, str]      # target column -> SQL over CSV columns via {c[name]}
    checks: tuple[tuple[str, str], ...]  # (condition that rejects, reason), in order
    key: tuple[str, ...]
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
        ),
        key=("uai", "stat_date", "profile"),
        pii_fields=("etablissement", "profil"),
    ),
    "entcore_structures_csv": TableSpec(
        table="entcore_structures",
        columns={"structure_id": "{structure_id}", "uai": "{uai}"},
        checks=(("structure_id IS NULL", "missing structure id"),),
        key=("structure_id",),
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
        name: "NULL::VARCHAR" for name in ("user_id", "participants") if name not in sniffed.header
    }
    select = ",\n".join(f"{expr.format(**c)} AS {col}" for col, expr in spec.columns.items())
    pseudo = pseudonymizer.sql(c["user_id"]) if "user_pseudo" in spec.columns else "NULL::UHUGEINT"
    pii_reason = pii.pii_reason_sql({f: c[f] for f in spec.pii_fields if f in c}) if spec.pii_fields else "NULL"
    checks = " ".join(f"WHEN {cond.format(**c)} THEN '{reason}'" for cond, reason in spec.checks)
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
            SELECT line_number, line, malformed, fields, {pii_reason} AS pii_reason,
                   {c['user_id']} AS raw_user_id, user_pseudo AS excerpt_pseudo,
                   {select}
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
    excerpt = f"""left(CASE
        WHEN raw_user_id IS NOT NULL AND excerpt_pseudo IS NOT NULL
            THEN {pii.scrub_sql("replace(line, raw_user_id, '[pseudo:' || left(lower(hex(excerpt_pseudo)), 12) || ']')")}
        ELSE {pii.scrub_unparsed_sql('line')}
    END, 300)"""
    con.execute(
        f"INSERT INTO quarantine SELECT $file, $sha, line_number, reason, {excerpt}, $now::TIMESTAMPTZ "
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
