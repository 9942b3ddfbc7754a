"""What a weekly report says, for France and each académie: figures of the serving copy, or functions of
figures of the serving copy only (no Dagster here: the CLI, the asset and the tests all use it).

The serving publisher is the one disclosure-control engine: what it did not publish, no report prints,
and nothing here decides what may be shown. A suppressed cell reads "secret statistique"; a change, a gap
or an index is printed only when every figure it is computed from is published.

- Headlines (parents, élèves, enseignants), the 12-week trend and the national table of académies: week
  cells; changes against the previous week and the same ISO week a year earlier. An active rate carries its
  95 % interval (published standard error, the school as the unit), and so does its change (the two weeks
  as independent estimates, ``fr.independent_se``), « évolution non significative » when that holds 0; the
  trend chart draws each week's interval as error bars.
- Gaps (privé − public, REP+ / REP − hors EP, rural − urbain, Q5 − Q1): differences of two published
  week cells of the same territory, with a 95 % interval from the two cells' published standard errors
  (independent groups: ``se = sqrt(se_high² + se_low²)``), « écart non significatif » when it holds 0.
  Its change since the previous week « se creuse » / « se resserre » only when the interval of the change
  (the two weeks as independent estimates) leaves out 0; else « évolution non significative ».
- SII of the week: grouped-data SII over the five published IPS-quintile week cells of the territory (the
  quintiles as units, weighted by their loaded accounts); weekly school rows are never published.
- Schools flagged by the funnel: published parent rows of the trimester that holds the week, newly
  flagged compared with the trimester before.
- Services ignored: reach of the week when every service of the territory is published, else of the month.
- Data quality: probable data gaps counted per académie (serving copy); the national report adds the
  week's ingestion incidents (``operations.py``, the only warehouse read).
- Levers: the serving copy's lever figures for the territory (``levers.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipelines import fr_format as fr
from pipelines.defs.reports.levers import LeverSection, lever_section
from pipelines.defs.reports.operations import Operations
from pipelines.defs.reports.published_week import NATION, PROFILES, Cell, PublishedWeek, TrimesterSchool
from pipelines.defs.reports.weeks import PARIS, Weeks, iso_period
from pipelines.equity import sii_rii

# A gap "se creuse" / "se resserre" when its absolute value moves by at least this (rate scale) and the
# change is significant (``Gap.trend``).
GAP_CHANGE_THRESHOLD = 0.005
NOT_SIGNIFICANT_CHANGE = fr.NOT_SIGNIFICANT_CHANGE
IGNORED_SERVICES = ("connexion", "autre")  # not features a family chooses to use or ignore
QUINTILES = ("1", "2", "3", "4", "5")
METRICS = ("active_rate", "activation_rate", "visits_per_active", "mobile_share")


# ------------------------------------------------------------------------------------------ figures
@dataclass
class Metric:
    """One figure of the headline table: value and its published standard error, change vs previous week and
    vs a year earlier, and the standard errors of those changes (the two weeks as independent estimates)."""

    value: float | None
    suppressed: bool
    previous_delta: float | None = None
    year_delta: float | None = None
    kind: str = "rate"  # 'rate' (shown as %, changes in points) or 'number'
    previous_se: float | None = None
    year_se: float | None = None
    se: float | None = None


@dataclass
class Headline:
    profile: str
    cell: Cell | None          # the published week cell of the territory (None: no account followed)
    metrics: dict[str, Metric]

    @property
    def suppressed(self) -> bool:
        return self.cell is not None and self.cell.suppressed


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
    missing: str | None = None  # why there is no figure (groups absent, unknown status, not published)
    se: float | None = None     # standard error of ``value`` (None when a group has no published one)
    previous_se: float | None = None  # standard error of ``previous``
    high_se: float | None = None  # standard errors of the two groups' rates this week
    low_se: float | None = None

    @property
    def ci_low(self) -> float | None:
        return None if self.value is None or self.se is None else self.value - fr.Z95 * self.se

    @property
    def ci_high(self) -> float | None:
        return None if self.value is None or self.se is None else self.value + fr.Z95 * self.se

    @property
    def previous_ci(self) -> tuple[float | None, float | None]:
        """95 % interval of the previous week's gap (None, None without a standard error)."""
        return fr.wald_bounds(self.previous, self.previous_se)

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return abs(self.value) - abs(self.previous)

    @property
    def change_se(self) -> float | None:
        """Standard error of ``value - previous``: the two weeks' gaps as independent estimates,
        ``sqrt(se² + previous_se²)`` (docs/equity_fit_guards.md, section 2)."""
        if self.change is None:
            return None
        return fr.independent_se(self.se, self.previous_se)

    @property
    def change_significant(self) -> bool | None:
        """Whether the 95 % interval of ``value - previous`` leaves out 0 (None: no interval)."""
        se = self.change_se
        return None if se is None else fr.change_significant(self.value - self.previous, se)

    @property
    def trend(self) -> str:
        """'se creuse' / 'se resserre' when |gap| moved by at least 0.5 pt (as printed, to 0.1 pt) **and** the
        change is significant; 'évolution non significative' when its interval holds 0 or cannot be computed;
        'stable' for a significant change below 0.5 pt."""
        change = self.change
        if change is None:
            return ""
        if not self.change_significant:
            return NOT_SIGNIFICANT_CHANGE
        printed = round(change * 1000) / 1000
        if printed >= GAP_CHANGE_THRESHOLD:
            return "se creuse"
        if printed <= -GAP_CHANGE_THRESHOLD:
            return "se resserre"
        return "stable"


