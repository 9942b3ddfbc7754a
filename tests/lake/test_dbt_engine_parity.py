"""One dbt definition, two engines: the event-scale models give the same rows on DuckDB and on a
local Spark session over the same lake (both daylight-saving changes, Sunday midnights, an overseas
school, same-instant events)."""

from __future__ import annotations

import pytest

from tests.lake.session_rows import SESSION_COLUMNS, duckdb_sessions, spark_sessions

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("require_spark")]


def test_sessions_are_equal_row_for_row(duckdb_build, spark_build):
    on_duckdb, duckdb_schema = duckdb_sessions(duckdb_build)
    on_spark, spark_schema = spark_sessions(spark_build)
    assert [name for name, _ in duckdb_schema] == list(SESSION_COLUMNS)
    assert spark_schema == duckdb_schema
    assert len(on_duckdb) > 1000
    assert on_spark == on_duckdb
