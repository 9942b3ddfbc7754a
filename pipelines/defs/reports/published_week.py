"""What the reports of one week read from the serving copy: the figures the publisher cleared, and only them.

The serving file is opened read-only (``open_serving``, as the dashboard does) and read once for a batch
of 31 reports:

- ``adoption_cells``: week rows of France and the académies for the weeks of ``Weeks.periods``, level
  'all', profiles parent, élève and enseignant: totals (secteur and breakdown 'all'), secteur cells
  (breakdown 'all') and breakdown cells (éducation prioritaire, rural/urbain, IPS quintile; secteur 'all');
- ``reach_cells``: parent reach per service of the week and of its month (France and académies, level and
  secteur 'all', breakdown 'all' and 'ips_quintile');
- ``school_adoption``: parent rows of the trimester that holds the week and of the trimester before it
  (funnel flags, published schools only), and of the week's month (schools known only through ODE
  exports), with the public reference data of ``schools`` (name, commune, level);
- ``data_gaps`` of the week, ``academies``, ``periods`` and ``meta``;
- the ``levers_*`` tables (``levers.py``).

Nothing here hides or recomputes a figure: a suppressed cell comes back with ``suppressed`` set and NULL
figures, and the reports print "secret statistique" in its place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.defs.reports.levers import PublishedLevers, load_levers
from pipelines.defs.reports.weeks import Weeks, iso_period
from pipelines.serving_file import SCHEMA_VERSION, open_serving

PROFILES = ("parent", "eleve", "enseignant")
NATION = "FR"


@dataclass(frozen=True)
class Cell:
    """One published adoption cell (every figure None when ``suppressed``; ``mobile_share`` may be None
    on a published cell with too few sessions)."""

    schools: int
    suppressed: bool
    loaded: int | None = None
    active: int | None = None
    activation_rate: float | None = None
    active_rate: float | None = None
    visits_per_active: float | None = None
    mobile_share: float | None = None
    # standard errors of the figures above, the school as the unit (``<figure>_se`` of adoption_cells)
    activation_rate_se: float | None = None
    active_rate_se: float | None = None
    visits_per_active_se: float | None = None
    mobile_share_se: float | None = None


# (period, profile, geo_code, breakdown, value); breakdown 'all' (value 'all'), 'secteur',
# 'education_prioritaire', 'rural_urban' or 'ips_quintile'.
CellKey = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Reach:
    suppressed: bool
    reach: float | None
    margin: float | None = None  # rounded-up 95 % half-width, the school as the unit (reach_margin)


@dataclass(frozen=True)
class Period:
    period: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class TrimesterSchool:
    """A school's published parent row of a trimester (figures None when suppressed)."""

    uai: str
    name: str
    commune: str
    academie_code: str
    level: str
    suppressed: bool
    funnel_flag: str | None
    active_rate: float | None
    loaded: int | None
    active: int | None
    funnel_target: float | None


@dataclass
class PublishedWeek:
    """Everything the reports of one week print, as published in the serving copy."""

    weeks: Weeks
    meta: dict[str, str]
    academies: dict[str, str]                          # code → name, by code
    cells: dict[CellKey, Cell]
    reach: dict[tuple[str, str, str, str], Reach]      # (period type, geo_code, service, 'all' or quintile)
    trimester: Period | None                           # the trimester that holds the week's Thursday
    previous_trimester: Period | None
    trimester_schools: dict[str, list[TrimesterSchool]]  # trimester period → rows
    ode_only: list[dict]                               # uai, name, commune, academie_code (the week's month)
    data_gaps: dict[str, int]                          # académie code → schools with a probable data gap
    levers: PublishedLevers = field(default_factory=PublishedLevers)

    def cell(self, period: str, profile: str, geo: str, breakdown: str = "all", value: str = "all") -> Cell | None:
        return self.cells.get((period, profile, geo, breakdown, value))

    def breakdown_values(self, period: str, geo: str, breakdown: str) -> set[str]:
        """Values of a breakdown that have a parent cell in ``geo`` for ``period``."""
        return {k[4] for k in self.cells if k[0] == period and k[1] == "parent" and k[2] == geo and k[3] == breakdown}

    @property
    def demo(self) -> bool:
        return self.meta.get("synthetic") == "true"


class ServingFileError(RuntimeError):
    pass


def _cells(con, weeks: Weeks) -> dict[CellKey, Cell]:
    rows = con.execute(
        """
        SELECT period, profile, geo_code,
               CASE WHEN secteur <> 'all' THEN 'secteur' ELSE breakdown END,
               CASE WHEN secteur <> 'all' THEN secteur ELSE breakdown_value END,
               schools, suppressed, loaded, active, activation_rate, active_rate, visits_per_active, mobile_share,
               activation_rate_se, active_rate_se, visits_per_active_se, mobile_share_se
        FROM adoption_cells
        WHERE period_type = 'week' AND list_contains(?, period) AND list_contains(?, profile)
          AND geo_level IN ('nation', 'academie') AND level = 'all' AND (secteur = 'all' OR breakdown = 'all')
        """,
        [weeks.periods, list(PROFILES)],
    ).fetchall()
    return {tuple(r[:5]): Cell(int(r[5]), bool(r[6]), *r[7:]) for r in rows}


