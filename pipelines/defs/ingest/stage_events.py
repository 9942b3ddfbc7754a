"""Validate, pseudonymize and deduplicate the parsed rows of a batch of event files of one format:
``quarantine`` rows, and ``stored_rows_sql()``, the rows the caller writes to the lake (lake.py) before
``drop_work_tables``.

Runs inside the caller's transaction, in one pass over the whole batch (ingest_file.py groups the new
files of a run): every parsed row ends as exactly one of: stored, duplicate (its event_id is already in
the lake, or repeats earlier in the batch: an earlier line of its file, or an earlier file in the
batch's order), quarantined (with a reason and an allow-listed excerpt, see excerpt.py). Deduplication
against the lake reads only the event_id column of the committed lake files of the weeks the batch
touches, once per batch.

The stored ``event_id`` is a keyed HMAC (the pseudonymization key, 128 bits), computed in DuckDB: of
``id:<source id>`` when the source gives one, else of ``row:<source line>`` (Parquet: its fields joined),
so that a guessed user id or event id cannot be matched against the warehouse, while the same event
read again (re-run, renamed copy, overlapping export) gets the same id and counts as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.defs.ingest import excerpt, lake, pii
from pipelines.defs.ingest.pseudonymize import Pseudonymizer
from pipelines.defs.ingest.readers import sql_literal
from pipelines.defs.ingest.stage_timer import run
from pipelines.defs.ingest.vocabulary import (
    PROFILE_WORDS,
    UAI_PATTERN,
    auth_method_sql,
    channel_sql,
    event_type_sql,
    profile_sql,
    service_sql,
)
from pipelines.formats.entcore import AUTH_METHODS, CHANNELS, EVENT_FIELDS, MODULE_SERVICES, SERVICES, SOURCE_EVENT_TYPES

# Quarantine excerpt of an event row (see excerpt.py): the allow-listed fields each format carries.
_EXCERPT = {
    "occurred_at": excerpt.timestamp("occurred_at", "occurred_raw"),
    "uai": excerpt.uai("school_uai"),
    "user": excerpt.pseudonym("user_pseudo"),
    "event_type": excerpt.vocabulary("event_type", SOURCE_EVENT_TYPES),
    "profile": excerpt.vocabulary("profile_raw", PROFILE_WORDS),
    "service": excerpt.vocabulary("service_raw", SERVICES),
    "channel": excerpt.vocabulary("channel_raw", CHANNELS),
    "auth_method": excerpt.vocabulary("auth_method_raw", AUTH_METHODS),
    "structures": excerpt.structure_ids("structures"),
    "module": excerpt.vocabulary("module_raw", MODULE_SERVICES),
    "user_agent_chars": "length(ua)",
    "unknown_fields": excerpt.unknown_json_fields("raw", EVENT_FIELDS),
}
_COMMON = ("occurred_at", "uai", "user", "event_type", "profile")
EXCERPT_FIELDS = {
    "canonical_parquet": _COMMON + ("service", "channel", "auth_method"),
    "canonical_csv": _COMMON + ("service", "channel", "auth_method"),
    "entcore_jsonl": _COMMON + ("structures", "module", "user_agent_chars", "unknown_fields"),
    "access_events_csv": _COMMON + ("module", "user_agent_chars"),
}


@dataclass
class StageCounts:
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    mapped_to_autre: int = 0
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None


@dataclass(frozen=True)
class BatchFile:
    """One file of a batch: its parsed rows (event_readers.parsed_events_sql), landing path and content hash."""
    parsed_sql: str
    file_path: str
    sha256: str


# The school of each row: its UAI, else its first entcore structure that maps to a UAI, else (for
# access_events dumps, which carry no school) the school of the user's account. The structures are
# resolved once per distinct list (a few thousand), then joined back on the list. Per format: the join
# (it gives ``school.uai``), and the reason of a row left without a school.
_SCHOOL_JOIN = {
    "entcore_jsonl": """LEFT JOIN (
                SELECT structures, arg_min(s.uai, u.pos) AS uai
                FROM (SELECT structures, unnest(structures) AS structure_id,
                             generate_subscripts(structures, 1) AS pos
                      FROM (SELECT DISTINCT structures FROM _parsed WHERE len(structures) > 0)) u
                JOIN entcore_structures s USING (structure_id)
                GROUP BY structures) school ON school.structures = p.structures""",
    "access_events_csv": """LEFT JOIN (SELECT user_pseudo, min(uai) AS uai FROM accounts GROUP BY user_pseudo) school
                         USING (user_pseudo)""",
}
_NO_SCHOOL_JOIN = "LEFT JOIN (SELECT NULL::VARCHAR AS uai, NULL::BIGINT AS line_number) school ON false"
_MISSING_SCHOOL = {
    "entcore_jsonl": "CASE WHEN len(r.structures) > 0 THEN 'unknown structure (not in structures.csv)' "
                     "ELSE 'missing structures' END",
    "access_events_csv": "'user not in any accounts snapshot: school unknown'",
}
_MISSING_UAI = "'missing UAI'"
# The source values that vocabulary mapping and PII detection read: mapped once per distinct combination.
_VOCAB_COLUMNS = ("event_type", "ua", "profile_raw", "service_raw", "module_raw", "channel_raw", "auth_method_raw")
# What the keyed event id hashes: the source event id, else the source line (Parquet: its fields joined).
_SOURCE_KEY = (
    "coalesce('id:' || nullif(trim(p.event_id), ''), 'row:' || coalesce(p.raw, "
    "concat_ws('|', epoch_us(p.occurred_at), p.uai, p.user_id, p.profile_raw, p.service_raw, p.event_type)))"
)


def stage_event_rows(
    con: duckdb.DuckDBPyConnection,
    files: list[BatchFile],
    fmt: str,
    pseudonymizer: Pseudonymizer,
    window_start: date,
    now: datetime,
    lake_root: Path,
) -> list[StageCounts]:
    """Stage the rows of ``files`` (all of format ``fmt``); their counts, in the order of ``files``.
    Rows are numbered ``seq`` = (file index << 40) + line number: the batch's order for deduplication."""
    if not files:  # nothing to stage (an empty UNION ALL is not SQL)
        return []
    _parse(con, files)
    _pseudonymize_users(con, pseudonymizer)
    _map_vocabulary(con)
    _validate(con, fmt, pseudonymizer, window_start, now)
    _deduplicate(con, lake_root)
    _quarantine(con, files, fmt, now)
    counts = _count(con, len(files))
    for table in ("_pseudo", "_vocab"):  # _parsed, _checked, _outcome: see drop_work_tables
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return counts


