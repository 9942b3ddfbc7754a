"""What a weekly report says: figures for France and each académie, read from the warehouse and
protected by the small-cell rule (no Dagster here: the CLI, the asset and the tests all use it).

Reading
-------
Everything a batch of 31 reports needs is read once (``load_week_data``): weekly rows of
``adoption_rollup`` (nation and académies) for the reported week, the previous week, the same ISO week a
year earlier and the 12 weeks of the trend chart; weekly ``adoption_school`` rows of those weeks joined
to ``schools`` and ``school_ips_quintiles``; parent ``feature_reach_rollup`` rows of the week and of its
month; ``data_gaps`` of the week; ``quarantine`` and rejected ``landing_manifest`` files of the week.

Protection (docs/design.md, privacy rules)
-------------------------------------
A figure k / n is shown only if ``pipelines.privacy.publishable(n, k)`` holds for each of its measures
(activation: activated / loaded; activity: active / loaded accounts whose activity is known). Shown
figures must not let a hidden one be recomputed by subtraction: for every shown total and every way of
splitting it (an académie by secteur, level, éducation prioritaire, rural/urbain, IPS quintile or by
school; France by the same or by académie; a breakdown value of France by académie), the parts that are
hidden must be none, or at least two whose pooled figure passes; otherwise the smallest shown part is
hidden too, until that holds (the serving layer's rules 2-3). Every figure that passes is treated as
shown, whichever report prints it, so the 31 reports together disclose nothing either. School rates are
only printed for schools newly flagged by the funnel; département cells, which the reports do not show,
are not part of the system.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.equity import funnel_limits, sii_rii
from pipelines.privacy import publishable

PARIS = ZoneInfo("Europe/Paris")
PROFILES = ("parent", "eleve", "enseignant")
TREND_WEEKS = 12
# Below this many active parent accounts in the week, feature reach is read over the month instead.
MIN_ACTIVE_FOR_WEEKLY_REACH = 100
# The SII needs enough schools with a known IPS to mean anything.
MIN_SCHOOLS_FOR_SII = 8
# A gap "se creuse" / "se resserre" when its absolute value moves by at least this (rate scale).
GAP_CHANGE_THRESHOLD = 0.005
BREAKDOWNS = ("level", "secteur", "education_prioritaire", "rural_urban", "ips_quintile")
IGNORED_SERVICES = ("connexion", "autre")  # not features a family chooses to use or ignore
NATION = "FR"


# --------------------------------------------------------------------------------------------- weeks
def iso_period(day: dt.date) -> str:
    """Monday → 'YYYY-Www' (the ``period`` of weekly rows, ``strftime(week_start, '%G-W%V')``)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Weeks:
    """The weeks a report reads: the week, the one before, the same ISO week a year earlier, the trend."""

    current: dt.date
    previous: dt.date
    year_ago: dt.date | None
    trend: tuple[dt.date, ...]  # oldest first, ends with ``current``
    month: str                  # 'YYYY-MM' of the week's Thursday (the month that holds most of it)

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
        thursday = week_start + dt.timedelta(days=3)
        return cls(week_start, week_start - dt.timedelta(weeks=1), year_ago, trend, thursday.strftime("%Y-%m"))

    @property
    def periods(self) -> list[str]:
        days = {*self.trend, self.previous, *([self.year_ago] if self.year_ago else [])}
        return sorted(iso_period(d) for d in days)


# ---------------------------------------------------------------------------------------- counts
@dataclass(frozen=True)
class Counts:
    """Numerators and denominators of a unit (school) or a cell (sum of schools)."""

    loaded: int = 0
    activated: int = 0
    known: int = 0       # loaded accounts whose activity is known (events, or ODE unique visitors)
    active: int = 0
    sessions: int = 0
    mobile_sessions: int = 0
    schools: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple[int, ...]:
        return (self.loaded, self.activated, self.known, self.active, self.sessions, self.mobile_sessions,
                self.schools)

    def passes(self) -> bool:
        """The primary rule on every measure the figure has (a measure with no denominator is not shown)."""
        if self.loaded < 1:
            return False
        return publishable(self.loaded, self.activated) and (self.known == 0 or publishable(self.known, self.active))

    @property
    def activation_rate(self) -> float | None:
        return self.activated / self.loaded if self.loaded else None

    @property
    def active_rate(self) -> float | None:
        return self.active / self.known if self.known else None

    @property
    def visits_per_active(self) -> float | None:
        return self.sessions / self.active if self.active else None

    @property
    def mobile_share(self) -> float | None:
        return self.mobile_sessions / self.sessions if self.sessions else None


