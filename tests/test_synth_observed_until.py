"""``synth --until``: the same modelled school year, written as exported at the end of that day (the demo's
first trimester). Nothing after the cut reaches the landing files; what is before it is the whole year's."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.synth.command import load_schools
from pipelines.synth.generator import generate
from tests.conftest import REFERENCE_DIR

# Corse (Europe/Paris) and Guyane (UTC-3: the Paris midnight cut falls at 20:00 local, in the evening peak).
ACADEMIES = ("27", "33")
UNTIL = dt.date(2025, 11, 23)  # a Sunday after the Toussaint holidays and after the first workshops
CUT = "TIMESTAMPTZ '2025-11-24 00:00:00+01'"  # the Paris midnight after UNTIL (CET)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    schools = load_schools(REFERENCE_DIR).filter(pl.col("academie_code").is_in(ACADEMIES))
    roots = {}
    for name, until in (("year", None), ("cut", UNTIL)):
        root = roots[name] = tmp_path_factory.mktemp(name)
        generate(schools, root / "landing", root / "truth", seed=11, n_schools=24, entcore_schools=2,
                 min_per_academie=12, until=until)
    return roots


def _con(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    landing = root / "landing"
    con.execute(f"CREATE VIEW canonical AS SELECT * FROM read_parquet('{landing}/canonical/*.parquet')")
    con.execute(f"""CREATE VIEW entcore AS SELECT make_timestamptz(date * 1000) AS occurred_at, userId AS user_id,
                    "event-type" AS event_type FROM read_json('{landing}/entcore/*.jsonl', format = 'newline_delimited')""")
    con.execute(f"""CREATE VIEW accounts AS SELECT * FROM read_csv('{landing}/accounts/*.csv', delim = ';',
                    header = true, types = {{'created_at': 'DATE', 'activated_at': 'DATE'}})""")
    con.execute(f"""CREATE VIEW workshops AS SELECT * FROM read_csv('{landing}/context/mediation_workshops.csv',
                    delim = ';', header = true, types = {{'workshop_date': 'DATE'}})""")
    con.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{root}/truth/schools_truth.parquet')")
    return con


def test_nothing_after_the_cut_is_written(runs):
    con = _con(runs["cut"])
    assert con.execute(f"SELECT count(*) FROM canonical WHERE occurred_at >= {CUT}").fetchone()[0] == 0
    assert con.execute(f"SELECT count(*) FROM entcore WHERE occurred_at >= {CUT}").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM accounts WHERE created_at > $u OR activated_at > $u",
                       {"u": UNTIL}).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM workshops WHERE workshop_date > $u", {"u": UNTIL}).fetchone()[0] == 0
    # ...and the cut is not an empty export: the last observed week has events in both formats.
    for table in ("canonical", "entcore"):
        assert con.execute(f"SELECT count(*) FROM {table} WHERE occurred_at >= {CUT} - INTERVAL 7 DAY").fetchone()[0] > 0
    assert json.loads((runs["cut"] / "truth" / "parameters.json").read_text())["observed_until"] == UNTIL.isoformat()


def test_what_is_before_the_cut_is_the_whole_years(runs):
    year, cut = _con(runs["year"]), _con(runs["cut"])
    # Accounts: the year's accounts created by then, activation dates kept where they fall by then.
    expected = year.execute(
        """SELECT user_id, uai, profile, created_at, CASE WHEN activated_at <= $u THEN activated_at END
           FROM accounts WHERE created_at <= $u ORDER BY user_id""", {"u": UNTIL}).fetchall()
    assert cut.execute("SELECT * FROM accounts ORDER BY user_id").fetchall() == expected
    assert len(expected) < year.execute("SELECT count(*) FROM accounts").fetchone()[0]
    # Sessions start at the same instants: the LOGINs before the cut are the year's.
    logins = f"SELECT user_id, occurred_at FROM {{}} WHERE event_type = 'LOGIN' AND occurred_at < {CUT} ORDER BY ALL"
    for table in ("canonical", "entcore"):
        before = year.execute(logins.format(table)).fetchall()
        assert before and cut.execute(logins.format(table)).fetchall() == before
    workshops = "SELECT * FROM workshops WHERE workshop_date <= $u ORDER BY ALL"
    assert cut.execute(workshops, {"u": UNTIL}).fetchall() == year.execute(workshops, {"u": UNTIL}).fetchall()


def test_truth_counts_are_the_observed_ones(runs):
    con = _con(runs["cut"])
    rows = con.execute(
        """WITH events AS (SELECT user_id FROM canonical UNION SELECT user_id FROM entcore)
           SELECT t.uai, t.profile, t.loaded, t.activated, t.active,
                  count(a.user_id), count(a.activated_at), count(e.user_id)
           FROM truth t LEFT JOIN accounts a USING (uai, profile) LEFT JOIN events e USING (user_id)
           GROUP BY ALL"""
    ).fetchall()
    assert len(rows) == 24 * 4 and all(r[2:5] == r[5:8] for r in rows)
    year = _con(runs["year"]).execute("SELECT sum(active), sum(loaded) FROM truth").fetchone()
    cut = con.execute("SELECT sum(active), sum(loaded) FROM truth").fetchone()
    assert cut[0] < year[0] and cut[1] < year[1]


def test_until_outside_the_school_year_is_refused(tmp_path):
    schools = load_schools(REFERENCE_DIR).filter(pl.col("academie_code").is_in(ACADEMIES))
    with pytest.raises(ValueError, match="outside the 2025-2026 window"):
        generate(schools, tmp_path / "landing", tmp_path / "truth", n_schools=2, min_per_academie=1,
                 until=dt.date(2026, 9, 1))
