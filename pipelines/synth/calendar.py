"""School calendar, day and hour weights, and local time -> UTC for the synthetic ENT logs.

The modelled window of a school year is 1 September to 31 August (365 or 366 days); day ``d`` of the
window is ``window_start + d``.

Sources and assumptions:
- Holidays 2025-2026, metropolitan zones A/B/C, pont de l'Ascension, summer from 4 July 2026: the official
  calendar (arrêté of the Ministère de l'Éducation nationale).
- Zones and time zones per académie, Corse and overseas holidays: the product's facts, with their sources,
  in ``pipelines/defs/reference/school_calendar.py`` (the generator models the calendar the product serves).
- Public holidays: the national list; DROM-specific ones (abolition of slavery) are left out (assumption).
- Seasonality (near zero in July-August, holiday dips, peaks at the rentrée and at the end of each term),
  weekday and hour-of-day profiles: assumption, no source (ENT_USAGE_FIGURES.md: "we found no published
  monthly curve"; counts are reported "hors vacances d'été", so summer usage is negligible).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from pipelines.defs.reference.school_calendar import (
    DEFAULT_TIME_ZONE, REGIONAL_HOLIDAYS, TIME_ZONE_OF_ACADEMIE, ZONE_OF_ACADEMIE,
)

# Profiles in the generator's order (index = profile code in every array).
MODEL_PROFILES = ("parent", "eleve", "enseignant", "personnel")


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@dataclass(frozen=True)
class SchoolYearCalendar:
    """Official dates of one school year. Holidays are [first day off, day classes resume)."""

    school_year: str
    window_start: dt.date
    window_end: dt.date  # inclusive
    holidays: dict[str, tuple[tuple[str, str, str], ...]]  # zone -> (name, first day off, resume day)
    public_holidays: tuple[str, ...]
    # Rentrée and end-of-term peaks (assumption, no source): (first day, last day, multiplier).
    peaks: tuple[tuple[str, str, float], ...]
    # Late arrivals are created on a school day in [first, last] (assumption, no source).
    late_creation: tuple[str, str]
    # Mediation workshops are held on a school day in [first, last] (assumption, no source).
    workshop_period: tuple[str, str]
    # Accounts are loaded ("alimentation" from SIECLE/ONDE) in [first, last] (assumption, no source).
    initial_load: tuple[str, str]

    @property
    def n_days(self) -> int:
        return (self.window_end - self.window_start).days + 1

    def day_index(self, date: str | dt.date) -> int:
        return ((_d(date) if isinstance(date, str) else date) - self.window_start).days


_METRO_COMMON = (
    ("toussaint", "2025-10-18", "2025-11-03"),
    ("noel", "2025-12-20", "2026-01-05"),
    ("pont_ascension", "2026-05-14", "2026-05-18"),
    ("ete", "2026-07-04", "2026-09-01"),
)
CALENDARS = {
    "2025-2026": SchoolYearCalendar(
        school_year="2025-2026",
        window_start=_d("2025-09-01"),
        window_end=_d("2026-08-31"),
        holidays={
            "A": _METRO_COMMON + (("hiver", "2026-02-07", "2026-02-23"), ("printemps", "2026-04-04", "2026-04-20")),
            "B": _METRO_COMMON + (("hiver", "2026-02-14", "2026-03-02"), ("printemps", "2026-04-11", "2026-04-27")),
            "C": _METRO_COMMON + (("hiver", "2026-02-21", "2026-03-09"), ("printemps", "2026-04-18", "2026-05-04")),
            **REGIONAL_HOLIDAYS["2025-2026"],
        },
        public_holidays=(
            "2025-11-01", "2025-11-11", "2025-12-25", "2026-01-01", "2026-04-06", "2026-05-01",
            "2026-05-08", "2026-05-14", "2026-05-25", "2026-07-14", "2026-08-15",
        ),
        peaks=(
            ("2025-09-01", "2025-09-14", 1.6),  # rentrée: accounts, timetables, first homework
            ("2025-09-15", "2025-09-28", 1.25),
            ("2025-12-01", "2025-12-19", 1.2),  # end of the first term (councils, report cards)
            ("2026-03-09", "2026-03-27", 1.15),  # end of the second term
            ("2026-06-01", "2026-06-19", 1.15),  # end of the year
        ),
        late_creation=("2025-09-08", "2026-05-29"),
        workshop_period=("2025-11-12", "2026-04-03"),
        initial_load=("2025-08-25", "2025-08-31"),
    ),
}

# Relative use on a holiday day and on a summer day, per profile (assumption, no source).
HOLIDAY_FACTOR = {"parent": 0.22, "eleve": 0.28, "enseignant": 0.35, "personnel": 0.25}
SUMMER_FACTOR = 0.015
SUMMER_NAMES = ("ete", "hiver_austral")

# Relative use per weekday Monday..Sunday, per profile (assumption, no source): parents peak on Wednesday
# (no afternoon classes) and on Sunday (checking the week's homework), staff work on weekdays. A public
# holiday counts as a holiday day (HOLIDAY_FACTOR).
WEEKDAY_FACTOR = {
    "parent": (1.0, 1.0, 1.1, 1.0, 0.85, 0.9, 1.15),
    "eleve": (1.0, 1.0, 1.1, 1.0, 0.8, 0.55, 0.95),
    "enseignant": (1.0, 1.0, 0.95, 1.0, 0.85, 0.45, 0.6),
    "personnel": (1.0, 1.0, 1.0, 1.0, 0.95, 0.08, 0.04),
}

# Relative use per local hour 0..23 on school days and on weekends, per profile (assumption, no source):
# parents in the evening, pupils after school, teachers through the day and the evening, staff in office hours.
HOUR_WEIGHTS = {
    "parent": (
        (0.3, 0.1, 0.05, 0.05, 0.05, 0.2, 0.6, 2.5, 2.0, 1.2, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 1.5, 3.0, 4.5, 5.0,
         6.0, 5.5, 3.0, 1.2),
        (0.4, 0.15, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.8, 2.8, 3.0, 2.6, 1.8, 1.6, 2.0, 2.2, 2.4, 2.6, 3.2, 3.6,
         4.0, 3.8, 2.4, 1.0),
    ),
    "eleve": (
        (0.4, 0.1, 0.05, 0.05, 0.05, 0.1, 0.5, 1.5, 1.0, 0.6, 0.6, 0.6, 1.5, 1.2, 0.8, 0.8, 1.2, 3.5, 5.0, 4.5,
         4.5, 3.5, 2.0, 0.8),
        (0.6, 0.2, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.6, 2.4, 2.4, 1.6, 1.8, 2.6, 3.0, 3.2, 3.4, 3.6, 3.4,
         3.6, 3.4, 2.2, 1.0),
    ),
    "enseignant": (
        (0.3, 0.1, 0.05, 0.05, 0.05, 0.3, 0.8, 3.0, 4.0, 3.0, 3.0, 3.0, 3.5, 3.0, 3.0, 3.0, 3.5, 4.0, 3.5, 2.5,
         3.0, 3.5, 2.0, 0.6),
        (0.3, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.6, 2.4, 2.6, 2.4, 1.4, 1.6, 2.2, 2.6, 2.8, 2.8, 2.6, 2.4,
         3.0, 3.0, 1.8, 0.6),
    ),
    "personnel": (
        (0.05, 0.02, 0.02, 0.02, 0.02, 0.05, 0.3, 1.5, 5.0, 5.0, 5.0, 4.5, 2.0, 3.5, 5.0, 5.0, 4.5, 3.0, 1.0,
         0.3, 0.2, 0.15, 0.1, 0.05),
        (0.05, 0.02, 0.02, 0.02, 0.02, 0.05, 0.1, 0.3, 1.0, 1.5, 1.5, 1.2, 0.8, 0.8, 1.0, 1.0, 0.8, 0.6, 0.4,
         0.3, 0.3, 0.2, 0.1, 0.05),
    ),
}


def calendar_for(school_year: str) -> SchoolYearCalendar:
    try:
        return CALENDARS[school_year]
    except KeyError:
        raise ValueError(f"no school calendar for {school_year!r}; known: {sorted(CALENDARS)}") from None


def _day_kinds(cal: SchoolYearCalendar, zone: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per window day: (weekday 0-6, holiday or public holiday, summer, school day) for a zone."""
    holiday = np.zeros(cal.n_days, dtype=bool)
    summer = np.zeros(cal.n_days, dtype=bool)
    for name, first, resume in cal.holidays[zone]:
        lo, hi = max(cal.day_index(first), 0), min(cal.day_index(resume), cal.n_days)
        (summer if name in SUMMER_NAMES else holiday)[lo:hi] = True
    days = np.arange(cal.n_days)
    holiday |= np.isin(days, [cal.day_index(d) for d in cal.public_holidays]) & ~summer
    weekday = (cal.window_start.weekday() + days) % 7
    return weekday, holiday, summer, ~holiday & ~summer & (weekday < 5)


