"""Per-format SQL turning an event file into the common parsed shape (one row per source record).

Columns: line_number, raw (the source line, NULL for Parquet), malformed (reason or NULL), event_id,
occurred_at, occurred_raw (the source's timestamp as text, for quarantine excerpts), uai, structures
(entcore), user_id, profile_raw, service_raw, module_raw, event_type, channel_raw, ua, auth_method_raw.
"""

from __future__ import annotations

import duckdb

from pipelines.defs.ingest.formats import CANONICAL_PARQUET_COLUMNS, Sniffed
from pipelines.defs.ingest.readers import csv_column, csv_rows_sql, lines_sql, sql_literal
from pipelines.defs.ingest.timestamps import local_timestamp_sql, text_timestamp_sql


class FileSchemaError(ValueError):
    """The whole file cannot be read as its format (e.g. a Parquet file without the canonical columns)."""


def canonical_parquet_sql(con: duckdb.DuckDBPyConnection, path: str) -> str:
    """Canonical Parquet; a zone-less ``occurred_at`` (TIMESTAMP, text without offset) is source-local time."""
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_literal(path)})").fetchall()
    columns = {row[0]: row[1] for row in described}
    missing = CANONICAL_PARQUET_COLUMNS - set(columns)
    if missing:
        raise FileSchemaError(f"Parquet file lacks canonical columns: {', '.join(sorted(missing))}")
    auth = "auth_method::VARCHAR" if "auth_method" in columns else "NULL::VARCHAR"
    # occurred_raw only serves a quarantine excerpt whose occurred_at did not parse (excerpt.timestamp): a
    # typed timestamp is NULL exactly when its source is, so it needs no text (formatting 1 M
    # TIMESTAMPTZ as text costs more than reading the file).
    occurred_raw = "NULL::VARCHAR"
    if columns["occurred_at"] == "TIMESTAMP WITH TIME ZONE":
        occurred_at = "occurred_at"
    elif columns["occurred_at"].startswith("TIMESTAMP") or columns["occurred_at"] == "DATE":
        occurred_at = local_timestamp_sql("occurred_at::TIMESTAMP")
    else:
        occurred_at = text_timestamp_sql("occurred_at::VARCHAR")
        occurred_raw = "occurred_at::VARCHAR"
    return f"""
        SELECT file_row_number + 1 AS line_number, NULL::VARCHAR AS raw, NULL::VARCHAR AS malformed,
               event_id::VARCHAR AS event_id, {occurred_at} AS occurred_at, {occurred_raw} AS occurred_raw,
               uai::VARCHAR AS uai, NULL::VARCHAR[] AS structures, user_id::VARCHAR AS user_id,
               profile::VARCHAR AS profile_raw, service::VARCHAR AS service_raw, NULL::VARCHAR AS module_raw,
               trim(event_type::VARCHAR) AS event_type, channel::VARCHAR AS channel_raw,
               NULL::VARCHAR AS ua, {auth} AS auth_method_raw
        FROM read_parquet({sql_literal(path)}, file_row_number = true)
    """


def canonical_csv_sql(path: str, sniffed: Sniffed) -> str:
    c = lambda name: csv_column(sniffed, name)  # noqa: E731
    return f"""
        SELECT line_number, line AS raw, malformed,
               {c('event_id')} AS event_id, {text_timestamp_sql(c('occurred_at'))} AS occurred_at,
               {c('occurred_at')} AS occurred_raw, {c('uai')} AS uai, NULL::VARCHAR[] AS structures,
               {c('user_id')} AS user_id,
               {c('profile')} AS profile_raw, {c('service')} AS service_raw, NULL::VARCHAR AS module_raw,
               {c('event_type')} AS event_type, {c('channel')} AS channel_raw, NULL::VARCHAR AS ua,
               {c('auth_method')} AS auth_method_raw
        FROM ({csv_rows_sql(path, sniffed)})
    """