def _parse(con: duckdb.DuckDBPyConnection, files: list[BatchFile]) -> None:
    """_parsed from the parsed rows of ``files``, each row numbered ``seq``."""
    union = " UNION ALL ".join(
        f"SELECT ({i}::BIGINT << 40) + line_number AS seq, * FROM ({f.parsed_sql})" for i, f in enumerate(files))
    run(con, "parse", f"CREATE OR REPLACE TEMP TABLE _parsed AS {union}")


def _pseudonymize_users(con: duckdb.DuckDBPyConnection, pseudonymizer: Pseudonymizer) -> None:
    """_pseudo from _parsed: the pseudonym (UHUGEINT and its 16 bytes) of each distinct user id."""
    run(con, "pseudonyms (per distinct user)",
        f"""CREATE OR REPLACE TEMP TABLE _pseudo AS
            SELECT user_id, ('0x' || pseudo_hex)::UHUGEINT AS user_pseudo, unhex(pseudo_hex) AS user_bytes
            FROM (SELECT user_id, {pseudonymizer.hex_sql('user_id')} AS pseudo_hex
                  FROM (SELECT DISTINCT user_id FROM _parsed WHERE user_id IS NOT NULL AND user_id <> ''))""",
        pseudonymizer.params,
    )


def _map_vocabulary(con: duckdb.DuckDBPyConnection) -> None:
    """_vocab from _parsed: the mapped vocabulary and PII reason of each distinct _VOCAB_COLUMNS combination."""
    pii_reason = pii.pii_reason_sql(
        {"event_type": "event_type", "user agent": "ua", "profile": "profile_raw",
         "service": "coalesce(service_raw, module_raw)"}
    )
    run(con, "vocabulary + PII (per distinct value)",
        f"""
        CREATE OR REPLACE TEMP TABLE _vocab AS
        SELECT *,
               ({profile_sql('profile_raw')})::profile_t::VARCHAR AS profile,
               ({service_sql('service_raw', 'module_raw', 'event_type')})::service_t::VARCHAR AS service,
               ({channel_sql('channel_raw', 'ua', 'event_type', 'module_raw')})::channel_t::VARCHAR AS channel,
               ({auth_method_sql('auth_method_raw')})::auth_method_t::VARCHAR AS auth_method,
               {event_type_sql('event_type')} AS event_type_canonical,
               {pii_reason} AS pii_reason
        FROM (SELECT DISTINCT {', '.join(_VOCAB_COLUMNS)} FROM _parsed)
        """
    )