def day_weights(cal: SchoolYearCalendar, zone: str, profile: str) -> tuple[np.ndarray, np.ndarray]:
    """Relative expected sessions per day of the window, (all days, school days only)."""
    weekday, holiday, summer, school_day = _day_kinds(cal, zone)
    w = np.asarray(WEEKDAY_FACTOR[profile])[weekday]
    for first, last, mult in cal.peaks:
        w[cal.day_index(first) : cal.day_index(last) + 1] *= mult
    w = np.where(holiday, w * HOLIDAY_FACTOR[profile], w)
    w = np.where(summer, w * SUMMER_FACTOR, w)
    return w, np.where(school_day, w, 0.0)


def school_day_mask(cal: SchoolYearCalendar, zone: str) -> np.ndarray:
    """True on days with classes (Monday-Friday, not a holiday, not a public holiday)."""
    return _day_kinds(cal, zone)[3]


def is_weekend(cal: SchoolYearCalendar) -> np.ndarray:
    """Saturday/Sunday flag per window day (the hour profile switches on it)."""
    return ((cal.window_start.weekday() + np.arange(cal.n_days)) % 7) >= 5


@lru_cache(maxsize=None)
def utc_offsets_us(window_start: dt.date, n_days: int, time_zone: str) -> np.ndarray:
    """UTC offset in microseconds of each local wall-clock hour of the window (DST aware).

    Index ``day * 24 + hour``. A wall-clock time that does not exist (spring-forward hour) takes the
    offset in force before the change; an ambiguous one (fall-back hour) the first occurrence. Offsets
    are looked up at noon of each day, and hour by hour on the days where they change.
    """
    tz = ZoneInfo(time_zone)

    def offset(day: int, hour: int) -> int:
        wall = dt.datetime.combine(window_start + dt.timedelta(days=day), dt.time(hour), tzinfo=tz)
        return int(wall.utcoffset().total_seconds()) * 1_000_000

    noon = np.array([offset(d, 12) for d in range(-1, n_days)], dtype=np.int64)
    hourly = np.repeat(noon[1:], 24).reshape(n_days, 24)
    for day in np.flatnonzero(noon[1:] != noon[:-1]).tolist():
        hourly[day] = [offset(day, h) for h in range(24)]
    hourly.flags.writeable = False
    return hourly.reshape(-1)


