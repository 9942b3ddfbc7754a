"""The one transaction helper (pipelines/transactions.py): an error mid-replace leaves the table as it was."""

import duckdb
import pandas as pd
import pytest

from pipelines.transactions import replace_rows, transaction


def _table(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('2024-2025', 1), ('2025-2026', 2), ('2025-2026', 3)) v(y, n)")
    return con


def _rows(con):
    return con.execute("SELECT * FROM t ORDER BY ALL").fetchall()


def test_a_range_is_replaced_and_only_its_rows_written(tmp_path):
    con = _table(tmp_path)
    frame = pd.DataFrame({"y": ["2025-2026", "2023-2024"], "n": [7, 8]})
    written = replace_rows(con, "t", "SELECT * FROM f", where="y = $y", params={"y": "2025-2026"}, views={"f": frame})
    assert written == 1
    assert _rows(con) == [("2024-2025", 1), ("2025-2026", 7)]
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'f'").fetchall() == [(0,)]


def test_a_missing_table_is_created_from_the_rows(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert replace_rows(con, "u", "SELECT 'a' AS y, 1 AS n", where="y = $y", params={"y": "a"}) == 1
    assert replace_rows(con, "u", "SELECT 'a' AS y, 2 AS n", where="y = $y", params={"y": "a"}) == 1
    assert con.execute("SELECT * FROM u").fetchall() == [("a", 2)]


@pytest.mark.parametrize("where", ["y = $y", None])
def test_an_error_mid_replace_leaves_the_table_exactly_as_before(tmp_path, where):
    con = _table(tmp_path)
    before = _rows(con)
    # The delete runs, then the insert fails on the second row's cast.
    bad = "SELECT y, s::INTEGER AS n FROM (VALUES ('2025-2026', '4'), ('2025-2026', 'x')) v(y, s)"
    with pytest.raises(duckdb.ConversionException):
        replace_rows(con, "t", bad, where=where, params={"y": "2025-2026"} if where else None)
    assert _rows(con) == before
    assert con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 't'").fetchall() == [
        ("y", "VARCHAR"), ("n", "INTEGER")]


def test_transaction_rolls_back_on_any_error_and_commits_otherwise(tmp_path):
    con = _table(tmp_path)
    before = _rows(con)
    with pytest.raises(KeyboardInterrupt):
        with transaction(con):
            con.execute("DELETE FROM t")
            raise KeyboardInterrupt
    assert _rows(con) == before
    with transaction(con):
        con.execute("DELETE FROM t WHERE n = 1")
    assert _rows(con) == before[1:]