def _int(value) -> int:
    return 0 if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def protect(counts: dict, partitions: list[tuple[object, list]]) -> set:
    """Keys that may be shown: those passing the primary rule, minus what protects hidden ones.

    ``partitions``: (total key, keys of the parts that add up exactly to it). For every shown total, the
    hidden parts must be none or at least two whose pooled figure passes; otherwise the smallest shown part
    (by loaded accounts) is hidden, or the total itself when no part is shown. Repeated until stable.
    """
    shown = {key for key, c in counts.items() if c.passes()}
    parts_of = [(total, [p for p in parts if p in counts]) for total, parts in partitions if total in counts]
    changed = True
    while changed:
        changed = False
        for total, parts in parts_of:
            if total not in shown:
                continue
            hidden = [p for p in parts if p not in shown]
            if not hidden:
                continue
            if len(hidden) >= 2 and sum((counts[p] for p in hidden), Counts()).passes():
                continue
            visible = [p for p in parts if p in shown]
            victim = min(visible, key=lambda p: (counts[p].loaded, str(p))) if visible else total
            shown.discard(victim)
            changed = True
    return shown


# ------------------------------------------------------------------------------------------ loading
@dataclass
class WeekData:
    """Everything the reports of one week read from the warehouse."""

    weeks: Weeks
    academies: pd.DataFrame       # academie_code, academie_name
    rollup: pd.DataFrame          # weekly adoption cells (nation, académies; 'all', breakdowns, IPS quintiles)
    school_rows: pd.DataFrame     # parent adoption per school, reported and previous week, with attributes
    ode_only: pd.DataFrame        # schools known only through ODE exports in the reported week
    reach: pd.DataFrame           # parent feature reach, week and month, nation and académies
    gaps: pd.DataFrame            # data_gaps rows of the week, with school name and académie
    quarantine: pd.DataFrame      # quarantined rows of the week, by reason
    rejected: pd.DataFrame        # landing files rejected during the week
    demo: bool                    # the warehouse holds demo data (DEMO pseudonymization key)
    generated_at: dt.datetime


_COUNT_COLS = ["loaded", "activated", "known", "active", "sessions", "mobile_sessions", "schools"]
_SUMS = """coalesce(sum(a.loaded), 0)::BIGINT AS loaded, coalesce(sum(a.activated), 0)::BIGINT AS activated,
               coalesce(sum(CASE WHEN a.active IS NOT NULL THEN a.loaded END), 0)::BIGINT AS known,
               coalesce(sum(a.active), 0)::BIGINT AS active,
               coalesce(sum(CASE WHEN a.source = 'events' THEN a.sessions END), 0)::BIGINT AS sessions,
               coalesce(sum(a.mobile_sessions), 0)::BIGINT AS mobile_sessions, count(*)::BIGINT AS schools"""