def paris_window_us(cal: SchoolYearCalendar) -> tuple[int, int]:
    """The window as UTC epoch microseconds of its first and one-past-last Europe/Paris midnights.

    The product reads weeks and school years on the Paris clock, so generated events must fall inside
    the window on that clock too, overseas schools included."""
    paris = ZoneInfo("Europe/Paris")
    bounds = []
    for day in (cal.window_start, cal.window_start + dt.timedelta(days=cal.n_days)):
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=paris)
        bounds.append(int(midnight.timestamp()) * 1_000_000)
    return bounds[0], bounds[1]


def calendar_parameters(cal: SchoolYearCalendar) -> dict:
    """Everything the calendar assumes, for truth/parameters.json."""
    return {
        "school_year": cal.school_year,
        "window": [cal.window_start.isoformat(), cal.window_end.isoformat()],
        "zone_of_academie": ZONE_OF_ACADEMIE,
        "time_zone_of_academie": {code: TIME_ZONE_OF_ACADEMIE.get(code, DEFAULT_TIME_ZONE) for code in ZONE_OF_ACADEMIE},
        "holidays_first_day_off_to_resume_day": {z: [list(h) for h in hs] for z, hs in cal.holidays.items()},
        "public_holidays": list(cal.public_holidays),
        "peaks_first_last_multiplier": [list(p) for p in cal.peaks],
        "initial_load": list(cal.initial_load),
        "late_creation": list(cal.late_creation),
        "workshop_period": list(cal.workshop_period),
        "holiday_factor": HOLIDAY_FACTOR,
        "summer_factor": SUMMER_FACTOR,
        "weekday_factor_monday_to_sunday": WEEKDAY_FACTOR,
        "hour_weights_schoolday_weekend": HOUR_WEIGHTS,
    }