@dataclass(frozen=True)
class Sii:
    """Slope index of inequality of the parent active rate over the IPS quintiles, with its 95 % interval."""

    value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return not self.low <= 0.0 <= self.high


@dataclass
class FlaggedSchool:
    uai: str
    name: str
    commune: str
    academie_code: str
    academie_name: str
    level: str
    flag: str                  # 'haut' or 'bas'
    previous: str | None       # previous trimester: 'haut', 'bas', 'aucun', 'secret', None (no row, no trimester)
    rate: float
    loaded: int
    target: float | None
    low: float | None = None   # 95 % Wilson interval of the rate (the school's accounts as the units)
    high: float | None = None


@dataclass
class ServiceReach:
    service: str
    reach: float | None            # share of active parent accounts that used the service
    suppressed: bool
    margin: float | None = None    # its rounded-up 95 % half-width (None: fewer than 10 schools)
    national: float | None = None  # France, for comparison in académie reports
    national_suppressed: bool = False
    national_margin: float | None = None  # its rounded-up 95 % half-width
    # IPS quintile → reach (None: secret statistique); a quintile without a published row is absent.
    by_quintile: dict[str, float | None] = field(default_factory=dict)
    quintile_margins: dict[str, float | None] = field(default_factory=dict)  # their rounded-up 95 % half-widths