def load_week_data(con, week_start: dt.date) -> WeekData:
    """Read once what the 31 reports of the week need (a read-only connection is enough)."""
    weeks = Weeks.of(week_start)
    periods = weeks.periods
    academies = con.sql("SELECT academie_code, academie_name FROM academies ORDER BY academie_code").df()
    rollup = con.sql(
        """
        SELECT period, profile, geo_code, breakdown, breakdown_value,
               coalesce(loaded, 0)::BIGINT AS loaded, coalesce(activated, 0)::BIGINT AS activated,
               coalesce(loaded_known_active, 0)::BIGINT AS known, coalesce(active, 0)::BIGINT AS active,
               coalesce(sessions, 0)::BIGINT AS sessions, coalesce(mobile_sessions, 0)::BIGINT AS mobile_sessions,
               schools::BIGINT AS schools
        FROM adoption_rollup
        WHERE period_type = 'week' AND list_contains($periods, period) AND geo_level IN ('nation', 'academie')
        """,
        params={"periods": periods},
    ).df()
    quintiles = con.sql(
        f"""
        SELECT a.period, a.profile::VARCHAR AS profile,
               CASE WHEN GROUPING(s.academie_code) = 0 THEN s.academie_code ELSE '{NATION}' END AS geo_code,
               'ips_quintile' AS breakdown, coalesce(q.ips_quintile::VARCHAR, 'inconnu') AS breakdown_value,
               {_SUMS}
        FROM adoption_school a JOIN schools s USING (uai) LEFT JOIN school_ips_quintiles q USING (uai)
        WHERE a.period_type = 'week' AND list_contains($periods, a.period)
        GROUP BY GROUPING SETS ((a.period, a.profile, breakdown_value),
                                (a.period, a.profile, s.academie_code, breakdown_value))
        """,
        params={"periods": periods},
    ).df()
    rollup = pd.concat([rollup, quintiles], ignore_index=True)
    school_rows = con.sql(
        """
        SELECT a.period, a.uai, a.source,
               coalesce(a.loaded, 0)::BIGINT AS loaded, coalesce(a.activated, 0)::BIGINT AS activated,
               CASE WHEN a.active IS NOT NULL THEN coalesce(a.loaded, 0) ELSE 0 END::BIGINT AS known,
               coalesce(a.active, 0)::BIGINT AS active, a.active IS NOT NULL AS active_known,
               CASE WHEN a.source = 'events' THEN coalesce(a.sessions, 0) ELSE 0 END::BIGINT AS sessions,
               coalesce(a.mobile_sessions, 0)::BIGINT AS mobile_sessions, 1::BIGINT AS schools,
               s.name, coalesce(s.commune_name, '') AS commune_name, s.academie_code, s.level, s.secteur,
               s.education_prioritaire, coalesce(s.rural_urban, 'inconnu') AS rural_urban,
               coalesce(q.ips_quintile::VARCHAR, 'inconnu') AS ips_quintile, q.ips
        FROM adoption_school a
        JOIN schools s USING (uai)
        LEFT JOIN school_ips_quintiles q USING (uai)
        WHERE a.period_type = 'week' AND a.period IN ($current, $previous) AND a.profile = 'parent'
        """,
        params={"current": iso_period(weeks.current), "previous": iso_period(weeks.previous)},
    ).df()
    ode_only = con.sql(
        """
        SELECT DISTINCT a.uai, s.name, coalesce(s.commune_name, '') AS commune_name, s.academie_code
        FROM adoption_school a JOIN schools s USING (uai)
        WHERE a.period_type = 'week' AND a.period = $current AND a.source = 'ode_statistics'
        ORDER BY s.academie_code, s.name
        """,
        params={"current": iso_period(weeks.current)},
    ).df()
    reach = con.sql(
        """
        SELECT period_type, period, service, geo_code, breakdown, breakdown_value,
               coalesce(users, 0)::BIGINT AS users, coalesce(active, 0)::BIGINT AS active, reach
        FROM feature_reach_rollup
        WHERE profile = 'parent' AND geo_level IN ('nation', 'academie') AND breakdown IN ('all', 'ips_quintile')
          AND ((period_type = 'week' AND period = $week) OR (period_type = 'month' AND period = $month))
        """,
        params={"week": iso_period(week_start), "month": weeks.month},
    ).df()
    gaps = con.sql(
        """
        SELECT g.uai, s.name, s.commune_name, s.academie_code, g.events::BIGINT AS events, g.median_events,
               g.school_ratio, g.academie_ratio
        FROM data_gaps g JOIN schools s USING (uai)
        WHERE g.week_start = $week
        ORDER BY s.academie_code, s.name
        """,
        params={"week": week_start},
    ).df()
    quarantine = con.sql(
        """
        SELECT reason, count(*)::BIGINT AS rows, count(DISTINCT file_path)::BIGINT AS files
        FROM quarantine
        WHERE (quarantined_at AT TIME ZONE 'Europe/Paris')::DATE BETWEEN $first AND $last
        GROUP BY reason ORDER BY rows DESC, reason
        """,
        params={"first": week_start, "last": week_start + dt.timedelta(days=6)},
    ).df()
    rejected = con.sql(
        """
        SELECT file_name, coalesce(format, '') AS format, coalesce(error, '') AS error, rows_read::BIGINT AS rows_read
        FROM landing_manifest
        WHERE status = 'rejected'
          AND (ingested_at AT TIME ZONE 'Europe/Paris')::DATE BETWEEN $first AND $last
        ORDER BY ingested_at, file_name
        """,
        params={"first": week_start, "last": week_start + dt.timedelta(days=6)},
    ).df()
    demo = bool(con.sql(
        "SELECT count(*) > 0 FROM landing_manifest WHERE pseudonymization LIKE 'DEMO%'"
    ).fetchall()[0][0])
    return WeekData(weeks, academies, rollup, school_rows, ode_only, reach, gaps, quarantine, rejected, demo,
                    dt.datetime.now(PARIS))


