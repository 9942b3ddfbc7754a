"""The levers in the weekly reports, as the serving copy's ``levers_*`` tables give them (the publisher refitted
them on the published schools only; nothing here fits, hides or recomputes a figure).

- An académie report: the effect of one workshop in points (the académie's own event study when the serving
  copy has one, else the national one), the académie's effect à contexte comparable, its gap to France and the
  part composition explains, the scenario of ``SCENARIO_WORKSHOPS`` workshops (or the largest published
  below it) and the first ``TARGETS`` published schools of its ranking.
- The national report: the table of lever effects and the IPS Q5 − Q1 split.

Estimates are in points (13.2 = 13,2 pt), with 95 % intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NATION = "FR"
SCENARIO_WORKSHOPS = 5
TARGETS = 5
NATIONAL_EFFECTS = (("workshop", "did_event_study"), ("workshop", "context_glm"), ("teacher_training", "context_glm"),
                    ("household_equipment", "context_glm"), ("workshop", "naive"))


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    n_schools: int = 0

    @property
    def significant(self) -> bool:
        return not self.low <= 0.0 <= self.high


@dataclass(frozen=True)
class Scenario:
    workshops: int
    extra_active: float
    rate_before: float  # percent
    rate_after: float
    points: Estimate
    sii_before: Estimate | None  # None: the fit guards refused the académie's SII (``sii_refusal`` says why)
    sii_after: Estimate | None
    sii_change: Estimate | None
    sii_refusal: str | None = None


@dataclass(frozen=True)
class Target:
    rank: int
    name: str
    commune: str
    level: str
    loaded: int
    active_rate: float
    extra_active: Estimate


@dataclass
class PublishedLevers:
    """The ``levers_*`` tables of the serving copy (points scale)."""

    school_year: str | None = None
    schools_used: int = 0
    effects: dict[tuple[str, str, str], Estimate] = field(default_factory=dict)  # (lever, scope, method)
    academies: dict[str, Estimate] = field(default_factory=dict)
    gaps: dict[tuple[str, str, str], Estimate] = field(default_factory=dict)  # (gap, scope, component)
    scenarios: dict[str, list[Scenario]] = field(default_factory=dict)
    targets: dict[str, list[Target]] = field(default_factory=dict)


def _estimates(con, sql: str, keys: int = 1) -> dict:
    """{key: Estimate} from rows (key columns..., estimate, ci_low, ci_high, n_schools); one key column: its value."""
    return {(tuple(r[:keys]) if keys > 1 else r[0]): Estimate(*r[keys:]) for r in con.execute(sql).fetchall()}


def load_levers(con) -> PublishedLevers:
    """Read the levers tables of the serving copy open on ``con``."""
    fit = con.execute("SELECT school_year, schools_used FROM levers_fit").fetchall()
    if not fit:
        return PublishedLevers()
    scenarios: dict[str, list[Scenario]] = {}
    for code, k, extra, before, after, refusal, *figures in con.execute("""
            SELECT academie_code, workshops, extra_active, rate_before, rate_after, sii_refusal, points, points_ci_low,
                   points_ci_high, sii_before, sii_before_ci_low, sii_before_ci_high, sii_after, sii_after_ci_low,
                   sii_after_ci_high, sii_change, sii_change_ci_low, sii_change_ci_high
            FROM levers_scenarios ORDER BY academie_code, workshops""").fetchall():
        points, *sii = (Estimate(*figures[i:i + 3]) for i in range(0, 12, 3))
        scenarios.setdefault(code, []).append(Scenario(k, extra, before, after, points,
                                                       *([None] * 3 if refusal else sii), sii_refusal=refusal))
    targets: dict[str, list[Target]] = {}
    for code, rank, name, commune, level, loaded, rate, *extra in con.execute(f"""
            SELECT t.academie_code, t.rank, s.name, coalesce(s.commune_name, ''), s.level, t.loaded, t.active_rate,
                   t.extra_active, t.extra_active_low, t.extra_active_high
            FROM levers_targets t JOIN schools s USING (uai) WHERE t.rank <= {TARGETS}
            ORDER BY t.academie_code, t.rank""").fetchall():
        targets.setdefault(code, []).append(Target(rank, name, commune, level, loaded, rate, Estimate(*extra)))
    return PublishedLevers(
        school_year=fit[0][0], schools_used=fit[0][1],
        effects=_estimates(con, "SELECT lever, scope, method, estimate, ci_low, ci_high, n_schools FROM levers_effects "
                                "WHERE scale = 'points'", keys=3),
        academies=_estimates(con, "SELECT academie_code, estimate, ci_low, ci_high, n_schools "
                                  "FROM levers_academie_effects WHERE scale = 'points'"),
        gaps=_estimates(con, "SELECT gap, scope, component, estimate, ci_low, ci_high, n_schools "
                             "FROM levers_gap_decomposition", keys=3),
        scenarios=scenarios, targets=targets,
    )


@dataclass
class LeverSection:
    """What one report says of the levers (``school_year`` None: nothing published)."""

    school_year: str | None
    schools_used: int = 0
    workshop: Estimate | None = None
    workshop_own: bool = False  # the académie's own event study (else the national one)
    context: Estimate | None = None
    gap: Estimate | None = None
    explained: Estimate | None = None
    scenario: Scenario | None = None
    targets: list[Target] = field(default_factory=list)
    effects: list[tuple[str, str, Estimate]] = field(default_factory=list)  # national: (lever, method, estimate)
    q5_q1: dict[str, Estimate] = field(default_factory=dict)  # national: component → estimate

    @property
    def explained_share(self) -> float | None:
        """The part of the gap composition explains, when it lies between 0 and 1 (otherwise it reads as nothing)."""
        if self.gap is None or self.explained is None or self.gap.value == 0:
            return None
        share = self.explained.value / self.gap.value
        return share if 0 <= share <= 1 else None


def lever_section(levers: PublishedLevers, code: str) -> LeverSection:
    if levers.school_year is None:
        return LeverSection(None)
    section = LeverSection(levers.school_year, levers.schools_used)
    if code == NATION:
        section.effects = [(lever, method, levers.effects[(lever, NATION, method)]) for lever, method in NATIONAL_EFFECTS
                           if (lever, NATION, method) in levers.effects]
        section.q5_q1 = {c: e for (g, _, c), e in levers.gaps.items() if g == "ips_q5_q1"}
        return section
    own = levers.effects.get(("workshop", code, "did_event_study"))
    section.workshop = own or levers.effects.get(("workshop", NATION, "did_event_study"))
    section.workshop_own = own is not None
    section.context = levers.academies.get(code)
    section.gap = levers.gaps.get(("academie", code, "gap"))
    section.explained = levers.gaps.get(("academie", code, "explained"))
    scenarios = [s for s in levers.scenarios.get(code, []) if s.workshops <= SCENARIO_WORKSHOPS]
    section.scenario = scenarios[-1] if scenarios else None
    section.targets = levers.targets.get(code, [])
    return section