@dataclass
class Report:
    """Every figure of one report (France or one académie)."""

    code: str                      # 'FR' or the académie code
    name: str                      # 'France' or the académie name
    weeks: Weeks
    headlines: list[Headline]
    has_year_ago: bool
    gaps: list[Gap]
    sii: Sii | None
    sii_previous: Sii | None
    sii_note: str                  # why there is no SII (empty when there is one)
    flagged: list[FlaggedSchool]
    trimester: str | None          # the trimester whose funnel flags are listed (period code)
    previous_trimester: str | None
    funnel_note: str
    reach: list[ServiceReach]
    reach_period: str              # 'week' or 'month'
    reach_note: str                # why the month is used (empty for the week)
    trend: list[tuple[dt.date, float | None, float | None]]       # week, territory rate, France rate
    trend_se: list[tuple[float | None, float | None]]             # their standard errors (None: none)
    quintile_trend: dict[str, list[float | None]]                 # national report: Q1 and Q5 lines
    quintile_trend_se: dict[str, list[float | None]]              # their standard errors
    quintiles: dict[str, tuple[float | None, float | None]]       # Q → (territory rate, France rate)
    quintile_se: dict[str, tuple[float | None, float | None]]     # Q → their standard errors (None: none)
    quintile_states: dict[str, str]                               # Q → 'ok' / 'secret' / 'absent' (territory)
    trend_secret: list[dt.date]                                   # trend weeks whose territory rate is secret
    academies: list[dict]          # national report: one row per académie
    data_gaps: list[dict]          # académie name, schools with a probable data gap
    ode_only: list[dict]
    operations: Operations | None  # national report, when the warehouse was read
    levers: LeverSection
    demo: bool
    published_at: str              # when the serving copy was published (ISO, UTC)
    min_n: int                     # the publisher's small-cell rule, as it states it in ``meta``
    min_k: int
    generated_at: dt.datetime

    @property
    def is_national(self) -> bool:
        return self.code == NATION

    @property
    def parent(self) -> Headline:
        return self.headlines[0]


def _published(cell: Cell | None) -> Cell | None:
    return cell if cell is not None and not cell.suppressed else None


def _state(data: PublishedWeek, period: str, geo: str, breakdown="all", value="all") -> str:
    """'absent' (no published row: no school in the cell), 'secret' or 'ok' (parent cell)."""
    cell = data.cell(period, "parent", geo, breakdown, value)
    if cell is None:
        return "absent"
    return "secret" if cell.suppressed else "ok"


def _rate(data: PublishedWeek, period: str, geo: str, breakdown="all", value="all") -> float | None:
    """Parent active rate of a published cell, None if absent or suppressed."""
    cell = _published(data.cell(period, "parent", geo, breakdown, value))
    return cell.active_rate if cell else None


def _se(data: PublishedWeek, period: str, geo: str, breakdown="all", value="all") -> float | None:
    """Published standard error of a parent cell's active rate, None if absent, suppressed or without one."""
    cell = _published(data.cell(period, "parent", geo, breakdown, value))
    return cell.active_rate_se if cell else None


def _delta(value: float | None, other: float | None) -> float | None:
    return value - other if value is not None and other is not None else None


def _headline(data: PublishedWeek, profile: str, geo: str) -> Headline:
    weeks = data.weeks
    cell = data.cell(iso_period(weeks.current), profile, geo)
    if cell is None:
        return Headline(profile, None, {})
    before = _published(data.cell(iso_period(weeks.previous), profile, geo))
    year = _published(data.cell(iso_period(weeks.year_ago), profile, geo)) if weeks.year_ago else None
    metrics = {}
    for name in METRICS:
        value = getattr(cell, name)
        m = Metric(value, cell.suppressed, _delta(value, getattr(before, name) if before else None),
                   _delta(value, getattr(year, name) if year else None),
                   "number" if name == "visits_per_active" else "rate")
        if not cell.suppressed and value is not None:
            m.se = getattr(cell, f"{name}_se")
            m.previous_se = _change_se(cell, before, name, m.previous_delta)
            m.year_se = _change_se(cell, year, name, m.year_delta)
        metrics[name] = m
    return Headline(profile, cell, metrics)


def _change_se(cell: Cell, other: Cell | None, name: str, delta: float | None) -> float | None:
    """Standard error of the change of a published cell's figure ``name`` since ``other`` (the two weeks as
    independent estimates), None without a change or a standard error."""
    if delta is None or other is None:
        return None
    return fr.independent_se(getattr(cell, f"{name}_se"), getattr(other, f"{name}_se"))