# ----------------------------------------------------------------------------------------- figures
CellKey = tuple  # (geo_code, breakdown, breakdown_value)


@dataclass
class Figures:
    """Protected adoption cells of every loaded week and profile; what is derived from school rows once."""

    cells: dict[tuple[str, str], dict[CellKey, Counts]]   # (period, profile) → cell → counts
    shown: dict[tuple[str, str], set]                     # (period, profile) → keys that may be shown
    schools_shown: set[str]                               # uai whose parent rate of the week may be shown
    flags: dict[str, dict[str, tuple[str | None, float]]] # period → uai → (funnel flag, académie target)
    sii: dict[tuple[str, str], float | None]              # (period, geo) → SII of the parent active rate
    reach: dict[str, dict[tuple[str, str, str], float | None]]  # period type → (geo, service, value) → reach

    def cell(self, period: str, profile: str, geo: str, breakdown: str = "all", value: str = "all") -> Counts | None:
        return self.cells.get((period, profile), {}).get((geo, breakdown, value))

    def is_shown(self, period: str, profile: str, geo: str, breakdown: str = "all", value: str = "all") -> bool:
        return (geo, breakdown, value) in self.shown.get((period, profile), set())


def _records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as plain Python tuples (much faster than itertuples on Arrow-backed columns)."""
    return list(zip(*(frame[c].tolist() for c in columns))) if len(frame) else []


def _counts(values) -> Counts:
    return Counts(*(_int(v) for v in values))


def _partitions(cells: dict[CellKey, Counts]) -> list[tuple[CellKey, list[CellKey]]]:
    by_geo_breakdown: dict[tuple[str, str], list[CellKey]] = defaultdict(list)
    by_breakdown_value: dict[tuple[str, str], list[CellKey]] = defaultdict(list)
    for key in cells:
        geo, breakdown, value = key
        if breakdown != "all":
            by_geo_breakdown[(geo, breakdown)].append(key)
        if geo != NATION:
            by_breakdown_value[(breakdown, value)].append(key)
    partitions = [((geo, "all", "all"), parts) for (geo, _), parts in by_geo_breakdown.items()]
    partitions += [((NATION, b, v), parts) for (b, v), parts in by_breakdown_value.items()]
    return partitions


def _protect_with_schools(cells: dict[CellKey, Counts], rows: pd.DataFrame) -> tuple[set, set[str]]:
    """Protect the week's parent cells together with the school units they contain."""
    units: dict[tuple[str, str], Counts] = {}
    members: dict[CellKey, list] = defaultdict(list)
    for values in _records(rows, ["uai", "academie_code", *BREAKDOWNS, *_COUNT_COLS]):
        uai, academie, attributes = values[0], values[1], values[2:2 + len(BREAKDOWNS)]
        unit = ("school", uai)
        units[unit] = _counts(values[2 + len(BREAKDOWNS):])
        for geo in (NATION, academie):
            members[(geo, "all", "all")].append(unit)
            for breakdown, value in zip(BREAKDOWNS, attributes):
                members[(geo, breakdown, value)].append(unit)
    visible = protect({**cells, **units}, _partitions(cells) + list(members.items()))
    return {k for k in visible if k in cells}, {k[1] for k in visible if k in units}


def _funnel_flags(rows: pd.DataFrame) -> dict[str, tuple[str | None, float]]:
    """uai → (flag, target) per académie for one week (k = active, n = loaded, target = académie rate)."""
    out: dict[str, tuple[str | None, float]] = {}
    rows = rows[rows.active_known & (rows.loaded > 0)]
    for _, group in rows.groupby("academie_code"):
        k, n = group.active.to_numpy(), group.loaded.to_numpy()
        target = float(k.sum() / n.sum())
        if not 0.0 < target < 1.0:
            continue
        result = funnel_limits(k, n, target=target, n_grid=[int(n.max())])
        out.update({uai: (flag, target) for uai, flag in zip(group.uai.tolist(), result.flag)})
    return out


def _sii_of(rows: pd.DataFrame) -> float | None:
    rows = rows[rows.active_known & rows.ips.notna() & (rows.loaded > 0)]
    if len(rows) < MIN_SCHOOLS_FOR_SII:
        return None
    try:
        return sii_rii(rows.active / rows.loaded, rows.loaded, rows.ips, model="linear").sii
    except ValueError:
        return None


