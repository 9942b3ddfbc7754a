"""One dbt definition, two engines: the event-scale models give the same rows on DuckDB and on a
local Spark session over the same lake (both daylight-saving changes, Sunday midnights, an overseas
school, same-instant events)."""

from __future__ import annotations

import pytest

from tests.lake.model_rows import duckdb_model, spark_model

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("require_spark")]
SESSION_COLUMNS = ["uai", "user_pseudo", "profile", "week_start", "iso_week", "started_at", "channel",
                   "events", "services_mask", "hour_paris", "weekday_paris"]
USAGE_COLUMNS = ["uai", "week_start", "profile", "service", "channel", "events", "sessions", "accounts"]


@pytest.mark.parametrize(("model", "columns"), [("sessions", SESSION_COLUMNS), ("usage_weekly", USAGE_COLUMNS)])
def test_equal_row_for_row(duckdb_build, spark_build, model, columns):
    on_duckdb, duckdb_schema = duckdb_model(duckdb_build, model)
    on_spark, spark_schema = spark_model(spark_build, model)
    assert [name for name, _ in duckdb_schema] == columns
    assert spark_schema == duckdb_schema
    assert len(on_duckdb) > 1000
    assert on_spark == on_duckdb