_GAP_DEFINITIONS = (
    ("Secteur : privé − public", "secteur", "prive", "public", "privé", "public"),
    ("Éducation prioritaire : REP+ − hors EP", "education_prioritaire", "REP+", "hors_ep", "REP+", "hors EP"),
    ("Éducation prioritaire : REP − hors EP", "education_prioritaire", "REP", "hors_ep", "REP", "hors EP"),
    ("Rural − urbain", "rural_urban", "rural", "urbain", "rural", "urbain"),
    ("IPS : 5e quintile − 1er quintile (Q5 − Q1)", "ips_quintile", "5", "1", "Q5", "Q1"),
)
_UNKNOWN = {"education_prioritaire": "statut d'éducation prioritaire inconnu pour les établissements suivis",
            "ips_quintile": "IPS inconnu pour les établissements suivis"}
NOT_PUBLISHED_WEEKLY = "découpage non publié pour la semaine"


def _gap(data: PublishedWeek, geo: str, definition: tuple) -> Gap:
    label, breakdown, high, low, high_label, low_label = definition
    cur, prev = iso_period(data.weeks.current), iso_period(data.weeks.previous)
    gap = Gap(label, high_label, low_label)
    values = data.breakdown_values(cur, geo, breakdown)
    absent = [name for name, v in ((high_label, high), (low_label, low)) if v not in values]
    if absent:
        if not values and data.cell(cur, "parent", geo) is not None:
            gap.missing = NOT_PUBLISHED_WEEKLY
        elif breakdown in _UNKNOWN and values == {"inconnu"}:
            gap.missing = _UNKNOWN[breakdown]
        else:
            gap.missing = "aucun établissement suivi dans le groupe " + " ni dans le groupe ".join(absent)
        return gap
    gap.high, gap.low = _rate(data, cur, geo, breakdown, high), _rate(data, cur, geo, breakdown, low)
    if gap.high is None or gap.low is None:
        gap.suppressed, gap.high, gap.low = True, None, None
        return gap
    gap.value = gap.high - gap.low
    gap.high_se, gap.low_se = (_se(data, cur, geo, breakdown, v) for v in (high, low))
    gap.se = fr.independent_se(gap.high_se, gap.low_se)
    gap.previous = _delta(_rate(data, prev, geo, breakdown, high), _rate(data, prev, geo, breakdown, low))
    if gap.previous is not None:
        gap.previous_se = fr.independent_se(*(_se(data, prev, geo, breakdown, v) for v in (high, low)))
    return gap


def _gaps(data: PublishedWeek, geo: str) -> list[Gap]:
    gaps = [_gap(data, geo, definition) for definition in _GAP_DEFINITIONS]
    # One éducation prioritaire line when neither has a figure for the same reason (unknown, not published).
    ep = [g for g in gaps if g.label.startswith("Éducation prioritaire")]
    if ep[0].missing and ep[0].missing == ep[1].missing and not ep[0].missing.startswith("aucun"):
        gaps.remove(ep[1])
        ep[0].label = "Éducation prioritaire (REP, REP+) − hors EP"
    return gaps


def quintile_sii(cells: list[Cell | None]) -> Sii | None:
    """Grouped-data SII of the parent active rate: the five IPS-quintile cells are the units, weighted by
    their loaded accounts, ranked on their weighted ridit (``sii_rii``, linear model). None unless all
    five cells are published with a rate."""
    if len(cells) != len(QUINTILES) or any(c is None or c.suppressed or c.active_rate is None or not c.loaded
                                           for c in cells):
        return None
    fit = sii_rii([c.active_rate for c in cells], [c.loaded for c in cells], [int(q) for q in QUINTILES])
    return Sii(fit.sii, fit.sii_lower, fit.sii_upper)