def _reach_table(data: WeekData, shown: set) -> dict[str, dict[tuple[str, str, str], float | None]]:
    """Reach per period type; a figure is None when hidden (primary rule on active/users and, for the
    week, the adoption cell it belongs to must be shown: reach reveals no count the adoption rule hides)."""
    table: dict[str, dict[tuple[str, str, str], float | None]] = {"week": {}, "month": {}}
    for period_type, service, geo, breakdown, value, users, active, reach in _records(
        data.reach, ["period_type", "service", "geo_code", "breakdown", "breakdown_value", "users", "active", "reach"]
    ):
        ok = publishable(_int(active), _int(users))
        if ok and period_type == "week":
            ok = (geo, breakdown, "all" if breakdown == "all" else value) in shown
        table[period_type][(geo, service, value)] = float(reach) if ok else None
    return table


def compute_figures(data: WeekData) -> Figures:
    """Cells of every (week, profile), protected together; school-derived figures of the two weeks."""
    cells: dict[tuple[str, str], dict[CellKey, Counts]] = defaultdict(dict)
    for values in _records(data.rollup, ["period", "profile", "geo_code", "breakdown", "breakdown_value",
                                         *_COUNT_COLS]):
        cells[(values[0], values[1])][values[2:5]] = _counts(values[5:])
    current, previous = iso_period(data.weeks.current), iso_period(data.weeks.previous)
    shown: dict[tuple[str, str], set] = {}
    schools_shown: set[str] = set()
    rows_of = {period: data.school_rows[data.school_rows.period == period] for period in (current, previous)}
    for group, group_cells in cells.items():
        if group == (current, "parent"):
            # The reported week's parent figures also protect school rates (the funnel lists schools).
            shown[group], schools_shown = _protect_with_schools(group_cells, rows_of[current])
        else:
            shown[group] = protect(group_cells, _partitions(group_cells))
    flags = {period: _funnel_flags(rows) for period, rows in rows_of.items()}
    sii = {}
    for period, rows in rows_of.items():
        sii[(period, NATION)] = _sii_of(rows)
        for academie, group in rows.groupby("academie_code"):
            sii[(period, academie)] = _sii_of(group)
    reach = _reach_table(data, shown.get((current, "parent"), set()))
    return Figures(dict(cells), shown, schools_shown, flags, sii, reach)


# -------------------------------------------------------------------------------------- one report
@dataclass
class Metric:
    """One figure of the headline table: value, change vs previous week and vs a year earlier."""

    value: float | None
    suppressed: bool
    previous_delta: float | None = None
    year_delta: float | None = None
    kind: str = "rate"  # 'rate' (shown as %, changes in points) or 'number'


@dataclass
class Headline:
    profile: str
    counts: Counts | None
    suppressed: bool
    metrics: dict[str, Metric]


@dataclass
class Gap:
    """A gap between two groups' parent active rates, this week and the week before."""

    label: str
    high_label: str
    low_label: str
    high: float | None = None
    low: float | None = None
    value: float | None = None
    previous: float | None = None
    suppressed: bool = False
    missing: str | None = None  # why there is no figure (groups absent, unknown status)

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return abs(self.value) - abs(self.previous)

    @property
    def trend(self) -> str:
        """'se creuse' / 'se resserre' when |gap| moved by at least 0.5 pt (as printed, to 0.1 pt), else 'stable'."""
        change = self.change
        if change is None:
            return ""
        printed = round(change * 1000) / 1000
        if printed >= GAP_CHANGE_THRESHOLD:
            return "se creuse"
        if printed <= -GAP_CHANGE_THRESHOLD:
            return "se resserre"
        return "stable"


@dataclass
class FlaggedSchool:
    uai: str
    name: str
    commune: str
    academie_code: str
    academie_name: str
    level: str
    flag: str            # 'haut' or 'bas'
    previous_flag: str | None
    rate: float
    loaded: int
    target: float