def access_events_csv_sql(path: str, sniffed: Sniffed) -> str:
    """entcore's PostgreSQL ``events.access_events`` dump (``COPY ... CSV HEADER``; ``date`` is a timestamp
    without time zone, in the ENT server's local time); the school comes from the accounts snapshot."""
    c = lambda name: csv_column(sniffed, name)  # noqa: E731
    return f"""
        SELECT line_number, line AS raw, malformed,
               {c('id')} AS event_id, {text_timestamp_sql(c('date'))} AS occurred_at,
               {c('date')} AS occurred_raw, NULL::VARCHAR AS uai, NULL::VARCHAR[] AS structures,
               {c('user_id')} AS user_id,
               {c('profile')} AS profile_raw, NULL::VARCHAR AS service_raw, {c('module')} AS module_raw,
               {c('event_type')} AS event_type, NULL::VARCHAR AS channel_raw, {c('ua')} AS ua,
               NULL::VARCHAR AS auth_method_raw
        FROM ({csv_rows_sql(path, sniffed)})
    """


ENTCORE_DOCUMENT = (
    '{"_id": "JSON", "event-type": "VARCHAR", "module": "VARCHAR", "date": "JSON", "userId": "VARCHAR", '
    '"profil": "VARCHAR", "structures": "JSON", "ua": "VARCHAR", "cas-type": "VARCHAR"}'
)
# Epoch milliseconds in a document's date: canonical {"$numberLong": …}, {"$date": {"$numberLong": …}},
# {"$date": <number>}; what is left is an ISO string ({"$date": "…"}, or the date itself).
_DATE_MS = """coalesce(d.date->>'$."$numberLong"', d.date->>'$."$date"."$numberLong"', d.date->>'$."$date"')"""
_DATE_TEXT = """(d.date->>'$."$date"')"""


def _epoch_ms_sql(text: str) -> str:
    """TIMESTAMPTZ of epoch milliseconds written as a JSON number or string (exact to the millisecond)."""
    return f"make_timestamptz(round(TRY_CAST({text} AS DOUBLE) * 1000)::BIGINT)"


def entcore_jsonl_sql(path: str) -> str:
    """entcore event-store documents (mongoexport JSON lines). ``date`` is epoch ms as a number, or Extended
    JSON (canonical or relaxed, older mongoexport versions included); ``_id`` a string or ``{"$oid": …}``.
    A CONNECTOR event's service is its CAS mapping type (``cas-type``). Each line is parsed once into a
    struct (``from_json``), then its fields are read."""
    return f"""
        WITH lines AS ({lines_sql(path)}),
        typed AS MATERIALIZED (
            SELECT line_number, line,
                   CASE WHEN json_valid(line) AND json_type(line) = 'OBJECT'
                        THEN from_json(line, {sql_literal(ENTCORE_DOCUMENT)}) END AS d
            FROM lines
        )
        SELECT
            line_number, line AS raw,
            CASE WHEN d IS NULL THEN 'malformed line: not a JSON object' END AS malformed,
            CASE json_type(d._id) WHEN 'OBJECT' THEN d._id->>'$."$oid"' ELSE d._id->>'$' END AS event_id,
            CASE json_type(d.date)
                WHEN 'OBJECT' THEN coalesce({_epoch_ms_sql(_DATE_MS)},
                                            {text_timestamp_sql(_DATE_TEXT)})
                WHEN 'VARCHAR' THEN {text_timestamp_sql("(d.date->>'$')")}
                ELSE {_epoch_ms_sql('d.date::VARCHAR')}
            END AS occurred_at,
            d.date::VARCHAR AS occurred_raw, NULL::VARCHAR AS uai,
            CASE json_type(d.structures)
                WHEN 'ARRAY' THEN TRY_CAST(d.structures AS VARCHAR[])
                WHEN 'VARCHAR' THEN [d.structures->>'$']
            END AS structures,
            d.userId AS user_id,
            d.profil AS profile_raw, NULL::VARCHAR AS service_raw, coalesce(d."cas-type", d.module) AS module_raw,
            trim(d."event-type") AS event_type, NULL::VARCHAR AS channel_raw,
            d.ua AS ua, NULL::VARCHAR AS auth_method_raw
        FROM typed
    """


def parsed_events_sql(con: duckdb.DuckDBPyConnection, path: str, sniffed: Sniffed) -> str:
    if sniffed.format == "canonical_parquet":
        return canonical_parquet_sql(con, path)
    if sniffed.format == "canonical_csv":
        return canonical_csv_sql(path, sniffed)
    if sniffed.format == "access_events_csv":
        return access_events_csv_sql(path, sniffed)
    if sniffed.format == "entcore_jsonl":
        return entcore_jsonl_sql(path)
    raise ValueError(f"not an event format: {sniffed.format}")
