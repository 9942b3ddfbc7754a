"""School holidays per zone, for the dashboard's weekly series.

- Zones A, B and C (every metropolitan académie except Corse): the official calendar of the Ministère de
  l'Éducation nationale as shipped by the ``vacances-scolaires-france`` package (one row per day and zone,
  from 1990 to the latest school year the ministry has published; data from data.education.gouv.fr), so
  real data of any published school year gets its holidays, not only the demo's year.
- Corse and the overseas académies: the demo generator's calendar, 2025-2026 only, several of whose dates
  are approximations (see ``pipelines/synth/calendar.py``); the package has no such zones.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources

import duckdb

METROPOLITAN_ZONES = ("A", "B", "C")


def official_calendar_csv() -> str:
    return str(importlib.resources.files("vacances_scolaires_france") / "data" / "data.csv")


def metropolitan_holidays() -> list[tuple[str, str, str, dt.date, dt.date]]:
    """(school_year, zone, name, first day off, last day off) of zones A, B and C, official calendar.

    Consecutive days off of one zone under one name form one holiday; a holiday belongs to the school year
    in which it starts (the summer holidays, starting in July, close the year that ends)."""
    path = official_calendar_csv().replace("'", "''")
    return duckdb.sql(f"""
        WITH days AS (
            UNPIVOT (SELECT date::DATE AS day, nom_vacances AS name, vacances_zone_a AS A,
                            vacances_zone_b AS B, vacances_zone_c AS C
                     FROM read_csv('{path}', header = true, all_varchar = true))
            ON A, B, C INTO NAME zone VALUE off
        ),
        runs AS (
            SELECT day, zone, name,
                   day - (row_number() OVER (PARTITION BY zone, name ORDER BY day))::INTEGER AS run
            FROM days WHERE off = 'True' AND name IS NOT NULL
        ),
        holidays AS (
            SELECT zone, name, min(day) AS first_day, max(day) AS last_day FROM runs GROUP BY zone, name, run
        ),
        dated AS (
            SELECT *, CASE WHEN month(first_day) >= 8 THEN year(first_day) ELSE year(first_day) - 1 END AS y
            FROM holidays
        )
        SELECT printf('%d-%d', y, y + 1), zone, name, first_day, last_day FROM dated ORDER BY first_day, zone
    """).fetchall()


def school_holidays() -> list[tuple[str, str, str, dt.date, dt.date]]:
    """(school_year, zone, name, first day off, last day off): zones A/B/C from the official calendar,
    the other zones from the generator's calendar."""
    from pipelines.synth.calendar import CALENDARS

    rows = metropolitan_holidays()
    for school_year, calendar in CALENDARS.items():
        for zone, holidays in calendar.holidays.items():
            if zone in METROPOLITAN_ZONES:
                continue
            for name, first, resume in holidays:
                rows.append((school_year, zone, name, dt.date.fromisoformat(first),
                             dt.date.fromisoformat(resume) - dt.timedelta(days=1)))
    return rows


def academie_zones() -> dict[str, str]:
    """Holiday zone of each académie code (A, B, C, corse, antilles, guyane, reunion, mayotte)."""
    from pipelines.synth.calendar import ZONE_OF_ACADEMIE

    return dict(ZONE_OF_ACADEMIE)
