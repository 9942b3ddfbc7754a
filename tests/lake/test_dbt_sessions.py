"""The dbt model `sessions` on DuckDB over the fixture lake: the window passed as vars, ISO weeks,
daylight saving, Sunday midnights, local time overseas and the other hand-made cases."""

from __future__ import annotations

import csv
from datetime import date

import duckdb
import pytest

from pipelines.defs.ingest.ingest_file import ensure_schema
from pipelines.formats.entcore import SERVICES
from tests.lake.dbt_run import DBT_PROJECT
from tests.lake.event_lake import (
    FIRST_WEEK, GUADELOUPE_SCHOOL, LAST_WEEK, MOVER, RENNES_SCHOOL, REUNION_SCHOOL, pseudo,
)
from tests.lake.model_rows import as_dicts, duckdb_model

@pytest.fixture(scope="module")
def sessions(duckdb_build):
    return as_dicts(*duckdb_model(duckdb_build, "sessions"))


def _of(sessions, account: str) -> list[dict]:
    """The sessions of a hand-made account, in order (started_at in microseconds since the epoch)."""
    return sorted((s for s in sessions if s["user_pseudo"] == pseudo(account)), key=lambda s: s["started_at"])


def test_services_seed_is_the_warehouse_service_enum():
    with (DBT_PROJECT / "seeds" / "services.csv").open() as f:
        seed = [(row["service"], int(row["code"])) for row in csv.DictReader(f)]
    with duckdb.connect() as con:
        ensure_schema(con)
        enum = con.execute("SELECT s, enum_code(s::service_t) FROM unnest(enum_range(NULL::service_t)) t(s)").fetchall()
    assert seed == enum == [(s, i) for i, s in enumerate(SERVICES)]


def test_window_is_the_weeks_passed_as_vars(event_lake, sessions):
    lake, _ = event_lake
    weeks = sorted(date.fromisoformat(p.name.split("=")[1]) for p in (lake / "events").iterdir())
    first, last = date.fromisoformat(FIRST_WEEK), date.fromisoformat(LAST_WEEK)
    assert weeks[0] < first and weeks[-1] > last  # the lake holds weeks on both sides of the window
    assert {s["week_start"] for s in sessions} <= {w for w in weeks if first <= w <= last}
    assert {s["week_start"] for s in sessions} >= {first, last}


def test_iso_week_labels_and_weekdays(sessions):
    for s in sessions:
        year, week, _ = s["week_start"].isocalendar()
        assert s["week_start"].isoweekday() == 1
        assert s["iso_week"] == f"{year}-W{week:02d}"


def test_a_session_that_starts_before_the_window_is_not_counted_nor_cut(sessions):
    assert _of(sessions, "lookback") == []


def test_sessions_across_midnight_on_sunday_belong_to_the_week_they_start(sessions):
    cet, = _of(sessions, "midnight_cet")
    assert (cet["week_start"], cet["iso_week"], cet["weekday_paris"], cet["hour_paris"], cet["events"]) == (
        date(2025, 10, 20), "2025-W43", 7, 23, 3)
    cest, = _of(sessions, "midnight_cest")
    assert (cest["week_start"], cest["iso_week"], cest["weekday_paris"], cest["hour_paris"], cest["events"]) == (
        date(2026, 3, 23), "2026-W13", 7, 23, 2)
    assert cest["uai"] == REUNION_SCHOOL


def test_gaps_are_measured_in_real_time_when_clocks_go_back(sessions):
    # 02:45 CEST → 02:10 CET → 02:20 CET (one session), then a LOGIN at 02:30 CET.
    assert [(s["events"], s["hour_paris"]) for s in _of(sessions, "fall_back")] == [(3, 2), (1, 2)]
    # 02:10 CEST → 02:05 CET is 55 minutes: two sessions.
    assert [s["events"] for s in _of(sessions, "fall_back_gap")] == [1, 1]


def test_hours_skip_when_clocks_go_forward(sessions):
    assert [s["hour_paris"] for s in _of(sessions, "spring_forward")] == [1, 3]


def test_events_at_the_same_instant_make_one_session(sessions):
    session, = _of(sessions, "same_instant")
    assert session["events"] == 3
    assert session["services_mask"] == (1 << SERVICES.index("notes")) | (1 << SERVICES.index("messagerie"))


def test_a_change_of_school_starts_a_session(sessions):
    account, visits = MOVER
    assert [s["uai"] for s in _of(sessions, account)] == [uai for uai, _ in visits]


def test_overseas_sessions_also_read_in_the_schools_zone(sessions):
    # Réunion (UTC+4): Sunday 29 March 23:45 in Paris is Monday 01:45 in Saint-Denis; the session stays
    # in the Paris week of 23 March.
    cest, = _of(sessions, "midnight_cest")
    assert (cest["hour_paris"], cest["weekday_paris"], cest["hour_local"], cest["weekday_local"]) == (23, 7, 1, 1)
    assert cest["week_start"] == date(2026, 3, 23)
    # Guadeloupe (UTC−4): Tuesday 19:00 is Wednesday 01:00 in Paris before 26 October, 00:00 after.
    steady = sorted(((s["week_start"], s["hour_paris"], s["weekday_paris"], s["hour_local"], s["weekday_local"])
                     for s in _of(sessions, "gp-steady-00")))
    assert steady[:3] == [(date(2025, 10, 13), 1, 3, 19, 2), (date(2025, 10, 20), 1, 3, 19, 2),
                          (date(2025, 10, 27), 0, 3, 19, 2)]
    assert {(s["hour_local"], s["weekday_local"]) for s in sessions if s["uai"] == GUADELOUPE_SCHOOL} == {(19, 2)}
    # Metropolitan France: local is Paris.
    rennes = [s for s in sessions if s["uai"] == RENNES_SCHOOL]
    assert rennes and all((s["hour_local"], s["weekday_local"]) == (s["hour_paris"], s["weekday_paris"]) for s in rennes)
