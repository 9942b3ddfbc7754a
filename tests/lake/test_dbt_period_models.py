"""The dbt period models on DuckDB over the fixture lake and its dimensions, against rows computed by
hand (tests/lake/event_lake.py: the Guadeloupe schools, the data gap, the school without events, the
ODE-only school); and the export of the dimensions (pipelines/lake/dimensions.py)."""

from __future__ import annotations

import os
import stat
from collections import Counter
from datetime import date

import duckdb
import pytest

from pipelines.lake.dimensions import DIMENSIONS, dimension_path, export_dimensions
from pipelines.defs.reference.school_calendar import DEFAULT_TIME_ZONE, TIME_ZONE_OF_ACADEMIE
from tests.lake.event_lake import (
    GAP_SCHOOL, GAP_WEEK, GUADELOUPE_SCHOOL, ODE_SCHOOL, QUIET_SCHOOL, RENNES_SCHOOL, SCHOOLS, SMALL_SCHOOL,
    SMALL_WEEK, fixture_accounts, pseudo, week_start,
)
from tests.lake.model_rows import as_dicts, duckdb_model

ZEROS_24, ZEROS_7 = [0] * 24, [0] * 7


@pytest.fixture(scope="module")
def adoption(duckdb_build) -> dict[tuple, dict]:
    rows = as_dicts(*duckdb_model(duckdb_build, "adoption_school"))
    return {(r["uai"], r["profile"], r["period"]): r for r in rows}


def _profile(hour: int, weekday: int, n: int) -> tuple[list[int], list[int]]:
    hours, weekdays = list(ZEROS_24), list(ZEROS_7)
    hours[hour], weekdays[weekday - 1] = n, n
    return hours, weekdays


def test_adoption_of_a_school_with_the_same_week_every_week(adoption):
    # 2025-W43: 11 loaded (gp-steady-new is created in March), all activated (gp-steady-late by its
    # ACTIVATION event on 14 October), 10 active with one session each, on Tuesday 19:00 Guadeloupe =
    # Wednesday 01:00 Paris (CEST), profiled in the school's local time; odd accounts on the mobile app;
    # notes and messagerie each.
    hours, weekdays = _profile(hour=19, weekday=2, n=10)
    assert adoption[(GUADELOUPE_SCHOOL, "parent", "2025-W43")] == {
        "period_type": "week", "period": "2025-W43", "uai": GUADELOUPE_SCHOOL, "profile": "parent",
        "source": "events", "loaded": 11, "activated": 11, "active": 10, "sessions": 10, "mobile_sessions": 5,
        "services_used": 20, "active_without_account": 0, "sessions_by_hour": hours,
        "sessions_by_weekday": weekdays, "missing_reason": None, "activation_rate": 1.0,
        "active_rate": 10 / 11, "visits_per_active": 1.0, "breadth": 2.0, "mobile_share": 0.5}


def test_activation_dated_by_an_activation_event(adoption):
    # gp-steady-late has no activation date in the snapshot; its ACTIVATION event is on 14 October.
    assert adoption[(GUADELOUPE_SCHOOL, "parent", "2025-W41")]["activated"] == 10
    assert adoption[(GUADELOUPE_SCHOOL, "parent", "2025-W42")]["activated"] == 11
    # gp-steady-new is loaded from 1 March 2026.
    assert adoption[(GUADELOUPE_SCHOOL, "parent", "2026-W13")]["loaded"] == 12


def test_adoption_of_a_school_without_events(adoption):
    quiet = adoption[(QUIET_SCHOOL, "parent", "2025-10")]
    assert (quiet["loaded"], quiet["activated"], quiet["active"], quiet["sessions"]) == (5, 2, 0, 0)
    assert (quiet["sessions_by_hour"], quiet["sessions_by_weekday"]) == (ZEROS_24, ZEROS_7)
    assert (quiet["activation_rate"], quiet["active_rate"], quiet["visits_per_active"], quiet["mobile_share"]) == (
        0.4, 0.0, None, None)
    assert adoption[(QUIET_SCHOOL, "eleve", "2025-2026")]["activated"] == 0


def test_sessions_of_accounts_missing_from_the_snapshot_are_counted_apart(adoption):
    # same_instant (Rennes, parent) has one session on 15 October and no account.
    assert adoption[(RENNES_SCHOOL, "parent", "2025-W42")]["active_without_account"] >= 1


def test_ode_only_school(adoption):
    # Weekly export for parents: the week of 20 October (row 7) speaks for that week alone.
    week = adoption[(ODE_SCHOOL, "parent", "2025-W43")]
    assert (week["source"], week["loaded"], week["activated"], week["active"], week["sessions"]) == (
        "ode_statistics", 200, 127, 47, 107)
    assert (week["mobile_sessions"], week["sessions_by_hour"], week["active_without_account"]) == (None, None, 0)
    assert week["missing_reason"] == "ODE statistics export: no per-service, channel or time-of-day detail"
    assert week["visits_per_active"] == 107 / 47
    # October holds the whole weeks of 6, 13 and 20 October (27 October ends in November); visitors of
    # several weeks do not add up.
    month = adoption[(ODE_SCHOOL, "parent", "2025-10")]
    assert (month["sessions"], month["active"], month["loaded"], month["activated"]) == (105 + 106 + 107, None, 200, 127)
    assert month["missing_reason"] == ("ODE statistics export by week: unique visitors are not additive over a "
                                       "month; no per-service, channel or time-of-day detail")
    # Daily export for pupils: 6-12 October.
    assert adoption[(ODE_SCHOOL, "eleve", "2025-W41")]["sessions"] == sum(range(15, 22))
    # Monthly export for teachers: September's row.
    assert adoption[(ODE_SCHOOL, "enseignant", "2025-09")]["active"] == 30
    # November's row has no account counts: the trimester takes October's, the latest given.
    trimester = adoption[(ODE_SCHOOL, "enseignant", "2025-2026 T1")]
    assert (trimester["loaded"], trimester["activated"], trimester["sessions"]) == (60, 60, 509 + 510 + 511)
    november = adoption[(ODE_SCHOOL, "enseignant", "2025-11")]
    assert (november["loaded"], november["activated"], november["active"]) == (None, None, 30)
    # An ODE row of a school-profile that has an account snapshot is not used.
    assert all(r["source"] == "events" for k, r in adoption.items() if k[0] == RENNES_SCHOOL)


