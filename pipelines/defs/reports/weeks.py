"""The weeks a weekly report reads: the ISO week, the week before, the same ISO week a year earlier, the
12 weeks of the trend chart, and the month that holds most of the week; and the week a report is written
for by default (``default_week``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
TREND_WEEKS = 12


def iso_period(day: dt.date) -> str:
    """Monday → 'YYYY-Www' (the ``period`` of weekly rows, ``strftime(week_start, '%G-W%V')``)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Weeks:
    current: dt.date
    previous: dt.date
    year_ago: dt.date | None
    trend: tuple[dt.date, ...]  # oldest first, ends with ``current``

    @classmethod
    def of(cls, week_start: dt.date) -> Weeks:
        if week_start.weekday() != 0:
            raise ValueError(f"{week_start} is not a Monday")
        year, week, _ = week_start.isocalendar()
        try:
            year_ago = dt.date.fromisocalendar(year - 1, week, 1)
        except ValueError:  # week 53 with no week 53 a year earlier
            year_ago = None
        trend = tuple(week_start - dt.timedelta(weeks=i) for i in range(TREND_WEEKS - 1, -1, -1))
        return cls(week_start, week_start - dt.timedelta(weeks=1), year_ago, trend)

    @property
    def thursday(self) -> dt.date:
        """The week's Thursday: the month and trimester that hold it hold most of the week."""
        return self.current + dt.timedelta(days=3)

    @property
    def month(self) -> str:
        """'YYYY-MM' of the week's Thursday."""
        return self.thursday.strftime("%Y-%m")

    @property
    def periods(self) -> list[str]:
        """Every week period read (trend, previous week, a year earlier)."""
        days = {*self.trend, self.previous, *([self.year_ago] if self.year_ago else [])}
        return sorted(iso_period(d) for d in days)


def default_week(weeks_with_data: Iterable[dt.date], today: dt.date | None = None) -> dt.date | None:
    """Monday of the last complete ISO week (its Sunday before ``today``, Europe/Paris) among the weeks that
    hold data (``weeks_with_data``: Mondays); None when there is none. A week in progress, or a week of the
    calendar without any account active (summer, the weeks after the last export), is never the default."""
    if today is None:
        today = dt.datetime.now(PARIS).date()
    complete = [w for w in weeks_with_data if w + dt.timedelta(days=6) < today]
    return max(complete, default=None)
