"""School calendar facts the product serves: each académie's holiday zone and time zone, and the school
holidays per zone for the dashboard's weekly series. The demo generator (``pipelines/synth/calendar.py``)
reads its zones, time zones and Corse/overseas holidays from here; nothing here depends on it.

Sources and assumptions:
- Zones A, B and C (every metropolitan académie except Corse): the official calendar of the Ministère de
  l'Éducation nationale as shipped by the ``vacances-scolaires-france`` package (one row per day and zone,
  from 1990 to the latest school year the ministry has published; data from data.education.gouv.fr), so
  real data of any published school year gets its holidays (data/reference/SOURCES.md).
- Zones per académie: the same arrêté of the Ministère de l'Éducation nationale.
- La Réunion 2025-2026: académie de La Réunion as quoted by calendrier-scolaire.education. Its school year
  starts on 19 August 2025, before the 1 September window of the demo.
- Noël in Guadeloupe, Martinique, Guyane (20 Dec - 5 Jan) and Mayotte (13 Dec - 12 Jan):
  vacances-scolaires.com. Every other Corse and DROM holiday is an APPROXIMATION (assumption, no source):
  Corse follows zone B for winter and spring and the national dates otherwise; Antilles and Guyane get a
  carnival week around Mardi gras (17 Feb 2026) and two weeks around Easter (5 Apr 2026); Mayotte is
  modelled on La Réunion's rhythm. Only 2025-2026 is known for these zones; the package has none.
- Each académie uses its own time zone (DROM included); metropolitan France and Corse use Europe/Paris.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources

import duckdb

METROPOLITAN_ZONES = ("A", "B", "C")

ZONE_OF_ACADEMIE = {
    **dict.fromkeys(("03", "04", "06", "07", "08", "22", "10", "13"), "A"),
    **dict.fromkeys(("02", "20", "09", "12", "17", "23", "70", "18", "19", "14", "15"), "B"),
    **dict.fromkeys(("24", "11", "01", "16", "25"), "C"),
    "27": "corse",
    "31": "antilles",
    "32": "antilles",
    "33": "guyane",
    "28": "reunion",
    "43": "mayotte",
}
TIME_ZONE_OF_ACADEMIE = {
    "31": "America/Martinique",
    "32": "America/Guadeloupe",
    "33": "America/Cayenne",
    "28": "Indian/Reunion",
    "43": "Indian/Mayotte",
}
DEFAULT_TIME_ZONE = "Europe/Paris"

_ANTILLES_GUYANE_2025 = (
    ("toussaint", "2025-10-18", "2025-11-03"),  # approximation
    ("noel", "2025-12-20", "2026-01-05"),
    ("carnaval", "2026-02-14", "2026-02-23"),  # approximation
    ("paques", "2026-03-28", "2026-04-13"),  # approximation
    ("ete", "2026-07-04", "2026-09-01"),  # approximation
)

# Holidays of the zones the official package does not ship, per school year:
# zone -> ((name, first day off, day classes resume), ...).
REGIONAL_HOLIDAYS = {
    "2025-2026": {
        # Approximation: the national dates, winter and spring holidays taken as zone B's.
        "corse": (
            ("toussaint", "2025-10-18", "2025-11-03"),
            ("noel", "2025-12-20", "2026-01-05"),
            ("pont_ascension", "2026-05-14", "2026-05-18"),
            ("ete", "2026-07-04", "2026-09-01"),
            ("hiver", "2026-02-14", "2026-03-02"),
            ("printemps", "2026-04-11", "2026-04-27"),
        ),
        "antilles": _ANTILLES_GUYANE_2025,
        "guyane": _ANTILLES_GUYANE_2025,
        "reunion": (
            ("periode_1", "2025-10-11", "2025-10-27"),
            ("ete_austral", "2025-12-19", "2026-01-21"),
            ("periode_3", "2026-02-28", "2026-03-16"),
            ("periode_4", "2026-05-02", "2026-05-18"),
            ("hiver_austral", "2026-07-04", "2026-09-01"),
        ),
        "mayotte": (
            ("periode_1", "2025-10-18", "2025-11-03"),  # approximation
            ("noel", "2025-12-13", "2026-01-12"),
            ("periode_3", "2026-02-28", "2026-03-16"),  # approximation
            ("periode_4", "2026-04-25", "2026-05-11"),  # approximation
            ("ete", "2026-07-04", "2026-09-01"),  # approximation
        ),
    },
}


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
    Corse and the overseas zones from REGIONAL_HOLIDAYS."""
    return metropolitan_holidays() + [
        (school_year, zone, name, dt.date.fromisoformat(first), dt.date.fromisoformat(resume) - dt.timedelta(days=1))
        for school_year, zones in REGIONAL_HOLIDAYS.items()
        for zone, holidays in zones.items()
        for name, first, resume in holidays
    ]