@dataclass(frozen=True)
class ZoneTables:
    """Lookup tables for sampling session times in one zone and time zone.

    Cumulative tables of several groups are stored flat as ``group + CDF`` so that one np.searchsorted
    serves all groups: a uniform ``u`` of group ``g`` is looked up as ``g + u``.
    """

    n_days: int
    # CDF of day weights per group, cdf[g, d] = P(day < d); groups 0-3 = profiles over all days,
    # groups 4-7 = profiles over school days only.
    cdf_days: np.ndarray  # (8, n_days + 1)
    flat_days: np.ndarray  # (8 * n_days,): g + cdf_days[g, 1:]
    flat_hours: np.ndarray  # (8 * 24,): (2p + weekend) + hour CDF
    weekend: np.ndarray  # (n_days,) int8
    utc_offset_us: np.ndarray  # (n_days * 24,)
    late_creation_days: np.ndarray  # school days on which late arrivals are created
    last_school_day: int
    epoch_day0: int  # days from 1970-01-01 to the window start
    paris_window_us: tuple[int, int]  # the window on the Europe/Paris clock, UTC epoch µs


def _cdf(weights: np.ndarray) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(weights)])
    return c / c[-1]


def _flat(cdf: np.ndarray) -> np.ndarray:
    return (np.arange(len(cdf))[:, None] + cdf[:, 1:]).reshape(-1)


def zone_tables(cal: SchoolYearCalendar, zone: str, time_zone: str) -> ZoneTables:
    weights = [day_weights(cal, zone, p) for p in MODEL_PROFILES]
    cdf_days = np.stack([_cdf(w) for w, _ in weights] + [_cdf(t) for _, t in weights])
    hours = np.stack([_cdf(np.asarray(HOUR_WEIGHTS[p][k])) for p in MODEL_PROFILES for k in (0, 1)])
    lo, hi = (cal.day_index(d) for d in cal.late_creation)
    school_days = np.flatnonzero(school_day_mask(cal, zone))
    return ZoneTables(
        n_days=cal.n_days,
        cdf_days=cdf_days,
        flat_days=_flat(cdf_days),
        flat_hours=_flat(hours),
        weekend=is_weekend(cal).astype(np.int8),
        utc_offset_us=utc_offsets_us(cal.window_start, cal.n_days, time_zone),
        late_creation_days=school_days[(school_days >= lo) & (school_days <= hi)],
        last_school_day=int(school_days.max()),
        epoch_day0=(cal.window_start - dt.date(1970, 1, 1)).days,
        paris_window_us=paris_window_us(cal),
    )
