"""Validate, pseudonymize and deduplicate the parsed rows of one event file into ``staged_events``.

Runs inside the caller's transaction. Every parsed row ends as exactly one of: stored, duplicate
(its event_id was already staged, or repeats earlier in the file), quarantined (with a reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from pipelines.defs.ingest import pii
from pipelines.defs.ingest.pseudonymize import Pseudonymizer
from pipelines.defs.ingest.readers import sql_literal
from pipelines.defs.ingest.vocabulary import auth_method_sql, channel_sql, profile_sql, service_sql

UAI_PATTERN = "[0-9]{7}[A-Z]"


@dataclass
class StageCounts:
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    mapped_to_autre: int = 0
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None


def stage_event_rows(
    con: duckdb.DuckDBPyConnection,
    parsed_sql: str,
    fmt: str,
    file_path: str,
    sha256: str,
    pseudonymizer: Pseudonymizer,
    window_start: date,
    now: datetime,
) -> StageCounts:
    con.execute(f"CREATE OR REPLACE TEMP TABLE _parsed AS {parsed_sql}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _pseudo AS
            SELECT user_id, {pseudonymizer.sql('user_id')} AS user_pseudo
            FROM (SELECT DISTINCT user_id FROM _parsed WHERE user_id IS NOT NULL AND user_id <> '')""",
        pseudonymizer.params,
    )
    # The school of each row: its UAI, else its first entcore structure that maps to a UAI, else (for
    # access_events dumps, which carry no school) the school of the user's account.
    if fmt == "entcore_jsonl":
        school_join = """LEFT JOIN (
                SELECT line_number, arg_min(s.uai, u.pos) AS uai
                FROM (SELECT line_number, unnest(structures) AS structure_id,
                             generate_subscripts(structures, 1) AS pos
                      FROM _parsed WHERE len(structures) > 0) u
                JOIN entcore_structures s USING (structure_id)
                GROUP BY line_number) school USING (line_number)"""
    elif fmt == "access_events_csv":
        school_join = """LEFT JOIN (SELECT user_pseudo, min(uai) AS uai FROM accounts GROUP BY user_pseudo) school
                         USING (user_pseudo)"""
    else:
        school_join = "LEFT JOIN (SELECT NULL::VARCHAR AS uai, NULL::BIGINT AS line_number) school ON false"

    pii_reason = pii.pii_reason_sql(
        {"event_type": "p.event_type", "user agent": "p.ua", "profile": "p.profile_raw",
         "service": "coalesce(p.service_raw, p.module_raw)"}
    )
    missing_school = {
        "entcore_jsonl": "CASE WHEN len(p.structures) > 0 THEN 'unknown structure (not in structures.csv)' "
                         "ELSE 'missing structures' END",
        "access_events_csv": "'user not in any accounts snapshot: school unknown'",
    }.get(fmt, "'missing UAI'")
    event_key = (
        "coalesce(p.raw, concat_ws('|', p.occurred_at, p.uai, p.user_id, p.profile_raw, p.service_raw, p.event_type))"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        WITH resolved AS (
            SELECT p.*, ps.user_pseudo, coalesce(p.uai, school.uai) AS school_uai,
                   {profile_sql('p.profile_raw')} AS profile,
                   {service_sql('p.service_raw', 'p.module_raw', 'p.event_type')} AS service,
                   {channel_sql('p.channel_raw', 'p.ua')} AS channel,
                   {auth_method_sql('p.auth_method_raw')} AS auth_method,
                   coalesce(nullif(trim(p.event_id), ''), 'sha256:' || sha256({event_key})) AS key,
                   {pii_reason} AS pii_reason
            FROM _parsed p
            LEFT JOIN _pseudo ps USING (user_id)
            {school_join}
        ),
        reasoned AS (
            SELECT r.*,
                CASE
                    WHEN r.malformed IS NOT NULL THEN r.malformed
                    WHEN r.event_type IS NULL OR r.event_type = '' THEN 'missing event type'
                    WHEN r.occurred_at IS NULL THEN 'missing or unparseable timestamp'
                    WHEN r.user_pseudo IS NULL THEN 'missing user id'
                    WHEN r.school_uai IS NULL THEN {missing_school.replace('p.', 'r.')}
                    WHEN NOT regexp_full_match(r.school_uai, '{UAI_PATTERN}') THEN 'malformed UAI'
                    WHEN s.uai IS NULL THEN 'unknown UAI (not in the school reference)'
                    WHEN r.occurred_at > $now::TIMESTAMPTZ + INTERVAL 5 MINUTE THEN 'timestamp in the future'
                    WHEN r.occurred_at < ($window_start::DATE::TIMESTAMP AT TIME ZONE 'Europe/Paris')
                        THEN 'timestamp before the first weekly partition (' || $window_start || ')'
                    WHEN r.pii_reason IS NOT NULL THEN r.pii_reason
                END AS reason
            FROM resolved r
            LEFT JOIN schools s ON s.uai = r.school_uai
        )
        SELECT *,
            CASE
                WHEN reason IS NOT NULL THEN 'quarantined'
                WHEN row_number() OVER (PARTITION BY key, reason IS NULL ORDER BY line_number) > 1 THEN 'duplicate'
                WHEN key IN (SELECT event_id FROM staged_events) THEN 'duplicate'
                ELSE 'stored'
            END AS outcome
        FROM reasoned
        """,
        {"now": now, "window_start": window_start.isoformat()},
    )
    con.execute(
        """
        INSERT INTO staged_events
        SELECT key, occurred_at, date_trunc('week', occurred_at AT TIME ZONE 'Europe/Paris')::DATE,
               school_uai, user_pseudo, coalesce(profile, 'autre'), coalesce(service, 'autre'), event_type,
               channel, auth_method, $file
        FROM _checked WHERE outcome = 'stored'
        """,
        {"file": file_path},
    )
    excerpt = f"""left(CASE
        WHEN raw IS NULL THEN json_object('event_id', key, 'occurred_at', occurred_at, 'uai', school_uai,
            'user', 'pseudo:' || left(user_pseudo, 12), 'profile', profile_raw, 'service', service_raw,
            'event_type', {pii.scrub_sql('event_type')}, 'channel', channel_raw)::VARCHAR
        WHEN user_id IS NOT NULL AND user_pseudo IS NOT NULL
            THEN {pii.scrub_sql("replace(raw, user_id, '[pseudo:' || left(user_pseudo, 12) || ']')")}
        ELSE {pii.scrub_unparsed_sql('raw')}
    END, 300)"""
    con.execute(
        f"""
        INSERT INTO quarantine
        SELECT $file, $sha, line_number, reason, {excerpt}, $now::TIMESTAMPTZ
        FROM _checked WHERE outcome = 'quarantined'
        """,
        {"file": file_path, "sha": sha256, "now": now},
    )
    row = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE outcome = 'stored'), count(*) FILTER (WHERE outcome = 'duplicate'),
               count(*) FILTER (WHERE outcome = 'quarantined'),
               count(*) FILTER (WHERE outcome = 'stored' AND (profile IS NULL OR service IS NULL)),
               min(occurred_at) FILTER (WHERE outcome = 'stored'), max(occurred_at) FILTER (WHERE outcome = 'stored')
        FROM _checked
        """
    ).fetchall()[0]
    for table in ("_parsed", "_pseudo", "_checked"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return StageCounts(*row)