def _sii(data: PublishedWeek, geo: str) -> tuple[Sii | None, Sii | None, str]:
    cur, prev = iso_period(data.weeks.current), iso_period(data.weeks.previous)
    now = [data.cell(cur, "parent", geo, "ips_quintile", q) for q in QUINTILES]
    before = [data.cell(prev, "parent", geo, "ips_quintile", q) for q in QUINTILES]
    sii = quintile_sii(now)
    if sii is not None:
        return sii, quintile_sii(before), ""
    if all(c is None for c in now):
        note = "découpage par quintile d'IPS non publié pour la semaine"
    else:
        absent = [f"Q{q}" for q, c in zip(QUINTILES, now) if c is None]
        secret = [f"Q{q}" for q, c in zip(QUINTILES, now) if c is not None and c.suppressed]
        note = "; ".join(([f"aucun établissement suivi en {', '.join(absent)}"] if absent else [])
                         + ([f"{', '.join(secret)} sous {fr.SECRET}"] if secret else []))
    return None, None, f"non calculé ({note})"


def _flagged(data: PublishedWeek, geo: str) -> tuple[list[FlaggedSchool], str]:
    """Published schools of the territory flagged by the funnel in the week's trimester, newly so compared
    with the trimester before when it is published."""
    if data.trimester is None:
        return [], "Aucun trimestre publié ne contient cette semaine"
    rows = [s for s in data.trimester_schools[data.trimester.period] if geo == NATION or s.academie_code == geo]
    if not any(not s.suppressed for s in rows):
        return [], "Aucun établissement publié pour ce trimestre"
    before: dict[str, TrimesterSchool] = {}
    if data.previous_trimester is not None:
        before = {s.uai: s for s in data.trimester_schools[data.previous_trimester.period]}
    listed = []
    for s in rows:
        if s.suppressed or s.funnel_flag not in ("haut", "bas"):
            continue
        previous = None
        if s.uai in before:
            old = before[s.uai]
            previous = "secret" if old.suppressed else (old.funnel_flag or "aucun")
        if previous == s.funnel_flag:
            continue
        listed.append(FlaggedSchool(s.uai, s.name, s.commune, s.academie_code,
                                    data.academies.get(s.academie_code, s.academie_code), s.level, s.funnel_flag,
                                    previous, s.active_rate, s.loaded, s.funnel_target,
                                    *fr.wilson(s.active, s.loaded)))
    listed.sort(key=lambda s: (s.academie_code, s.flag != "bas", s.name))
    return listed, ""


def _reach(data: PublishedWeek, geo: str) -> tuple[list[ServiceReach], str, str]:
    week = {k[2]: r for k, r in data.reach.items() if k[0] == "week" and k[1] == geo and k[3] == "all"}
    if week and not any(r.suppressed for r in week.values()):
        period_type, note = "week", ""
    else:
        period_type = "month"
        note = ("l'usage des services de la semaine n'est pas publié" if not week else
                f"l'usage d'au moins un service dans la semaine est sous {fr.SECRET}")
    table = {k[1:]: r for k, r in data.reach.items() if k[0] == period_type}
    out = []
    for service in sorted({s for (g, s, v) in table if g == geo and v == "all"}):
        figure = table[(geo, service, "all")]
        national = table.get((NATION, service, "all")) if geo != NATION else None
        out.append(ServiceReach(
            service, figure.reach, figure.suppressed, None if figure.suppressed else figure.margin,
            national=national.reach if national else None,
            national_suppressed=bool(national and national.suppressed),
            national_margin=national.margin if national and not national.suppressed else None,
            by_quintile={q: table[(geo, service, q)].reach for q in QUINTILES if (geo, service, q) in table},
            quintile_margins={q: table[(geo, service, q)].margin for q in QUINTILES if (geo, service, q) in table
                              and not table[(geo, service, q)].suppressed},
        ))
    out.sort(key=lambda s: (s.reach is None, s.reach if s.reach is not None else 0, s.service))
    return out, period_type, note


def _academies(data: PublishedWeek) -> list[dict]:
    cur, prev = iso_period(data.weeks.current), iso_period(data.weeks.previous)
    rows = []
    for code, name in data.academies.items():
        cell = data.cell(cur, "parent", code)
        if cell is None:
            continue
        now = _rate(data, cur, code)
        delta = _delta(now, _rate(data, prev, code))
        rows.append({"code": code, "name": name, "rate": now, "suppressed": cell.suppressed,
                     "se": None if cell.suppressed else cell.active_rate_se, "delta": delta,
                     "delta_se": None if delta is None else fr.independent_se(_se(data, cur, code),
                                                                              _se(data, prev, code)),
                     "schools": cell.schools})
    rows.sort(key=lambda a: (a["rate"] is None, -(a["rate"] or 0), a["name"]))
    return rows


