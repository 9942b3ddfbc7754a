"""French formatting of figures and dates for the dashboard and the reports ("12,5 %", "lundi 3 novembre 2025")."""

from __future__ import annotations

import datetime as dt
import math

SECRET = "secret statistique"
_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")
_NBSP = "\u202f"  # narrow no-break space: French thousands separator and before %


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, decimals: int = 0) -> str:
    """1234.5 → '1 234,5' (narrow no-break spaces between thousands)."""
    if _missing(value):
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", _NBSP).replace(".", ",")


def percent(rate, decimals: int = 1, suppressed: bool = False) -> str:
    """0.125 → '12,5 %'; a suppressed figure reads 'secret statistique'."""
    if suppressed:
        return SECRET
    if _missing(rate):
        return "—"
    return f"{number(100 * rate, decimals)}{_NBSP}%"


def points(delta, decimals: int = 1) -> str:
    """A change of rate in percentage points, signed: 0.012 → '+1,2 pt'."""
    if _missing(delta):
        return "—"
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    return f"{sign}{number(abs(100 * delta), decimals)}{_NBSP}pt"


def long_date(day: dt.date) -> str:
    """date(2025, 11, 3) → 'lundi 3 novembre 2025'."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def iso_week_label(week_start: dt.date) -> str:
    """The week of Monday ``week_start`` in words: 'semaine 46 (du lundi 10 au dimanche 16 novembre 2025)'."""
    end = week_start + dt.timedelta(days=6)
    first = f"{_DAYS[0]} {week_start.day}" + ("" if week_start.month == end.month else f" {_MONTHS[week_start.month - 1]}")
    return f"semaine {week_start.isocalendar().week} (du {first} au {long_date(end)})"