@dataclass
class ServiceReach:
    service: str
    reach: float | None            # share of active parent accounts that used the service
    suppressed: bool
    national: float | None = None  # France, for comparison in académie reports
    national_suppressed: bool = False
    # IPS quintile → reach (None: secret statistique); a quintile without schools in scope is absent.
    by_quintile: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Report:
    """Every figure of one report (France or one académie)."""

    code: str                      # 'FR' or the académie code
    name: str                      # 'France' or the académie name
    weeks: Weeks
    headlines: list[Headline]
    has_year_ago: bool
    gaps: list[Gap]
    sii: tuple[float | None, float | None] | None   # (this week, previous week), None when not computed
    sii_note: str
    flagged: list[FlaggedSchool]
    flagged_hidden: int            # newly flagged schools not listed (secret statistique)
    funnel_note: str
    reach: list[ServiceReach]
    reach_period: str              # 'week' or 'month'
    reach_active: int | None       # active parent accounts of the week in scope (when shown)
    trend: list[tuple[dt.date, float | None, float | None]]       # week, scope rate, France rate
    quintile_trend: dict[str, list[float | None]]                 # national report: Q1 and Q5 lines
    quintiles: dict[str, tuple[float | None, float | None]]       # Q → (scope rate, France rate)
    quintile_states: dict[str, str]                               # Q → 'ok' / 'secret' / 'absent' (scope)
    trend_secret: list[dt.date]                                   # trend weeks whose scope rate is secret
    academies: list[dict]          # national report: one row per académie
    data_gaps: list[dict]
    ode_only: list[dict]
    quarantine: list[dict] | None  # national report only
    rejected: list[dict] | None    # national report only
    demo: bool
    generated_at: dt.datetime

    @property
    def is_national(self) -> bool:
        return self.code == NATION

    @property
    def parent(self) -> Headline:
        return self.headlines[0]


def _state(figures: Figures, period: str, profile: str, geo: str, breakdown="all", value="all") -> str:
    """'absent' (no school in the cell), 'secret' (hidden by the small-cell rule) or 'ok'."""
    c = figures.cell(period, profile, geo, breakdown, value)
    if c is None or c.known == 0:
        return "absent"
    return "ok" if figures.is_shown(period, profile, geo, breakdown, value) else "secret"


def _rate(figures: Figures, period: str, profile: str, geo: str, breakdown="all", value="all") -> float | None:
    """Parent (or other profile) active rate of a cell, None if absent or hidden."""
    c = figures.cell(period, profile, geo, breakdown, value)
    if c is None or not figures.is_shown(period, profile, geo, breakdown, value):
        return None
    return c.active_rate


def _headline(figures: Figures, weeks: Weeks, profile: str, geo: str) -> Headline:
    cur, prev = iso_period(weeks.current), iso_period(weeks.previous)
    year = iso_period(weeks.year_ago) if weeks.year_ago else None
    counts = figures.cell(cur, profile, geo)
    if counts is None:
        return Headline(profile, None, False, {})
    suppressed = not figures.is_shown(cur, profile, geo)

    def values(period: str | None) -> dict[str, float | None] | None:
        if period is None:
            return None
        c = figures.cell(period, profile, geo)
        if c is None or not figures.is_shown(period, profile, geo):
            return None
        return {"active_rate": c.active_rate, "activation_rate": c.activation_rate,
                "visits_per_active": c.visits_per_active, "mobile_share": c.mobile_share}

    now, before, year_before = values(cur), values(prev), values(year)
    metrics = {}
    for name in ("active_rate", "activation_rate", "visits_per_active", "mobile_share"):
        value = now[name] if now else None
        delta = lambda other: (value - other[name]) if (other and value is not None and other[name] is not None) else None
        metrics[name] = Metric(value, suppressed, delta(before), delta(year_before),
                               "number" if name == "visits_per_active" else "rate")
    return Headline(profile, counts, suppressed, metrics)


_GAP_DEFINITIONS = (
    ("Secteur : privé − public", "secteur", "prive", "public", "privé", "public"),
    ("Éducation prioritaire : REP+ − hors EP", "education_prioritaire", "REP+", "hors_ep", "REP+", "hors EP"),
    ("Éducation prioritaire : REP − hors EP", "education_prioritaire", "REP", "hors_ep", "REP", "hors EP"),
    ("Rural − urbain", "rural_urban", "rural", "urbain", "rural", "urbain"),
    ("IPS : 5e quintile − 1er quintile (Q5 − Q1)", "ips_quintile", "5", "1", "Q5", "Q1"),
)


