"""One dbt definition, two engines: the event-scale models give the same rows on DuckDB and on a
local Spark session over the same lake and dimensions (both daylight-saving changes, Sunday midnights,
overseas schools, same-instant events, a data gap, a school without events, an ODE-only school)."""

from __future__ import annotations

import pytest

from tests.lake.model_rows import COLUMNS, duckdb_model, spark_model

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("require_spark")]


@pytest.mark.parametrize(("model", "min_rows"), [
    ("sessions", 1000), ("adoption_school", 500), ("feature_reach_school", 1000),
    ("data_gaps", 1)])
def test_equal_row_for_row(duckdb_build, spark_build, model, min_rows):
    columns = COLUMNS[model]
    on_duckdb, duckdb_schema = duckdb_model(duckdb_build, model)
    on_spark, spark_schema = spark_model(spark_build, model, columns)
    assert [name for name, _ in duckdb_schema] == columns
    assert spark_schema == duckdb_schema
    assert len(on_duckdb) >= min_rows
    assert on_spark == on_duckdb