def _resolved_sql(fmt: str, pseudonymizer: Pseudonymizer) -> str:
    """SELECT of each _parsed row ``p`` with its pseudonym (_pseudo), vocabulary (_vocab), school and key."""
    vocab_join = " AND ".join(f"v.{c} IS NOT DISTINCT FROM p.{c}" for c in _VOCAB_COLUMNS)
    return f"""SELECT p.seq, p.malformed, p.occurred_at, p.structures, p.event_type, ps.user_pseudo, ps.user_bytes, coalesce(p.uai, school.uai) AS school_uai,
                   v.profile, v.service, v.channel, v.auth_method, v.event_type_canonical, v.pii_reason,
                   {pseudonymizer.hex_sql(_SOURCE_KEY)} AS key
            FROM _parsed p
            LEFT JOIN _pseudo ps USING (user_id)
            LEFT JOIN _vocab v ON {vocab_join}
            {_SCHOOL_JOIN.get(fmt, _NO_SCHOOL_JOIN)}"""


def _reason_sql(fmt: str) -> str:
    """CASE of the quarantine reason of a resolved row ``r`` (``s``: its school), NULL for a valid row."""
    return f"""CASE
                WHEN r.malformed IS NOT NULL THEN r.malformed
                WHEN r.event_type IS NULL OR r.event_type = '' THEN 'missing event type'
                WHEN r.occurred_at IS NULL THEN 'missing or unparseable timestamp'
                WHEN r.user_pseudo IS NULL AND upper(r.event_type) = 'CREATE_USER'
                    THEN 'missing user id (CREATE_USER: an account creation, not a visit)'
                WHEN r.user_pseudo IS NULL THEN 'missing user id'
                WHEN r.school_uai IS NULL THEN {_MISSING_SCHOOL.get(fmt, _MISSING_UAI)}
                WHEN NOT regexp_full_match(r.school_uai, '{UAI_PATTERN}') THEN 'malformed UAI'
                WHEN s.uai IS NULL THEN 'unknown UAI (not in the school reference)'
                WHEN r.occurred_at > $now::TIMESTAMPTZ + INTERVAL 5 MINUTE THEN 'timestamp in the future'
                WHEN r.occurred_at < ($window_start::DATE::TIMESTAMP AT TIME ZONE 'Europe/Paris')
                    THEN 'timestamp before the first weekly partition (' || $window_start || ')'
                WHEN r.pii_reason IS NOT NULL THEN r.pii_reason
            END"""