def test_feature_reach(duckdb_build):
    rows = as_dicts(*duckdb_model(duckdb_build, "feature_reach_school"))
    steady = {r["service"]: r for r in rows if (r["uai"], r["period"]) == (GUADELOUPE_SCHOOL, "2025-W43")}
    assert "connexion" not in steady and len(steady) == 10
    assert steady["notes"] == {"period_type": "week", "period": "2025-W43", "uai": GUADELOUPE_SCHOOL,
                               "profile": "parent", "service": "notes", "users": 10, "active": 10, "reach": 1.0}
    assert (steady["messagerie"]["reach"], steady["blog"]["users"], steady["blog"]["reach"]) == (1.0, 0, 0.0)
    # No row for a school-period without active accounts.
    assert not any(r["uai"] == QUIET_SCHOOL for r in rows)


def test_data_gaps(event_lake, duckdb_build):
    # GAP_SCHOOL: 200 events a week, 2 in GAP_WEEK; the académie (with GUADELOUPE_SCHOOL's 50 and
    # SMALL_SCHOOL's 30) 280 a week, 82 then: expected 200 × 82 / 280 ≈ 58.6 ≥ 50, and 2 < 0.2 × 58.6.
    # SMALL_SCHOOL: 30 a week, 4 in SMALL_WEEK (the académie 254): expected 30 × 254 / 280 ≈ 27.2, and 4 <
    # 0.2 × 27.2, but a few sessions short of so few is chance (docs/scale/dbt_engines.md, section 3): not
    # judged. Every other school-week is normal or alone in its académie; MAYOTTE_SCHOOL's académie has an
    # empty median week, so it sets no expectation (no row, not a division by zero).
    _, events = event_lake
    weekly = Counter((e["uai"], week_start(e["occurred_at"]).isoformat()) for e in events if e["uai"] in (
        GUADELOUPE_SCHOOL, GAP_SCHOOL, SMALL_SCHOOL))
    assert (weekly[GAP_SCHOOL, GAP_WEEK], weekly[SMALL_SCHOOL, SMALL_WEEK]) == (2, 4)
    assert {weekly[GUADELOUPE_SCHOOL, w] + weekly[GAP_SCHOOL, w] + weekly[SMALL_SCHOOL, w]
            for w in (GAP_WEEK, SMALL_WEEK)} == {82, 254}
    rows = as_dicts(*duckdb_model(duckdb_build, "data_gaps"))
    assert rows == [{"uai": GAP_SCHOOL, "week_start": date.fromisoformat(GAP_WEEK), "events": 2,
                     "median_events": 200.0, "school_ratio": 0.01, "academie_ratio": 82 / 280}]


def test_accounts_export_keeps_the_lake_pseudonyms(event_lake, fixture_warehouse):
    lake, _ = event_lake
    exported = duckdb.sql(f"SELECT user_pseudo, uai, profile, created_at, activated_at "
                          f"FROM read_parquet('{dimension_path(lake, 'accounts')}')").fetchall()
    expected = [(pseudo(a), uai, profile, c and date.fromisoformat(c), d and date.fromisoformat(d))
                for a, uai, profile, c, d in fixture_accounts()]
    assert sorted(exported) == sorted(expected)
    # The same 16 bytes as the events: every Guadeloupe visit joins its account.
    unmatched = duckdb.sql(f"""
        SELECT count(*) FROM read_parquet('{lake}/events/*/*.parquet') e
        WHERE e.uai = '{GUADELOUPE_SCHOOL}' AND NOT EXISTS (
            SELECT 1 FROM read_parquet('{dimension_path(lake, 'accounts')}') a
            WHERE a.user_pseudo = e.user_pseudo AND a.uai = e.uai)""").fetchall()[0][0]
    assert unmatched == 0


def test_dimension_export_swaps_whole_private_files(fixture_warehouse, tmp_path):
    counts = export_dimensions(fixture_warehouse, tmp_path)
    assert set(counts) == set(DIMENSIONS) and all(counts.values())
    folder = tmp_path / "dimensions"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.parquet" for n in DIMENSIONS)
    assert stat.S_IMODE(os.stat(folder / "accounts.parquet").st_mode) == 0o600
    before = os.stat(folder / "periods.parquet").st_ino
    assert export_dimensions(fixture_warehouse, tmp_path, ("periods",)) == {"periods": counts["periods"]}
    assert os.stat(folder / "periods.parquet").st_ino != before  # a new file, renamed over the old one


def test_schools_export_carries_the_academies_time_zone(event_lake, fixture_warehouse):
    lake, _ = event_lake
    exported = dict(duckdb.sql(f"SELECT uai, time_zone FROM read_parquet('{dimension_path(lake, 'schools')}')").fetchall())
    assert exported == {uai: TIME_ZONE_OF_ACADEMIE.get(academie, DEFAULT_TIME_ZONE)
                        for uai, (academie, _) in SCHOOLS.items()}
    assert exported[GUADELOUPE_SCHOOL] == "America/Guadeloupe" and exported[RENNES_SCHOOL] == "Europe/Paris"
