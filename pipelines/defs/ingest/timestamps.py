"""Source timestamps as instants, whatever the host's or DuckDB's time zone.

A timestamp that carries its offset (``Z``, ``+02``, ``+01:00``) is that instant. A zone-less one (a
PostgreSQL ``timestamp without time zone`` dump, a naive Parquet column, a canonical CSV without offset)
is read in the ENT server's zone, ``ENT_SOURCE_TIMEZONE`` (default Europe/Paris), never in the zone of the
machine or of the DuckDB session.
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.defs.ingest.readers import sql_literal

SOURCE_TZ_ENV = "ENT_SOURCE_TIMEZONE"
DEFAULT_SOURCE_TZ = "Europe/Paris"
# A time of day followed by an offset: the text names its own zone.
_HAS_OFFSET = r"[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"


def source_timezone() -> str:
    name = os.environ.get(SOURCE_TZ_ENV, "").strip() or DEFAULT_SOURCE_TZ
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{SOURCE_TZ_ENV}={name!r} is not an IANA time zone such as Europe/Paris") from None
    return name


def local_timestamp_sql(naive: str) -> str:
    """SQL TIMESTAMPTZ of a zone-less TIMESTAMP expression, read in the source zone."""
    return f"({naive}) AT TIME ZONE {sql_literal(source_timezone())}"


def text_timestamp_sql(text: str) -> str:
    """SQL TIMESTAMPTZ of a timestamp written as text (NULL if it does not parse)."""
    return (f"CASE WHEN regexp_matches({text}, {sql_literal(_HAS_OFFSET)}) THEN TRY_CAST({text} AS TIMESTAMPTZ) "
            f"ELSE {local_timestamp_sql(f'TRY_CAST({text} AS TIMESTAMP)')} END")
