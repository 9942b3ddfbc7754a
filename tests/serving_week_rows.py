"""The week rows the weekly reports read beyond what the serving publisher writes today (issue #11: the
publisher is being extended to write them), added to a writable copy of a published serving file:

- adoption cells of France and the académies by éducation prioritaire, rural/urbain and IPS quintile
  (level and secteur 'all'): every week cell is suppressed again by the publisher's own engine
  (``suppress``) on the warehouse's weekly school rows, the existing level × secteur cells and the new
  breakdown cells together (suppressed separately, a breakdown could add up to a total that is secret);
- parent feature reach of one week (France and académies, 'all' and IPS quintiles): the published cells of
  its month, relabelled as the week.

Each kind is added only when the file has none of it: once the publisher writes them, its own rows are used.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb


def _count(con, sql: str) -> int:
    return con.execute(sql).fetchall()[0][0]


def _add_week_breakdowns(con) -> None:
    from pipelines.defs.publication.publish import ADOPTION_SUMS, CELL_COLUMNS, CELL_FIGURES, GROUP, _stage_adoption
    from pipelines.defs.publication.suppression import Family, suppress

    family = Family("adoption_week", GROUP, geo_levels=("nation", "academie"), units_published=False, measures=2,
                    sums=ADOPTION_SUMS, breakdown_levels=False)
    _stage_adoption(con, family, quintiles=True)
    suppress(con, family)
    con.execute("DELETE FROM srv.adoption_cells WHERE period_type = 'week'")
    con.execute(f"INSERT INTO srv.adoption_cells BY NAME SELECT {CELL_COLUMNS}, {CELL_FIGURES} FROM {family.cells}")


def with_week_rows(serving_file: Path, warehouse_file: Path, target: Path, week: str, month: str) -> Path:
    """A copy of ``serving_file`` at ``target`` with the rows above (``week`` 'YYYY-Www', ``month`` 'YYYY-MM')."""
    shutil.copyfile(serving_file, target)
    os.chmod(target, 0o644)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{Path(warehouse_file).as_posix()}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH '{Path(target).as_posix()}' AS srv")
        con.execute("USE wh")
        if not _count(con, "SELECT count(*) FROM srv.adoption_cells WHERE period_type = 'week' AND breakdown <> 'all'"):
            _add_week_breakdowns(con)
        if not _count(con, "SELECT count(*) FROM srv.reach_cells WHERE period_type = 'week'"):
            con.execute("""
                INSERT INTO srv.reach_cells
                SELECT * REPLACE ('week' AS period_type, ? AS period) FROM srv.reach_cells
                WHERE period_type = 'month' AND period = ? AND profile = 'parent' AND level = 'all'
                  AND secteur = 'all' AND breakdown IN ('all', 'ips_quintile')
            """, [week, month])
        con.execute("DETACH srv")
    finally:
        con.close()
    return target
