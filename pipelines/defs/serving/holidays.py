"""School holidays per académie, read from the synthetic generator's calendar (one source of the dates).

The metropolitan zones A/B/C and the académie → zone mapping follow the official 2025-2026 calendar;
several Corse and DROM periods are approximations (see ``pipelines/synth/calendar.py``).
"""

from __future__ import annotations

import datetime as dt


def school_holidays() -> list[tuple[str, str, str, dt.date, dt.date]]:
    """(school_year, zone, name, first day off, last day off) for every known school year."""
    from pipelines.synth.calendar import CALENDARS

    rows = []
    for school_year, calendar in CALENDARS.items():
        for zone, holidays in calendar.holidays.items():
            for name, first, resume in holidays:
                rows.append((school_year, zone, name, dt.date.fromisoformat(first),
                             dt.date.fromisoformat(resume) - dt.timedelta(days=1)))
    return rows


def academie_zones() -> dict[str, str]:
    """Holiday zone of each académie code (A, B, C, corse, antilles, guyane, reunion, mayotte)."""
    from pipelines.synth.calendar import ZONE_OF_ACADEMIE

    return dict(ZONE_OF_ACADEMIE)