def _gaps(figures: Figures, weeks: Weeks, geo: str) -> list[Gap]:
    cur, prev = iso_period(weeks.current), iso_period(weeks.previous)
    gaps = []
    for label, breakdown, high, low, high_label, low_label in _GAP_DEFINITIONS:
        gap = Gap(label, high_label, low_label)
        have = {label_: figures.cell(cur, "parent", geo, breakdown, v)
                for label_, v in ((high_label, high), (low_label, low))}
        absent = [label_ for label_, c in have.items() if c is None or c.known == 0]
        if absent:
            known = [k for k in figures.cells.get((cur, "parent"), {})
                     if k[0] == geo and k[1] == breakdown and k[2] != "inconnu"]
            if breakdown == "education_prioritaire" and not known:
                gap.missing = "statut d'éducation prioritaire inconnu pour les établissements suivis"
            elif breakdown == "ips_quintile" and not known:
                gap.missing = "IPS inconnu pour les établissements suivis"
            else:
                gap.missing = "aucun établissement suivi dans le groupe " + " ni dans le groupe ".join(absent)
            gaps.append(gap)
            continue
        gap.high = _rate(figures, cur, "parent", geo, breakdown, high)
        gap.low = _rate(figures, cur, "parent", geo, breakdown, low)
        if gap.high is None or gap.low is None:
            gap.suppressed = True
            gap.high = gap.low = None
        else:
            gap.value = gap.high - gap.low
            prev_high = _rate(figures, prev, "parent", geo, breakdown, high)
            prev_low = _rate(figures, prev, "parent", geo, breakdown, low)
            if prev_high is not None and prev_low is not None:
                gap.previous = prev_high - prev_low
        gaps.append(gap)
    # Only one EP line when the status is unknown everywhere in scope.
    ep = [g for g in gaps if g.label.startswith("Éducation prioritaire")]
    if all(g.missing and g.missing.startswith("statut") for g in ep):
        gaps = [g for g in gaps if g not in ep[1:]]
        ep[0].label = "Éducation prioritaire (REP, REP+) − hors EP"
    return gaps


def _sii(data: WeekData, figures: Figures, geo: str) -> tuple[tuple[float | None, float | None] | None, str]:
    """Slope index of inequality of the parent active rate on the IPS ridit (schools weighted by loaded)."""
    now = figures.sii.get((iso_period(data.weeks.current), geo))
    before = figures.sii.get((iso_period(data.weeks.previous), geo))
    if now is None:
        return None, f"non calculé : moins de {MIN_SCHOOLS_FOR_SII} établissements dont l'IPS est connu"
    return (now, before), ""


def _flagged(data: WeekData, figures: Figures, geo: str) -> tuple[list[FlaggedSchool], int]:
    cur, prev = iso_period(data.weeks.current), iso_period(data.weeks.previous)
    rows = data.school_rows[data.school_rows.period == cur]
    if geo != NATION:
        rows = rows[rows.academie_code == geo]
    now, before = figures.flags[cur], figures.flags[prev]
    names = dict(zip(data.academies.academie_code.tolist(), data.academies.academie_name.tolist()))
    listed, hidden = [], 0
    for uai, name, commune, academie, level, active, loaded in _records(
        rows, ["uai", "name", "commune_name", "academie_code", "level", "active", "loaded"]
    ):
        flag, target = now.get(uai, (None, None))
        previous_flag = before.get(uai, (None, None))[0]
        if flag is None or flag == previous_flag:
            continue
        if uai not in figures.schools_shown:
            hidden += 1
            continue
        listed.append(FlaggedSchool(uai, name, commune or "", academie, names.get(academie, academie), level,
                                    flag, previous_flag,
                                    active / loaded, int(loaded), target))
    listed.sort(key=lambda s: (s.academie_code, s.flag != "bas", s.name))
    return listed, hidden


def _reach(data: WeekData, figures: Figures, geo: str) -> tuple[list[ServiceReach], str, int | None]:
    cur = iso_period(data.weeks.current)
    parent = figures.cell(cur, "parent", geo)
    active = parent.active if parent is not None else 0
    period_type = "week" if active >= MIN_ACTIVE_FOR_WEEKLY_REACH else "month"
    table = figures.reach[period_type]
    out = []
    for service in sorted({s for (g, s, v) in table if g == geo and v == "all"}):
        value = table[(geo, service, "all")]
        national_key = (NATION, service, "all")
        out.append(ServiceReach(
            service, value, value is None,
            national=table.get(national_key) if geo != NATION else None,
            national_suppressed=geo != NATION and national_key in table and table[national_key] is None,
            by_quintile={q: table[(geo, service, q)] for q in ("1", "2", "3", "4", "5") if (geo, service, q) in table},
        ))
    out.sort(key=lambda s: (s.reach is None, s.reach if s.reach is not None else 0, s.service))
    shown_active = active if figures.is_shown(cur, "parent", geo) else None
    return out, period_type, shown_active