def _reach(con, weeks: Weeks) -> dict[tuple[str, str, str, str], Reach]:
    rows = con.execute(
        """
        SELECT period_type, geo_code, service, breakdown_value, suppressed, reach, reach_margin
        FROM reach_cells
        WHERE profile = 'parent' AND geo_level IN ('nation', 'academie') AND level = 'all' AND secteur = 'all'
          AND breakdown IN ('all', 'ips_quintile')
          AND ((period_type = 'week' AND period = ?) OR (period_type = 'month' AND period = ?))
        """,
        [iso_period(weeks.current), weeks.month],
    ).fetchall()
    return {tuple(r[:4]): Reach(bool(r[4]), r[5], r[6]) for r in rows}


def _trimesters(con, day: dt.date) -> tuple[Period | None, Period | None]:
    """The published trimester that holds ``day`` and the published one before it."""
    periods = [Period(*r) for r in con.execute(
        "SELECT period, period_start, period_end FROM periods WHERE period_type = 'trimester' ORDER BY period_start"
    ).fetchall()]
    current = next((p for p in periods if p.start <= day <= p.end), None)
    if current is None:
        return None, None
    earlier = [p for p in periods if p.end < current.start]
    return current, (earlier[-1] if earlier else None)


def _trimester_schools(con, periods: list[str]) -> dict[str, list[TrimesterSchool]]:
    rows = con.execute(
        """
        SELECT a.period, a.uai, s.name, coalesce(s.commune_name, ''), a.academie_code, a.level, a.suppressed,
               a.funnel_flag, a.active_rate, a.loaded, a.active, a.funnel_target
        FROM school_adoption a JOIN schools s USING (uai)
        WHERE a.period_type = 'trimester' AND list_contains(?, a.period) AND a.profile = 'parent'
        ORDER BY a.period, a.academie_code, s.name
        """,
        [periods],
    ).fetchall()
    out: dict[str, list[TrimesterSchool]] = {p: [] for p in periods}
    for period, *values in rows:
        out[period].append(TrimesterSchool(*values))
    return out


def weeks_with_data(serving_file: Path) -> list[dt.date]:
    """Mondays of the published weeks that hold data for the reports: France's parent cell published with
    active accounts, and so are the parent cells of most académies that have schools (more than half): a
    week where the académie reports would almost all read "secret statistique" (the days after the last
    export, a week of a few hundred sessions) is not a week of data."""
    con = open_serving(Path(serving_file))
    try:
        return [r[0] for r in con.execute(
            """
            WITH parents AS (
                SELECT period, geo_level, NOT suppressed AND active > 0 AS with_data FROM adoption_cells
                WHERE period_type = 'week' AND profile = 'parent' AND level = 'all' AND secteur = 'all'
                  AND breakdown = 'all' AND geo_level IN ('nation', 'academie')
            ),
            weeks AS (
                SELECT period, bool_or(with_data) FILTER (WHERE geo_level = 'nation') AS france,
                       count(*) FILTER (WHERE geo_level = 'academie' AND with_data) AS academies
                FROM parents GROUP BY period
            )
            SELECT p.period_start FROM weeks w JOIN periods p ON p.period_type = 'week' AND p.period = w.period
            WHERE w.france AND w.academies > (SELECT count(DISTINCT academie_code) FROM schools) / 2
            ORDER BY 1
            """).fetchall()]
    finally:
        con.close()


def load_published_week(serving_file: Path, week_start: dt.date) -> PublishedWeek:
    """Read once, from the serving file, what the 31 reports of the week print."""
    serving_file = Path(serving_file)
    if not serving_file.exists():
        raise ServingFileError(f"no serving copy at {serving_file} (publish it first: `ent-equity run`)")
    weeks = Weeks.of(week_start)
    con = open_serving(serving_file)
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise ServingFileError(f"{serving_file} has schema version {meta.get('schema_version')!r}, the reports "
                                   f"read version {SCHEMA_VERSION!r}: republish it")
        academies = dict(con.execute("SELECT academie_code, academie_name FROM academies ORDER BY 1").fetchall())
        trimester, previous = _trimesters(con, weeks.thursday)
        ode_only = [dict(zip(("uai", "name", "commune", "academie_code"), r)) for r in con.execute(
            """
            SELECT a.uai, s.name, coalesce(s.commune_name, ''), a.academie_code
            FROM school_adoption a JOIN schools s USING (uai)
            WHERE a.period_type = 'month' AND a.period = ? AND a.profile = 'parent' AND a.source = 'ode_statistics'
            ORDER BY a.academie_code, s.name
            """,
            [weeks.month],
        ).fetchall()]
        data_gaps = dict(con.execute(
            "SELECT academie_code, sum(schools_flagged)::BIGINT FROM data_gaps WHERE week_start = ? GROUP BY ALL",
            [weeks.current],
        ).fetchall())
        return PublishedWeek(
            weeks=weeks, meta=meta, academies=academies, cells=_cells(con, weeks), reach=_reach(con, weeks),
            trimester=trimester, previous_trimester=previous,
            trimester_schools=_trimester_schools(con, [p.period for p in (trimester, previous) if p]),
            ode_only=ode_only, data_gaps=data_gaps, levers=load_levers(con),
        )
    finally:
        con.close()
