"""One dbt definition, two engines: the event-scale models give the same rows on DuckDB and on a
local Spark session over the same lake and dimensions (both daylight-saving changes, Sunday midnights,
overseas schools, same-instant events, a data gap, a school without events, an ODE-only school)."""

from __future__ import annotations

import pytest

from tests.lake.model_rows import duckdb_model, spark_model

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("require_spark")]
SESSION_COLUMNS = ["uai", "user_pseudo", "profile", "week_start", "iso_week", "started_at", "channel",
                   "events", "services_mask", "hour_paris", "weekday_paris", "hour_local", "weekday_local"]
USAGE_COLUMNS = ["uai", "week_start", "profile", "service", "channel", "events", "sessions", "accounts"]
ADOPTION_COLUMNS = ["period_type", "period", "uai", "profile", "source", "loaded", "activated", "active", "sessions",
                    "mobile_sessions", "services_used", "active_without_account", "sessions_by_hour",
                    "sessions_by_weekday", "missing_reason", "activation_rate", "active_rate", "visits_per_active",
                    "breadth", "mobile_share"]
REACH_COLUMNS = ["period_type", "period", "uai", "profile", "service", "users", "active", "reach"]
GAP_COLUMNS = ["uai", "week_start", "events", "median_events", "school_ratio", "academie_ratio"]


@pytest.mark.parametrize(("model", "columns", "min_rows"), [
    ("sessions", SESSION_COLUMNS, 1000), ("usage_weekly", USAGE_COLUMNS, 1000),
    ("adoption_school", ADOPTION_COLUMNS, 500), ("feature_reach_school", REACH_COLUMNS, 1000),
    ("data_gaps", GAP_COLUMNS, 1)])
def test_equal_row_for_row(duckdb_build, spark_build, model, columns, min_rows):
    on_duckdb, duckdb_schema = duckdb_model(duckdb_build, model)
    on_spark, spark_schema = spark_model(spark_build, model)
    assert [name for name, _ in duckdb_schema] == columns
    assert spark_schema == duckdb_schema
    assert len(on_duckdb) >= min_rows
    assert on_spark == on_duckdb