def build_report(data: WeekData, figures: Figures, code: str, name: str) -> Report:
    """All figures of the report of ``code`` ('FR' or an académie code)."""
    weeks = data.weeks
    cur, prev = iso_period(weeks.current), iso_period(weeks.previous)
    national = code == NATION
    headlines = [_headline(figures, weeks, p, code) for p in PROFILES]
    year = iso_period(weeks.year_ago) if weeks.year_ago else None
    has_year_ago = year is not None and figures.cell(year, "parent", code) is not None
    gaps = _gaps(figures, weeks, code)
    sii, sii_note = _sii(data, figures, code)
    flagged, flagged_hidden = _flagged(data, figures, code)
    parent_schools = data.school_rows[data.school_rows.period == cur]
    if not national:
        parent_schools = parent_schools[parent_schools.academie_code == code]
    funnel_note = "" if len(parent_schools) >= 1 else "Aucun établissement suivi cette semaine"
    reach, reach_period, reach_active = _reach(data, figures, code)
    trend = [(d, _rate(figures, iso_period(d), "parent", code), _rate(figures, iso_period(d), "parent", NATION))
             for d in weeks.trend]
    quintile_trend = {}
    if national:
        quintile_trend = {q: [_rate(figures, iso_period(d), "parent", NATION, "ips_quintile", q) for d in weeks.trend]
                          for q in ("1", "5")}
    quintiles = {q: (_rate(figures, cur, "parent", code, "ips_quintile", q),
                     _rate(figures, cur, "parent", NATION, "ips_quintile", q)) for q in ("1", "2", "3", "4", "5")}
    quintile_states = {q: _state(figures, cur, "parent", code, "ips_quintile", q) for q in ("1", "2", "3", "4", "5")}
    trend_secret = [d for d in weeks.trend if _state(figures, iso_period(d), "parent", code) == "secret"]
    academies = []
    if national:
        for row in data.academies.itertuples(index=False):
            c = figures.cell(cur, "parent", row.academie_code)
            if c is None:
                continue
            now = _rate(figures, cur, "parent", row.academie_code)
            before = _rate(figures, prev, "parent", row.academie_code)
            academies.append({
                "code": row.academie_code, "name": row.academie_name, "rate": now,
                "suppressed": now is None, "delta": (now - before) if now is not None and before is not None else None,
                "schools": c.schools,
            })
        academies.sort(key=lambda a: (a["rate"] is None, -(a["rate"] or 0), a["name"]))
    gaps_rows = data.gaps if national else data.gaps[data.gaps.academie_code == code]
    names = dict(zip(data.academies.academie_code, data.academies.academie_name))
    data_gaps = []
    for uai, school, commune, academie, events, median, ratio in _records(
        gaps_rows, ["uai", "name", "commune_name", "academie_code", "events", "median_events", "academie_ratio"]
    ):
        expected = float(median * ratio)
        data_gaps.append({"uai": uai, "name": school, "commune": commune or "", "academie": names.get(academie, ""),
                          "events": int(events), "expected": expected,
                          "share": events / expected if expected else None})
    ode = data.ode_only if national else data.ode_only[data.ode_only.academie_code == code]
    ode_only = [{"uai": u, "name": n, "commune": c, "academie": names.get(a, "")}
                for u, n, c, a in _records(ode, ["uai", "name", "commune_name", "academie_code"])]
    return Report(
        code=code, name=name, weeks=weeks, headlines=headlines, has_year_ago=has_year_ago, gaps=gaps,
        sii=sii, sii_note=sii_note, flagged=flagged, flagged_hidden=flagged_hidden, funnel_note=funnel_note,
        reach=reach, reach_period=reach_period, reach_active=reach_active, trend=trend,
        quintile_trend=quintile_trend, quintiles=quintiles, quintile_states=quintile_states,
        trend_secret=trend_secret, academies=academies, data_gaps=data_gaps,
        ode_only=ode_only,
        quarantine=data.quarantine.to_dict("records") if national else None,
        rejected=data.rejected.to_dict("records") if national else None,
        demo=data.demo, generated_at=data.generated_at,
    )


def build_reports(data: WeekData, academies: list[str] | None = None) -> list[Report]:
    """The national report then one per académie (all 30 unless ``academies`` lists codes)."""
    figures = compute_figures(data)
    reports = [build_report(data, figures, NATION, "France")]
    for row in data.academies.itertuples(index=False):
        if academies is None or row.academie_code in academies:
            reports.append(build_report(data, figures, row.academie_code, row.academie_name))
    return reports


__all__ = ["Counts", "Figures", "Report", "WeekData", "Weeks", "build_report", "build_reports",
           "compute_figures", "iso_period", "load_week_data", "protect"]
