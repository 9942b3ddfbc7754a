"""The weekly report's default week: the last complete ISO week that holds data in the serving copy, or a
clear message (French and English) when there is none."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import duckdb

from pipelines.defs.reports.command import add_parser
from pipelines.defs.reports.published_week import weeks_with_data
from pipelines.defs.reports.weeks import default_week
from pipelines.serving_file import SERVING_FILENAME

MONDAYS = [dt.date(2026, 6, 22), dt.date(2026, 6, 29), dt.date(2026, 7, 6)]


def test_last_complete_week_with_data():
    assert default_week(MONDAYS, today=dt.date(2026, 12, 1)) == dt.date(2026, 7, 6)  # not the calendar's last week
    assert default_week(MONDAYS, today=dt.date(2026, 7, 12)) == dt.date(2026, 6, 29)  # W28 ends today: in progress
    assert default_week(MONDAYS, today=dt.date(2026, 7, 13)) == dt.date(2026, 7, 6)
    assert default_week([], today=dt.date(2026, 7, 13)) is None
    assert default_week(MONDAYS, today=dt.date(2026, 6, 28)) is None


def _serving(path: Path, weeks: dict[dt.date, tuple[int, int]]) -> Path:
    """A serving copy of 3 académies holding only parent week cells: per Monday, France's active accounts and
    how many académies have a published cell with active accounts (the others: secret statistique)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE periods (period_type VARCHAR, period VARCHAR, period_start DATE, period_end DATE)")
        con.execute("CREATE TABLE schools AS SELECT * FROM (VALUES ('A1', '01'), ('B1', '02'), ('C1', '03')) "
                    "s(uai, academie_code)")
        con.execute("CREATE TABLE adoption_cells (period_type VARCHAR, period VARCHAR, profile VARCHAR, "
                    "geo_level VARCHAR, level VARCHAR, secteur VARCHAR, breakdown VARCHAR, suppressed BOOLEAN, "
                    "active BIGINT)")
        for monday, (active, academies) in weeks.items():
            period = f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"
            con.execute("INSERT INTO periods VALUES ('week', ?, ?, ?)", [period, monday, monday + dt.timedelta(6)])
            con.execute("INSERT INTO adoption_cells VALUES ('week', ?, 'parent', 'nation', 'all', 'all', 'all', "
                        "false, ?)", [period, active])
            for i in range(3):
                con.execute("INSERT INTO adoption_cells VALUES ('week', ?, 'parent', 'academie', 'all', 'all', 'all', "
                            "?, ?)", [period, i >= academies, 40 if i < academies else None])
    return path


def test_weeks_with_data_leave_out_empty_weeks(tmp_path):
    """W26 and W27 have data; W28 (France active, one académie of three published) is not a week of reports."""
    serving = _serving(tmp_path / SERVING_FILENAME, {MONDAYS[0]: (120, 3), MONDAYS[1]: (80, 2), MONDAYS[2]: (9, 1)})
    assert weeks_with_data(serving) == MONDAYS[:2]


def test_command_says_when_no_week_has_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENT_DATA_DIR", str(tmp_path))
    _serving(tmp_path / "serving" / SERVING_FILENAME, {MONDAYS[0]: (0, 0)})
    parser = argparse.ArgumentParser(prog="ent-equity")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", "--no-pdf", "--no-email"])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "aucune semaine ISO complète avec des données" in out and "no complete ISO week with data" in out
    assert "--week" in out and not (tmp_path / "reports").exists()