def _validate(con: duckdb.DuckDBPyConnection, fmt: str, pseudonymizer: Pseudonymizer, window_start: date,
              now: datetime) -> None:
    """_checked from the resolved rows and the school reference: each row's key, week and reason (NULL: valid)."""
    run(con, "validate + keyed event ids",
        f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        WITH resolved AS (
            {_resolved_sql(fmt, pseudonymizer)}
        )
        SELECT r.* EXCLUDE (malformed, structures, event_type), date_trunc('week', r.occurred_at AT TIME ZONE 'Europe/Paris')::DATE AS week_start,
            {_reason_sql(fmt)} AS reason
        FROM resolved r
        LEFT JOIN schools s ON s.uai = r.school_uai
        """,
        {"now": now, "window_start": window_start.isoformat()} | pseudonymizer.params,
    )


def _deduplicate(con: duckdb.DuckDBPyConnection, lake_root: Path) -> None:
    """_outcome from _checked and the lake: each row stored, duplicate or quarantined."""
    # Duplicates: a key seen earlier in the batch, or already in the lake. Both are hash aggregates /
    # joins built on the batch's keys; the lake side reads the event_id column of the touched weeks only.
    in_lake = lake.files_of_weeks_sql(con, lake_root, "SELECT DISTINCT week_start FROM _checked WHERE reason IS NULL",
                                      "event_id")
    known = (f"(SELECT DISTINCT l.event_id FROM {in_lake} l JOIN first_seen f ON l.event_id = f.key)" if in_lake
             else "(SELECT NULL::VARCHAR AS event_id WHERE false)")
    run(con, "deduplicate",
        f"""
        CREATE OR REPLACE TEMP TABLE _outcome AS
        WITH first_seen AS MATERIALIZED (
            SELECT key, min(seq) AS first_seq FROM _checked WHERE reason IS NULL GROUP BY key
        )
        SELECT c.seq,
               CASE WHEN c.reason IS NOT NULL THEN 'quarantined'
                    WHEN c.seq <> f.first_seq OR e.event_id IS NOT NULL THEN 'duplicate'
                    ELSE 'stored' END AS outcome
        FROM _checked c
        LEFT JOIN first_seen f USING (key)
        LEFT JOIN {known} e ON e.event_id = c.key
        """
    )


def _quarantine(con: duckdb.DuckDBPyConnection, files: list[BatchFile], fmt: str, now: datetime) -> None:
    """quarantine rows from the rejected rows of _checked, their excerpt's source fields from _parsed."""
    # Only the quarantined rows are joined back to _parsed, so that _checked does not carry the raw lines.
    fields = {name: _EXCERPT[name] for name in EXCERPT_FIELDS[fmt]}
    run(con, "quarantine",
        f"""
        INSERT INTO quarantine
        SELECT {of_file([f.file_path for f in files])}, {of_file([f.sha256 for f in files])}, line_number, reason,
               {excerpt.excerpt_sql('malformed', 'raw', fields)}, $now::TIMESTAMPTZ
        FROM (SELECT p.*, c.reason, c.user_pseudo, c.school_uai
              FROM (SELECT seq, reason, user_pseudo, school_uai FROM _checked WHERE reason IS NOT NULL) c
              JOIN _parsed p USING (seq))
        """,
        {"now": now},
    )


def _count(con: duckdb.DuckDBPyConnection, n_files: int) -> list[StageCounts]:
    """The counts of each of the batch's ``n_files`` files, from _checked and _outcome."""
    rows = run(con, "count",
        """
        SELECT seq >> 40 AS file_idx, count(*), count(*) FILTER (WHERE outcome = 'stored'),
               count(*) FILTER (WHERE outcome = 'duplicate'), count(*) FILTER (WHERE outcome = 'quarantined'),
               count(*) FILTER (WHERE outcome = 'stored'
                                AND (profile IS NULL OR service IS NULL OR event_type_canonical = 'OTHER')),
               min(occurred_at) FILTER (WHERE outcome = 'stored'), max(occurred_at) FILTER (WHERE outcome = 'stored')
        FROM _checked JOIN _outcome USING (seq)
        GROUP BY ALL
        """
    ).fetchall()
    counts = {row[0]: StageCounts(*row[1:]) for row in rows}
    return [counts.get(i, StageCounts()) for i in range(n_files)]


def of_file(values: list[str]) -> str:
    """SQL of the value (of ``values``, in batch order) for the file a row's ``seq`` comes from: a list
    literal indexed by ``seq >> 40`` (a join on that expression made the lake COPY 2.5x slower)."""
    return f"[{', '.join(sql_literal(v) for v in values)}][(seq >> 40) + 1]"


def stored_rows_sql(file_paths: list[str]) -> str:
    """The stored rows of the batch just staged (``file_paths`` in batch order), as the lake's columns
    (lake.LAKE_COLUMNS), the week and the file's index in the batch, the vocabulary as text: read once, by
    the lake's COPY."""
    return f"""
        SELECT key AS event_id, occurred_at, school_uai AS uai, user_bytes AS user_pseudo,
               coalesce(profile, 'autre') AS profile, coalesce(service, 'autre') AS service,
               event_type_canonical AS event_type, channel, auth_method, {of_file(file_paths)} AS source_file,
               week_start, (seq >> 40)::INTEGER AS file_idx
        FROM _checked JOIN _outcome USING (seq)
        WHERE outcome = 'stored'"""


def drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("_parsed", "_checked", "_outcome"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
