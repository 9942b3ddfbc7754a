"""The warehouse's incremental period tables on DuckDB (pipelines_dbt/macros/replace_rows.sql): a re-run
replaces the weeks or periods it recomputes, rows it no longer produces included, never adds to them,
and leaves the periods before from_day as they were."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.lake.conftest import WINDOW
from tests.lake.dbt_run import duckdb_table, run_dbt
from tests.lake.event_lake import GAP_WEEK, GUADELOUPE_SCHOOL

TABLES = ("data_gaps", "adoption_school", "feature_reach_school")
BOGUS = "0000000X"


def _rows(con) -> dict[str, list[tuple]]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


@pytest.fixture(scope="module")
def rebuilt(event_lake, duckdb_build, tmp_path_factory):
    """A copy of the DuckDB build with stale rows added, then the period models and data_gaps run again
    (incrementally) over the same window: (rows of the build, rows after the re-run, the copy)."""
    work = tmp_path_factory.mktemp("dbt_rerun")
    copy = work / "warehouse.duckdb"
    shutil.copy(duckdb_table(duckdb_build), copy)
    with duckdb.connect(str(copy)) as con:
        built = _rows(con)
        # A flag that the re-run no longer raises, and a school-period that no longer exists.
        con.execute(f"INSERT INTO data_gaps SELECT '{BOGUS}', DATE '{GAP_WEEK}', 1, 50, 0.02, 1")
        for table in ("adoption_school", "feature_reach_school"):
            con.execute(f"INSERT INTO {table} SELECT * REPLACE ('{BOGUS}' AS uai) FROM {table} "
                        f"WHERE uai = '{GUADELOUPE_SCHOOL}' AND period = '2025-W43'")
    run_dbt(["run", "--select", *TABLES], "duckdb", work, event_lake[0], WINDOW, duckdb_path=copy)
    with duckdb.connect(str(copy), read_only=True) as con:
        return built, _rows(con), copy


def test_a_rerun_replaces_what_it_recomputes(rebuilt):
    built, after, _ = rebuilt
    assert all(built[t] for t in TABLES)
    for table in TABLES:
        assert after[table] == built[table], table  # stale rows gone, nothing counted twice


def test_periods_before_from_day_keep_their_figures(event_lake, rebuilt, tmp_path):
    built, _, copy = rebuilt
    from_day = "2026-01-05"  # as after a retention purge
    work = tmp_path / "dbt"
    later = work / "warehouse.duckdb"
    work.mkdir()
    shutil.copy(copy, later)
    with duckdb.connect(str(later)) as con:
        con.execute("UPDATE adoption_school SET loaded = -1 WHERE period = '2025-W43'")  # starts before from_day
        con.execute("DELETE FROM adoption_school WHERE period = '2026-W10'")  # starts after: recomputed
    run_dbt(["run", "--select", "adoption_school", "feature_reach_school"], "duckdb", work, event_lake[0],
            WINDOW | {"from_day": from_day}, duckdb_path=later)
    with duckdb.connect(str(later), read_only=True) as con:
        kept = con.execute("SELECT DISTINCT loaded FROM adoption_school WHERE period = '2025-W43'").fetchall()
        after = _rows(con)
    assert kept == [(-1,)]
    restored = [r for r in after["adoption_school"] if r[1] == "2026-W10"]
    assert restored and restored == [r for r in built["adoption_school"] if r[1] == "2026-W10"]
    assert after["feature_reach_school"] == built["feature_reach_school"]