def build_report(data: PublishedWeek, operations: Operations | None, code: str, name: str,
                 generated_at: dt.datetime) -> Report:
    """All figures of the report of ``code`` ('FR' or an académie code)."""
    weeks = data.weeks
    cur = iso_period(weeks.current)
    national = code == NATION
    sii, sii_previous, sii_note = _sii(data, code)
    flagged, funnel_note = _flagged(data, code)
    reach, reach_period, reach_note = _reach(data, code)
    year = iso_period(weeks.year_ago) if weeks.year_ago else None
    gaps = [{"academie": data.academies.get(a, a), "schools": n} for a, n in data.data_gaps.items()
            if n and (national or a == code)]
    return Report(
        code=code, name=name, weeks=weeks,
        headlines=[_headline(data, p, code) for p in PROFILES],
        has_year_ago=year is not None and data.cell(year, "parent", code) is not None,
        gaps=_gaps(data, code), sii=sii, sii_previous=sii_previous, sii_note=sii_note,
        flagged=flagged, trimester=data.trimester.period if data.trimester else None,
        previous_trimester=data.previous_trimester.period if data.previous_trimester else None,
        funnel_note=funnel_note, reach=reach, reach_period=reach_period, reach_note=reach_note,
        trend=[(d, _rate(data, iso_period(d), code), _rate(data, iso_period(d), NATION)) for d in weeks.trend],
        trend_se=[(_se(data, iso_period(d), code), _se(data, iso_period(d), NATION)) for d in weeks.trend],
        quintile_trend={q: [_rate(data, iso_period(d), NATION, "ips_quintile", q) for d in weeks.trend]
                        for q in ("1", "5")} if national else {},
        quintile_trend_se={q: [_se(data, iso_period(d), NATION, "ips_quintile", q) for d in weeks.trend]
                           for q in ("1", "5")} if national else {},
        quintiles={q: (_rate(data, cur, code, "ips_quintile", q), _rate(data, cur, NATION, "ips_quintile", q))
                   for q in QUINTILES},
        quintile_se={q: (_se(data, cur, code, "ips_quintile", q), _se(data, cur, NATION, "ips_quintile", q))
                     for q in QUINTILES},
        quintile_states={q: _state(data, cur, code, "ips_quintile", q) for q in QUINTILES},
        trend_secret=[d for d in weeks.trend if _state(data, iso_period(d), code) == "secret"],
        academies=_academies(data) if national else [],
        data_gaps=sorted(gaps, key=lambda g: g["academie"]),
        ode_only=[{**s, "academie": data.academies.get(s["academie_code"], "")} for s in data.ode_only
                  if national or s["academie_code"] == code],
        operations=operations if national else None, levers=lever_section(data.levers, code),
        demo=data.demo, published_at=data.meta.get("published_at", ""),
        min_n=int(data.meta["min_n"]), min_k=int(data.meta["min_k"]),
        generated_at=generated_at,
    )


def build_reports(data: PublishedWeek, operations: Operations | None,
                  academies: list[str] | None = None) -> list[Report]:
    """The national report then one per académie (all of them unless ``academies`` lists codes)."""
    now = dt.datetime.now(PARIS)
    reports = [build_report(data, operations, NATION, "France", now)]
    for code, name in data.academies.items():
        if academies is None or code in academies:
            reports.append(build_report(data, operations, code, name, now))
    return reports


__all__ = ["FlaggedSchool", "Gap", "Headline", "Metric", "Report", "ServiceReach", "Sii", "build_report",
           "build_reports", "quintile_sii"]
