"""A partitioned re-run on both engines (docs/scale/dbt_engines.md, section 4): after a change in the
lake for two weeks (a late file fills the data gap of GAP_WEEK; the next week loses every event of the
Réunion school) and for a later week that the re-run does not compute (the gap school loses its events:
a full rebuild would flag it), a run of the weekly models over those two weeks and of the period models from their
first day gives the same rows on DuckDB (delete+insert, pre-hook deletes) and on Spark (insert_overwrite
of partitioned Parquet, pre-hook partition drops), and leaves every other week and every earlier period
as the first build wrote it. Spark runs on the Hive catalog (a Derby metastore in the work folder), so
that its second run finds the tables of the first one and is incremental."""

from __future__ import annotations

import shutil
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.lake.conftest import WINDOW
from tests.lake.dbt_run import duckdb_table, run_dbt
from tests.lake.event_lake import (FIRST_DAY, GAP_SCHOOL, GAP_WEEK, REUNION_SCHOOL, SCHEMA, fixture_periods,
                                   guadeloupe_events)
from tests.lake.model_rows import COLUMNS, as_dicts, duckdb_model, spark_model

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("require_spark")]
EMPTIED_WEEK = "2025-10-27"  # loses the Réunion school's events
LATER_WEEK = "2026-03-23"  # loses the gap school's events, outside the re-run
RERUN = {"first_week": GAP_WEEK, "last_week": EMPTIED_WEEK, "from_day": GAP_WEEK}
HIVE = {"ENT_SPARK_CATALOG": "hive"}


def _change_lake(lake) -> None:
    """The late file of GAP_WEEK: the gap school's events that the fixture left out that week (its usual
    traffic); the files of EMPTIED_WEEK rewritten without the Réunion school, and those of LATER_WEEK
    without the gap school."""
    week = lake / "events" / f"week_start={GAP_WEEK}"
    present = set(pq.read_table(week, columns=["event_id"]).column("event_id").to_pylist())
    late = [event for event in guadeloupe_events([date.fromisoformat(GAP_WEEK)], drops=False)
            if event["uai"] == GAP_SCHOOL and event["event_id"] not in present]
    assert late
    pq.write_table(pa.Table.from_pylist(late, schema=SCHEMA), week / "part-late.parquet", compression="zstd")
    for week, uai in ((EMPTIED_WEEK, REUNION_SCHOOL), (LATER_WEEK, GAP_SCHOOL)):
        for part in (lake / "events" / f"week_start={week}").glob("*.parquet"):
            table = pq.read_table(part, schema=SCHEMA)
            assert pc.any(pc.equal(table.column("uai"), uai)).as_py() or week == LATER_WEEK
            pq.write_table(table.filter(pc.not_equal(table.column("uai"), uai)), part, compression="zstd")


def _rows(read, work) -> dict[str, list[dict]]:
    return {model: as_dicts(*read(work, model)) for model in COLUMNS}


@pytest.fixture(scope="module")
def reruns(event_lake, duckdb_build, tmp_path_factory):
    """{engine: (rows of the first build, rows after the partitioned re-run)} over a copy of the lake."""
    lake = tmp_path_factory.mktemp("rerun_lake") / "lake"
    shutil.copytree(event_lake[0], lake)
    duck, spark = tmp_path_factory.mktemp("rerun_duckdb"), tmp_path_factory.mktemp("rerun_spark")
    shutil.copy(duckdb_table(duckdb_build), duckdb_table(duck))  # the first DuckDB build, as is
    run_dbt(["build", "--exclude-resource-type", "test"], "spark_session", spark, lake, WINDOW, env=HIVE)
    read_duckdb, read_spark = duckdb_model, lambda work, model: spark_model(work, model, COLUMNS[model])
    before = {"duckdb": _rows(read_duckdb, duck), "spark": _rows(read_spark, spark)}
    _change_lake(lake)
    run_dbt(["run"], "duckdb", duck, lake, RERUN)
    run_dbt(["run"], "spark_session", spark, lake, RERUN, env=HIVE)
    return {"duckdb": (before["duckdb"], _rows(read_duckdb, duck)),
            "spark": (before["spark"], _rows(read_spark, spark))}


# The first day of every period of the fixture.
PERIOD_STARTS = {(kind, period): start for kind, period, start, _, _
                 in fixture_periods(date.fromisoformat(FIRST_DAY), date(2026, 8, 31))}


def _recomputed(row: dict) -> bool:
    """Whether the re-run recomputes ``row``: its week is in RERUN's, or its period starts on or after
    from_day."""
    if "week_start" in row:
        return RERUN["first_week"] <= row["week_start"].isoformat() <= RERUN["last_week"]
    return PERIOD_STARTS[row["period_type"], row["period"]] >= date.fromisoformat(RERUN["from_day"])


@pytest.mark.parametrize("model", list(COLUMNS))
def test_engines_agree_after_the_rerun(reruns, model):
    (duckdb_before, duckdb_after), (spark_before, spark_after) = reruns["duckdb"], reruns["spark"]
    assert spark_before[model] == duckdb_before[model]
    assert spark_after[model] == duckdb_after[model]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_the_rerun_rewrites_its_weeks_and_periods(reruns, engine):
    before, after = reruns[engine]
    gap = {"uai": GAP_SCHOOL, "week": date.fromisoformat(GAP_WEEK)}
    flagged = [(r["uai"], r["week_start"]) for r in before["data_gaps"]]
    assert (gap["uai"], gap["week"]) in flagged  # the flag the late file clears ...
    assert not [r for r in after["data_gaps"] if r["week_start"] == gap["week"]]  # ... and its week is empty

    def reunion(rows, **key):
        return [r for r in rows if r["uai"] == REUNION_SCHOOL and all(r[k] == v for k, v in key.items())]

    emptied = date.fromisoformat(EMPTIED_WEEK)
    assert reunion(before["sessions"], week_start=emptied) and not reunion(after["sessions"], week_start=emptied)
    # Keys the re-run no longer produces, in a recomputed period, are gone.
    assert reunion(before["feature_reach_school"], period="2025-W44")
    assert not reunion(after["feature_reach_school"], period="2025-W44")
    assert reunion(after["adoption_school"], period="2025-W44", source="events")[0]["active"] == 0


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
@pytest.mark.parametrize("model", list(COLUMNS))
def test_other_weeks_and_earlier_periods_are_untouched(reruns, engine, model):
    before, after = reruns[engine]
    kept_before = [r for r in before[model] if not _recomputed(r)]
    kept_after = [r for r in after[model] if not _recomputed(r)]
    assert kept_before or model == "data_gaps"  # the fixture's one flag is in the re-run's weeks
    assert kept_after == kept_before
    if model == "sessions":  # LATER_WEEK lost the gap school's events; its sessions stay
        assert [r for r in kept_after if r["uai"] == GAP_SCHOOL and r["week_start"].isoformat() == LATER_WEEK]
