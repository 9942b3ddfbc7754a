"""Small-cell suppression of the published figures ("secret statistique"), and an exact disclosure audit.

Vocabulary
----------
A **unit** is one school in one group (a group is period_type × period × profile, plus the service for
feature reach). A **cell** is an aggregate of units: France, an académie or a département, crossed with
a level (all / école / collège / lycée), a secteur (all / public / privé) and, for France and académies,
at most one breakdown (éducation prioritaire, rural/urbain, IPS quintile). Every attribute is completed
with ``inconnu`` so that the children of a cell always add up to it exactly.

Each unit or cell carries a size ``n`` (loaded accounts; active accounts for feature reach) and one or
more measures ``(n_m, k_m)``: (loaded, activated) and (loaded with a known active count, active) for
adoption, (active, users of the service) for feature reach. ``n_m = 0`` means "not measured".

The rule (docs/design.md, "Privacy rules")
-------------------------------------
1. **Primary suppression.** A figure passes when ``n >= 11`` and, for every measure it has,
   ``n_m >= 11``, ``k_m >= 3`` and ``n_m - k_m >= 3``. A unit or cell that fails is published with every
   count and rate NULL and ``suppressed = true`` (the dashboard reads "secret statistique"). A
   suppressed school has no count at all in the serving file (no n, no k, no shrunk rate, no funnel
   limits, which would give n away).

2. **Secondary suppression of schools** (families whose school figures are published). For every
   published cell, the schools it contains that are not published (its *remainder*, which anyone can
   compute as the cell total minus the published schools) must be either none, or **at least two
   schools whose pooled figure passes the rule**. When exactly one school of a département (or of any
   other published cell: académie, académie × level × secteur, académie × REP+, France × privé, ...)
   is suppressed, or when the pooled remainder fails, a **partner** school of that cell is suppressed
   too: the published school most like the suppressed one (same département, level, secteur, IPS
   quintile, éducation prioritaire, rural/urban class, in that order of priority), the smallest n
   among equals; and so on until the remainder passes. Picking the most similar school makes the
   partner fill the same cells as the suppressed school, so one partner usually serves them all.
   Breakdown cells (by EP, rural/urban, IPS quintile) and cells of at most ``SMALL_CELL_SCHOOLS``
   schools are suppressed themselves instead (their figure is nearly a school figure anyway, and a
   partner that differs on one attribute would start a cascade); so is a cell with no published
   school left.

3. **Complementary suppression of cells.** Cells are nested: a cell equals the sum of its children
   along each *partition* (level values; secteur values; the values of each breakdown; the académies
   of France; the départements of an académie). For every published cell and each of its partitions,
   the children that are not published must likewise be none, or at least two whose pooled figure
   passes; otherwise the smallest published child is suppressed, or the parent if none is left.
   A school figure that cannot be subtracted out of one cell therefore cannot be subtracted out of a
   sibling cell either (``académie − public = privé`` is blocked like ``département − écoles``).

   The complement is taken among the least important children first (a breakdown before a level ×
   secteur cell before a total; départements before académies before France). **Twins** (a child
   holding exactly its parent's schools, e.g. Paris and its only département, or an académie and its
   "EP inconnu" group) have the same figure, so they share one fate: suppressing one suppresses all,
   and a twin counts as important as its most important member.

Rules 2 and 3 are applied again and again until nothing changes (suppression only grows, so this ends).
Families whose school figures are not published (weekly figures, feature reach) apply rule 2 as
"a published cell holds at least two schools" (its remainder is the whole cell, which passes).

Feature reach cells are suppressed where the adoption cell with the same key is suppressed, and are
published without their denominator (active accounts), so they reveal no adoption count that the
rules hide.

4. **Audit.** Rules 2 and 3 are local (one cell and one partition at a time). ``audit_family`` checks the
   whole system exactly: with the published figures known, the unknown schools are grouped into
   *atoms* (schools that belong to exactly the same published cells, which no subtraction can tell
   apart), and an atom is recoverable by any linear combination of published figures iff its unit
   vector lies in the row space of the published cells × atoms matrix (leverage 1 in an SVD). A
   recoverable atom holding a primary-suppressed school is a disclosure unless it holds two schools or
   more whose pooled figure passes. The publisher runs the audit when the system is small enough
   (``max_atoms``) and, on a disclosure, suppresses a partner school next to the disclosed one (school-
   level families, first time) or else the least important published cell that contains it, then
   applies rules 2-3 again, until the audit passes. The tests audit the published file independently.

What is not checked exactly: pooled remainders of *several* atoms (e.g. the sum of two suppressed
schools recovered across three crossed partitions) are covered by rules 2-3 for each partition, not
by the exact audit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from pipelines.privacy import MIN_DENOMINATOR, publishable, publishable_sql

# A cell of at most this many schools whose remainder fails is suppressed rather than costing a school.
SMALL_CELL_SCHOOLS = 5

GEO_COLUMN = {"academie": "academie_code", "departement": "departement_code"}
BREAKDOWNS = ("education_prioritaire", "rural_urban", "ips_quintile")
ATTRIBUTES = ("academie_code", "departement_code", "level", "secteur", *BREAKDOWNS)
CELL_KEY = ("geo_level", "geo_code", "level", "secteur", "breakdown", "breakdown_value")


@dataclass(frozen=True)
class Family:
    """One set of units and the cells published from them.

    The units table ``<name>_units`` must hold: the group columns, ``uai``, the ATTRIBUTES (never NULL),
    ``size``, ``m<i>_n``/``m<i>_k`` for each measure, and the ``sums`` columns to aggregate into cells.
    """

    name: str
    group_cols: tuple[str, ...]
    geo_levels: tuple[str, ...] = ("nation", "academie", "departement")
    breakdowns: tuple[str, ...] = BREAKDOWNS
    units_published: bool = True
    measures: int = 1
    sums: tuple[str, ...] = ()
    # Breakdown cells are crossed with the level only (secteur = 'all'): crossing level × secteur ×
    # breakdown makes a lattice so dense that exact subtraction paths appear in sparse data.
    secteur_breakdowns: bool = False
    # Cells split by secteur at all (False: secteur is always 'all').
    by_secteur: bool = True
    # Geographic levels that get breakdown cells (départements never do).
    breakdown_geos: tuple[str, ...] = ("nation", "academie")
    # Breakdown cells crossed with the level (False: breakdowns for all levels together only).
    breakdown_levels: bool = True

    @property
    def units(self) -> str:
        return f"{self.name}_units"

    @property
    def cells(self) -> str:
        return f"{self.name}_cells"

    @property
    def edges(self) -> str:
        return f"{self.name}_edges"

    def measure_cols(self) -> list[str]:
        return [c for i in range(self.measures) for c in (f"m{i}_n", f"m{i}_k")]


def pass_sql(measures: int, prefix: str = "") -> str:
    """SQL predicate: the figure (size and measures, under ``prefix``) passes the primary rule."""
    parts = [f"{prefix}size >= {MIN_DENOMINATOR}"]
    for i in range(measures):
        n, k = f"{prefix}m{i}_n", f"{prefix}m{i}_k"
        parts.append(f"({n} = 0 OR {publishable_sql(n, k)})")
    return "(" + " AND ".join(parts) + ")"


def passes(size: float, measures: Iterable[tuple[float, float]]) -> bool:
    """Python twin of ``pass_sql``."""
    if size < MIN_DENOMINATOR:
        return False
    return all(n == 0 or publishable(n, k) for n, k in measures)


def cells_sql(family: Family, source: str, sum_cols: list[str], count_as: str = "schools") -> str:
    """SELECT of the family's cells over ``source``: the cell key (CELL_KEY plus ``academie_code``), the
    number of units (``count_as``) and the sums of ``sum_cols``.

    Aggregated in stages (one breakdown at a time at the finest geography, then the level/secteur
    totals, then the geographic roll-up): one GROUPING SETS query over every cell is ~20 times slower.
    """
    g = ", ".join(family.group_cols)
    base = "departement_code" if "departement" in family.geo_levels else "academie_code"
    base_cols = "academie_code, departement_code" if base == "departement_code" else "academie_code"
    sums = ", ".join(f"sum({c}) AS {c}" for c in sum_cols)
    resum = ", ".join([f"sum({count_as}) AS {count_as}", *(f"sum({c}) AS {c}" for c in sum_cols)])
    fine = [f"SELECT {g}, {base_cols}, level, secteur, 'all' AS breakdown, 'all' AS breakdown_value, "
            f"count(*) AS {count_as}, {sums} FROM {source} GROUP BY ALL"]
    fine += [f"SELECT {g}, {base_cols}, level, secteur, '{b}' AS breakdown, {b} AS breakdown_value, "
             f"count(*) AS {count_as}, {sums} FROM {source} GROUP BY ALL" for b in family.breakdowns]
    keys = f"{g}, {base_cols}"
    variants = [
        f"SELECT {keys}, level, 'all' AS secteur, breakdown, breakdown_value, {resum} FROM fine GROUP BY ALL",
        f"SELECT {keys}, 'all' AS level, 'all' AS secteur, breakdown, breakdown_value, {resum} FROM fine GROUP BY ALL",
    ]
    if family.by_secteur:
        variants += [
            f"SELECT {keys}, level, secteur, breakdown, breakdown_value, {count_as}, {', '.join(sum_cols)} FROM fine",
            f"SELECT {keys}, 'all' AS level, secteur, breakdown, breakdown_value, {resum} FROM fine GROUP BY ALL",
        ]
    totals = " UNION ALL ".join(variants)
    rest = "level, secteur, breakdown, breakdown_value"
    geo = []
    if "departement" in family.geo_levels:
        geo.append(f"SELECT {g}, 'departement' AS geo_level, departement_code AS geo_code, academie_code, {rest}, "
                   f"{count_as}, {', '.join(sum_cols)} FROM ls WHERE breakdown = 'all'")
    def only(level):
        return "" if level in family.breakdown_geos else "WHERE breakdown = 'all' "

    if "academie" in family.geo_levels:
        geo.append(f"SELECT {g}, 'academie' AS geo_level, academie_code AS geo_code, academie_code, {rest}, {resum} "
                   f"FROM ls {only('academie')}GROUP BY ALL")
    if "nation" in family.geo_levels:
        geo.append(f"SELECT {g}, 'nation' AS geo_level, 'FR' AS geo_code, NULL::VARCHAR AS academie_code, {rest}, "
                   f"{resum} FROM ls {only('nation')}GROUP BY ALL")
    if not family.secteur_breakdowns:
        totals = f"SELECT * FROM ({totals}) WHERE breakdown = 'all' OR secteur = 'all'"
    if not family.breakdown_levels:
        totals = f"SELECT * FROM ({totals}) WHERE breakdown = 'all' OR level = 'all'"
    return (f"WITH fine AS ({' UNION ALL '.join(fine)}),\n ls AS ({totals})\n"
            + " UNION ALL ".join(geo))


def build_cells(con, family: Family, members: bool = True) -> int:
    """Create ``<name>_cells`` (primary rule applied) and ``<name>_edges`` (the partitions) from the units,
    and ``<name>_members`` when ``members`` (rule 2 and the release audit read it; a family suppressed
    alone without school figures, such as feature reach, does not need it)."""
    sum_cols = ["size", *family.measure_cols(), *family.sums]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {family.cells} AS
        SELECT row_number() OVER (ORDER BY {', '.join((*family.group_cols, *CELL_KEY))}) AS cell_id, *,
               {pass_sql(family.measures)} AS primary_pass,
               {pass_sql(family.measures)} AS published
        FROM ({cells_sql(family, family.units, sum_cols)})
    """)
    g = " AND ".join(f"p.{c} = c.{c}" for c in family.group_cols)
    same = lambda *cols: " AND ".join(f"p.{c} = c.{c}" for c in cols)  # noqa: E731
    edges = [
        ("'level'", f"p.level = 'all' AND c.level <> 'all' AND {same('geo_level', 'geo_code', 'secteur', 'breakdown', 'breakdown_value')}"),
        ("'secteur'", f"p.secteur = 'all' AND c.secteur <> 'all' AND {same('geo_level', 'geo_code', 'level', 'breakdown', 'breakdown_value')}"),
        ("'bd:' || c.breakdown", f"p.breakdown = 'all' AND c.breakdown <> 'all' AND {same('geo_level', 'geo_code', 'level', 'secteur')}"),
        ("'geo'", f"p.geo_level = 'nation' AND c.geo_level = 'academie' AND {same('level', 'secteur', 'breakdown', 'breakdown_value')}"),
        ("'geo'", f"p.geo_level = 'academie' AND c.geo_level = 'departement' AND c.academie_code = p.geo_code "
                  f"AND {same('level', 'secteur', 'breakdown', 'breakdown_value')}"),
    ]
    union = "\nUNION ALL\n".join(
        f"SELECT p.cell_id AS parent_id, {part} AS part, c.cell_id AS child_id "
        f"FROM {family.cells} p JOIN {family.cells} c ON {g} AND {cond}"
        for part, cond in edges
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {family.edges} AS {union}")
    _build_twins(con, family)
    if members or family.units_published:
        _build_members(con, family)
    return con.execute(f"SELECT count(*) FROM {family.cells}").fetchall()[0][0]


def _build_twins(con, family: Family) -> None:
    """Twin classes: a child cell holding as many schools as its parent is the same set, hence the same
    figure (France × éducation prioritaire "inconnu" = France, Paris = its only département, ...).
    Twins must share their fate: ``cls`` numbers the class, ``cls_importance`` is the importance of its
    most important member (France > académie > département; totals > level/secteur > breakdowns), and
    complements are chosen among the least important classes first, so that suppressing a harmless-
    looking twin never silently suppresses an académie total."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {family.cells} AS
        SELECT *, cell_id AS cls,
            CASE geo_level WHEN 'nation' THEN 300 WHEN 'academie' THEN 200 ELSE 100 END
            + (breakdown = 'all')::INTEGER * 40 + (level = 'all')::INTEGER * 20 + (secteur = 'all')::INTEGER * 10
            AS importance
        FROM {family.cells}
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _twins AS
        SELECT e.parent_id, e.child_id FROM {family.edges} e
        JOIN {family.cells} p ON p.cell_id = e.parent_id JOIN {family.cells} c ON c.cell_id = e.child_id
        WHERE p.schools = c.schools
    """)
    while con.execute(f"""
        UPDATE {family.cells} SET cls = x.m FROM (
            SELECT id, min(cls) AS m FROM (
                SELECT t.child_id AS id, p.cls FROM _twins t JOIN {family.cells} p ON p.cell_id = t.parent_id
                UNION ALL
                SELECT t.parent_id AS id, c.cls FROM _twins t JOIN {family.cells} c ON c.cell_id = t.child_id
            ) GROUP BY id
        ) x WHERE {family.cells}.cell_id = x.id AND x.m < {family.cells}.cls
    """).fetchall()[0][0]:
        pass
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {family.cells} AS
        SELECT c.*, max(c.importance) OVER (PARTITION BY c.cls) AS cls_importance FROM {family.cells} c
    """)
    # Twins of a primary-failing cell fail too (same figures); make the initial state consistent anyway.
    _twin_rule(con, family)


def _twin_rule(con, family: Family) -> int:
    """A cell is published only if all its twins are."""
    return con.execute(f"""
        UPDATE {family.cells} SET published = false
        WHERE published AND cls IN (SELECT cls FROM {family.cells} WHERE NOT published)
    """).fetchall()[0][0]


def _member_patterns(family: Family) -> list[tuple[str, bool, bool, str]]:
    """(geo level, by level, by secteur, breakdown) of every kind of cell of the family."""
    patterns = []
    for geo in family.geo_levels:
        breakdowns = ["all", *family.breakdowns] if geo != "departement" and geo in family.breakdown_geos else ["all"]
        for by_level in (False, True):
            for by_secteur in ((False, True) if family.by_secteur else (False,)):
                for b in breakdowns:
                    if b != "all" and ((by_secteur and not family.secteur_breakdowns)
                                       or (by_level and not family.breakdown_levels)):
                        continue
                    patterns.append((geo, by_level, by_secteur, b))
    return patterns


def _memberships_sql(family: Family, source: str, key: str, cells: str) -> str:
    """SELECT (``key``, ``cell_id``): every cell of ``cells`` (the family's cells table or a subquery of it)
    holding each row of ``source`` (rows with the group columns and the attributes the cells look at).

    One plain equi-join per kind of cell (the cell's key columns against the unit's): a single join over
    a pattern × unit cross product with computed keys took 25 times longer at 43 k schools (same rows)."""
    g = " AND ".join(f"c.{c} = u.{c}" for c in family.group_cols)
    geo_of = {"nation": "'FR'", "academie": "u.academie_code", "departement": "u.departement_code"}
    parts = []
    for geo, by_level, by_secteur, b in _member_patterns(family):
        level = "c.level = u.level" if by_level else "c.level = 'all'"
        secteur = "c.secteur = u.secteur" if by_secteur else "c.secteur = 'all'"
        value = f"c.breakdown_value = u.{b}" if b != "all" else "c.breakdown_value = 'all'"
        parts.append(f"""
            SELECT u.{key}, c.cell_id FROM {source} u JOIN {cells} c
            ON {g} AND c.geo_code = {geo_of[geo]} AND {level} AND {secteur} AND {value}
            WHERE c.geo_level = '{geo}' AND c.breakdown = '{b}'""")
    return " UNION ALL ".join(parts)


def _build_members(con, family: Family) -> None:
    """``<name>_members(unit_id, cell_id)``: every cell each unit belongs to (school-level families)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {family.name}_members AS "
                f"{_memberships_sql(family, family.units, 'unit_id', family.cells)}")


def _unit_rule(con, family: Family) -> int:
    """Rule 2: secondary suppression of schools inside every published cell. Returns changes made."""
    if not family.units_published:
        # The remainder of a cell is the whole cell: it must hold two schools or more.
        changed = con.execute(
            f"UPDATE {family.cells} SET published = false WHERE published AND schools < 2"
        ).fetchall()[0][0]
        return changed
    members = f"{family.name}_members"
    sums = ", ".join(f"sum(u.{c}) AS {c}" for c in ["size", *family.measure_cols()])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _violations AS
        SELECT c.cell_id, c.breakdown, c.schools
        FROM {family.cells} c
        JOIN (SELECT m.cell_id, count(*) AS cnt, {sums}
              FROM {members} m JOIN {family.units} u USING (unit_id)
              WHERE NOT u.published GROUP BY m.cell_id) r USING (cell_id)
        WHERE c.published AND (r.cnt < 2 OR NOT {pass_sql(family.measures, 'r.')})
    """)
    if not con.execute("SELECT count(*) FROM _violations").fetchall()[0][0]:
        return 0
    # Breakdown cells and small cells are suppressed themselves rather than costing another school:
    # a partner school that differs from the suppressed one on some attribute would be alone in other
    # cells and start a cascade. Large geographic cells keep their figure and suppress a partner school.
    # Large cells first (their partner often fixes the small cells too); small ones on a later pass.
    small = f"breakdown <> 'all' OR schools <= {SMALL_CELL_SCHOOLS}"
    if not con.execute(f"SELECT count(*) FROM _violations WHERE NOT ({small})").fetchall()[0][0]:
        return con.execute(f"UPDATE {family.cells} SET published = false WHERE cell_id IN "
                           f"(SELECT cell_id FROM _violations)").fetchall()[0][0]
    con.execute(f"DELETE FROM _violations WHERE {small}")
    # The partner of a cell's remainder is the published school most like the remainder's first school
    # (same département, level, secteur, IPS quintile, ...; then the smallest): every violating cell
    # around one suppressed school then tends to pick the same partner, instead of one partner each.
    similarity = " + ".join(f"(p.{a} = c.{a})::INTEGER * {2 ** i}" for i, a in enumerate(reversed(
        ["departement_code", "level", "secteur", "ips_quintile", "education_prioritaire", "rural_urban"])))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _picks AS
        WITH mem AS (
            SELECT m.cell_id, u.* FROM _violations v JOIN {members} m USING (cell_id)
            JOIN {family.units} u USING (unit_id)
        ),
        culprit AS (
            SELECT * FROM mem WHERE NOT published
            QUALIFY row_number() OVER (PARTITION BY cell_id ORDER BY primary_pass, size, unit_id) = 1
        )
        SELECT p.cell_id, p.unit_id
        FROM mem p JOIN culprit c USING (cell_id)
        WHERE p.published
        QUALIFY row_number() OVER (PARTITION BY p.cell_id ORDER BY {similarity} DESC, p.size, p.unit_id) = 1
    """)
    units = con.execute(
        f"UPDATE {family.units} SET published = false WHERE unit_id IN (SELECT unit_id FROM _picks)"
    ).fetchall()[0][0]
    cells = con.execute(
        f"UPDATE {family.cells} SET published = false "
        f"WHERE cell_id IN (SELECT cell_id FROM _violations EXCEPT SELECT cell_id FROM _picks)"
    ).fetchall()[0][0]
    return units + cells


def _cell_rule(con, family: Family) -> int:
    """Rule 3: complementary suppression among the children of every partition of a published cell."""
    sums = ", ".join(f"sum(c.{col}) AS {col}" for col in ["size", *family.measure_cols()])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pviolations AS
        SELECT r.parent_id, r.part FROM (
            SELECT e.parent_id, e.part, count(*) AS cnt, {sums}
            FROM {family.edges} e JOIN {family.cells} c ON c.cell_id = e.child_id
            WHERE NOT c.published GROUP BY ALL
        ) r JOIN {family.cells} p ON p.cell_id = r.parent_id
        WHERE p.published AND (r.cnt < 2 OR NOT {pass_sql(family.measures, 'r.')})
    """)
    if not con.execute("SELECT count(*) FROM _pviolations").fetchall()[0][0]:
        return 0
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _ppicks AS
        SELECT v.parent_id, v.part, c.cell_id
        FROM _pviolations v JOIN {family.edges} e USING (parent_id, part)
        JOIN {family.cells} c ON c.cell_id = e.child_id
        WHERE c.published
        QUALIFY row_number() OVER (PARTITION BY v.parent_id, v.part ORDER BY c.cls_importance, c.size, c.cell_id) = 1
    """)
    children = con.execute(
        f"UPDATE {family.cells} SET published = false WHERE cell_id IN (SELECT cell_id FROM _ppicks)"
    ).fetchall()[0][0]
    parents = con.execute(f"""
        UPDATE {family.cells} SET published = false WHERE published AND cell_id IN (
            SELECT parent_id FROM (SELECT parent_id, part FROM _pviolations
                                   EXCEPT SELECT parent_id, part FROM _ppicks))
    """).fetchall()[0][0]
    return children + parents


@dataclass
class SuppressionReport:
    family: str
    units: int = 0
    units_primary: int = 0
    units_secondary: int = 0
    cells: int = 0
    cells_primary: int = 0
    cells_complementary: int = 0
    iterations: int = 0
    seconds: float = 0.0
    audit: str = "not run"
    audit_fixes: int = 0
    disclosures: list = field(default_factory=list)

    def as_metadata(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "disclosures"}


def apply_rules(con, family: Family, max_iterations: int = 200) -> int:
    """Apply rules 2 and 3 until nothing changes; return the number of iterations."""
    for iteration in range(1, max_iterations + 1):
        changed = _unit_rule(con, family) + _twin_rule(con, family)
        changed += _cell_rule(con, family) + _twin_rule(con, family)
        if not changed:
            return iteration
    raise RuntimeError(f"suppression of {family.name} did not settle in {max_iterations} iterations: nothing published")


def prepare_units(con, family: Family) -> None:
    """Number the units and apply the primary rule (``primary_pass``, initial ``published``)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {family.units} AS
        SELECT * EXCLUDE (unit_id, primary_pass, published),
               row_number() OVER (ORDER BY {', '.join(family.group_cols)}, uai) AS unit_id,
               {pass_sql(family.measures)} AS primary_pass,
               {pass_sql(family.measures) if family.units_published else 'false'} AS published
        FROM (SELECT *, NULL::BIGINT AS unit_id, NULL::BOOLEAN AS primary_pass, NULL::BOOLEAN AS published
              FROM {family.units})
    """)


def suppress(con, family: Family, *, pre_suppressed_cells: str | None = None,
             audit_max_atoms: int | None = 5000, max_fixes: int = 50, members: bool = True) -> SuppressionReport:
    """Primary, secondary and complementary suppression of a family, then the audit.

    The units table must exist; ``<name>_units.published`` and ``<name>_cells.published`` hold the outcome.
    ``pre_suppressed_cells``: a SQL predicate on the cells table of cells to suppress before rules 2-3
    (e.g. feature reach cells whose adoption cell is suppressed). ``members``: also build
    ``<name>_members`` (always for school-level families; others need it only to join a release audit).
    """
    started = time.perf_counter()
    prepare_units(con, family)
    build_cells(con, family, members=members)
    if pre_suppressed_cells:
        con.execute(f"UPDATE {family.cells} SET published = false WHERE published AND ({pre_suppressed_cells})")
    report = finish(con, family, audit_max_atoms=audit_max_atoms, max_fixes=max_fixes)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def finish(con, family: Family, *, audit_max_atoms: int | None = 5000, max_fixes: int = 200) -> SuppressionReport:
    """Rules 2-3 to a fixpoint, then the exact audit with fixes (cells may have been pre-suppressed).

    Groups are independent (no cell spans two groups), so after the first audit only the groups where
    a cell was suppressed are audited again.
    """
    report = SuppressionReport(family.name)
    report.iterations = apply_rules(con, family)
    groups = None
    skipped = False
    partnered: set[tuple] = set()
    for _ in range(max_fixes):
        disclosures, skipped_now = audit_family(con, family, max_atoms=audit_max_atoms, groups=groups)
        skipped |= skipped_now
        if not disclosures:
            report.audit = (f"passed; skipped for groups of more than {audit_max_atoms} unknown atoms"
                            if skipped else "passed")
            break
        report.disclosures += disclosures
        report.audit_fixes += len(disclosures)
        for d in disclosures:  # a partner school did not break it last time: suppress a cell instead
            key = (tuple(d["group"]), d["uai"])
            if key in partnered:
                d["fix_small_cell"] = True
            partnered.add(key)
        _fix(con, family, disclosures)
        report.iterations += apply_rules(con, family)
        groups = {d["group"] for d in disclosures}
    else:
        raise RuntimeError(f"{family.name}: disclosure audit still failing after {max_fixes} rounds: nothing published")
    (report.units, report.units_primary, published_units) = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT primary_pass), count(*) FILTER (WHERE published) FROM {family.units}"
    ).fetchall()[0]
    if family.units_published:
        report.units_secondary = report.units - report.units_primary - published_units
    report.cells, report.cells_primary, published_cells = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT primary_pass), count(*) FILTER (WHERE published) FROM {family.cells}"
    ).fetchall()[0]
    report.cells_complementary = report.cells - report.cells_primary - published_cells
    return report


def _fix(con, family: Family, disclosures: list[dict]) -> None:
    """Break each disclosure found by the audit.

    When the smallest published cell holding the disclosed school is a breakdown cell or a small cell,
    suppress that cell. Otherwise, where school figures are published, suppress one more school next
    to the disclosed one (same département, level and secteur if possible; smallest n): the new unknown
    enters every cell the disclosed school is in, which breaks all subtraction paths at once; failing
    that (or for families without school figures) suppress the smallest published cell holding it.
    """
    cell_fixes = {d["fix_cell_id"] for d in disclosures}
    partner_wanted = [d for d in disclosures if not d["fix_small_cell"]]
    if family.units_published and partner_wanted:
        cell_fixes = {d["fix_cell_id"] for d in disclosures if d["fix_small_cell"]}
        ng = len(family.group_cols)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _disclosed AS SELECT * FROM {family.units} LIMIT 0")
        con.execute("CREATE OR REPLACE TEMP TABLE _disclosed_keys (k VARCHAR[])")
        con.executemany("INSERT INTO _disclosed_keys VALUES (?)",
                        [[[*map(str, d["group"]), d["uai"]]] for d in partner_wanted])
        g = " AND ".join(f"t.{c} = u.{c}" for c in family.group_cols)
        key = ", ".join(f"t.{c}" for c in family.group_cols)
        picks = con.execute(f"""
            SELECT t.uai, {key}, u.unit_id
            FROM {family.units} t
            JOIN _disclosed_keys d ON d.k = [{', '.join(f't.{c}::VARCHAR' for c in family.group_cols)}, t.uai]
            JOIN {family.units} u ON {g} AND u.published AND u.academie_code = t.academie_code
            QUALIFY row_number() OVER (PARTITION BY {key}, t.uai ORDER BY
                (u.departement_code = t.departement_code) DESC, (u.level = t.level) DESC,
                (u.secteur = t.secteur) DESC, u.size, u.unit_id) = 1
        """).fetchall()
        fixed = {(tuple(row[1:1 + ng]), row[0]) for row in picks}
        if picks:
            con.execute(f"UPDATE {family.units} SET published = false WHERE unit_id IN (SELECT unnest(?::BIGINT[]))",
                        [[row[-1] for row in picks]])
        cell_fixes |= {d["fix_cell_id"] for d in partner_wanted if (tuple(d["group"]), d["uai"]) not in fixed}
    if cell_fixes:
        con.execute(f"UPDATE {family.cells} SET published = false WHERE cell_id IN (SELECT unnest(?::BIGINT[]))",
                    [sorted(cell_fixes)])


# --- exact audit --------------------------------------------------------------------------------------


def _rank(s: np.ndarray, shape: tuple) -> int:
    """Numerical rank from singular values; the scale is at least 1 (the matrices hold 0/1 memberships, or
    products of them with orthonormal bases: a product that is zero up to rounding has rank 0)."""
    return int((s > max(s.max(), 1.0) * max(shape) * np.finfo(float).eps * 10).sum()) if s.size else 0


def _positions(group: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For items labelled ``group`` (0..size-1): the items sorted by group (stable), the start of each
    group in that order (size + 1 bounds) and each item's rank inside its group."""
    order = np.argsort(group, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=size))])
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - starts[group[order]]
    return order, starts, rank


def recoverable_columns(matrix: np.ndarray, tol: float = 1e-8, coupling: np.ndarray | None = None) -> np.ndarray:
    """Boolean per column j: is the unit vector e_j in the row space of ``matrix``?

    e_j is in the row space iff every null vector x of the matrix has x_j = 0, i.e. iff row j of an
    orthonormal basis of the null space is zero. ``coupling`` (boolean per row, e.g. the national cells)
    marks the few rows that tie otherwise separate pieces together: the other rows split the columns into
    connected components (académies), whose null spaces Z_c are cheap; the null space of the whole is
    {Z c : W c = 0} with W = [N Z_1, N Z_2, …] (N the coupling rows), so the squared norm of row j of its
    orthonormal basis is |z_j|² − |z_j V_c|², V the right singular vectors of W's row space. One small SVD
    per component and one of W, instead of a dense SVD of the whole matrix (a national group of 5,000
    atoms: minutes). Each component's dense block (its rows with an entry, its columns, both in matrix
    order) and its coupling block are filled straight from the matrix entries sorted by component: slicing
    the sparse matrix once per component cost more than the SVDs."""
    n = matrix.shape[1]
    if matrix.shape[0] == 0 or n == 0:
        return np.zeros(n, dtype=bool)
    if coupling is None or not coupling.any() or coupling.all():
        dense = matrix.toarray() if sparse.issparse(matrix) else np.asarray(matrix)
        _, s, vt = np.linalg.svd(dense, full_matrices=False)
        leverage = (vt[:_rank(s, dense.shape)] ** 2).sum(axis=0)
        return leverage > 1 - tol
    coupling = np.asarray(coupling, dtype=bool)
    entries = sparse.csr_matrix(matrix, dtype=float).tocoo()  # duplicates summed
    entries.eliminate_zeros()
    r, c, v = entries.row.astype(np.int64), entries.col.astype(np.int64), entries.data
    m, k = int((~coupling).sum()), int(coupling.sum())
    row_pos = np.empty(len(coupling), dtype=np.int64)  # a row's index among the local / coupling rows
    row_pos[~coupling], row_pos[coupling] = np.arange(m), np.arange(k)
    tied = coupling[r]
    lr, lc, lv = row_pos[r[~tied]], c[~tied], v[~tied]
    tr, tc, tv = row_pos[r[tied]], c[tied], v[tied]
    graph = sparse.coo_matrix((np.ones(len(lr)), (lr, m + lc)), shape=(m + n, m + n))
    _, label = connected_components(graph, directed=False)
    _, comp = np.unique(label[m:], return_inverse=True)  # the columns' components, in label order
    comp = comp.astype(np.int64)
    n_comp = int(comp.max()) + 1
    col_order, col_starts, col_rank = _positions(comp, n_comp)
    # Every local row with an entry lies in one component (its entries connect its columns).
    row_comp = np.full(m, -1, dtype=np.int64)
    row_comp[lr] = comp[lc]
    with_entries = np.flatnonzero(row_comp >= 0)
    row_rank = np.zeros(m, dtype=np.int64)
    _, row_starts, row_rank[with_entries] = _positions(row_comp[with_entries], n_comp)
    n_rows = np.diff(row_starts)
    local_order, local_starts, _ = _positions(comp[lc], n_comp)
    li, lj, lv = row_rank[lr][local_order], col_rank[lc][local_order], lv[local_order]
    tie_order, tie_starts, _ = _positions(comp[tc], n_comp)
    ti, tj, tv = tr[tie_order], col_rank[tc][tie_order], tv[tie_order]
    bases, pieces = [], []
    for i in range(n_comp):
        width = col_starts[i + 1] - col_starts[i]
        lo, hi = local_starts[i], local_starts[i + 1]
        if n_rows[i]:
            sub = np.zeros((n_rows[i], width))
            sub[li[lo:hi], lj[lo:hi]] = lv[lo:hi]
            _, s, vt = np.linalg.svd(sub, full_matrices=True)
            z = vt[_rank(s, sub.shape):].T  # orthonormal basis of the component's null space
        else:
            z = np.eye(width)
        lo, hi = tie_starts[i], tie_starts[i + 1]
        block = np.zeros((k, width))
        block[ti[lo:hi], tj[lo:hi]] = tv[lo:hi]
        bases.append(z)
        pieces.append(block @ z)
    w = np.hstack(pieces)
    null_norm = np.zeros(n)
    if w.size:
        _, s, vt = np.linalg.svd(w, full_matrices=False)
        v = vt[:_rank(s, w.shape)].T
    else:
        v = np.zeros((w.shape[1], 0))
    start = 0
    for i, z in enumerate(bases):
        d = z.shape[1]
        if d:
            idx = col_order[col_starts[i]:col_starts[i + 1]]
            null_norm[idx] = (z ** 2).sum(axis=1) - ((z @ v[start:start + d]) ** 2).sum(axis=1)
        start += d
    return null_norm < tol


def _relevant_attributes(family: Family) -> list[str]:
    cols = [GEO_COLUMN[g] for g in family.geo_levels if g in GEO_COLUMN]
    return [*cols, "level", *(("secteur",) if family.by_secteur else ()), *family.breakdowns]


def audit_family(con, family: Family, max_atoms: int | None = 5000, groups: set[tuple] | None = None):
    """Exact disclosure audit of every group of the family (or only ``groups``: values of the group columns).

    Set-based up to the linear algebra. The hidden units are pooled into pieces (same group, same
    attributes the cells look at); a piece's *signature* is the sorted list of the published cells holding
    it (one equi-join per kind of cell, as ``<name>_members``); the pieces of one signature form an atom,
    whose pooled figure says whether recovering it reveals anything the rule hides (harmless: every school
    in it passes, or it holds two schools or more whose pooled figure passes). A group with a sensitive
    atom gets its published cells × atoms 0/1 matrix tested by ``recoverable_columns`` (the national cells
    as coupling rows), unless it has more than ``max_atoms`` atoms.

    Returns (disclosures, skipped): one dict per recoverable sensitive atom (``group``, ``uai`` its smallest
    school, ``units``, ``fix_cell_id`` the least important published cell holding it, ``fix_small_cell``),
    and whether some group was too large to audit.
    """
    g = ", ".join(family.group_cols)
    attrs = ", ".join(_relevant_attributes(family))
    measures = ["size", *family.measure_cols()]
    ng = len(family.group_cols)
    only = ""
    if groups is not None:
        if not groups:
            return [], False
        con.execute(f"CREATE OR REPLACE TEMP TABLE _audit_groups AS SELECT DISTINCT {g} FROM {family.units} LIMIT 0")
        con.executemany(f"INSERT INTO _audit_groups VALUES ({', '.join(['?'] * ng)})", [list(k) for k in groups])
        only = f"SEMI JOIN _audit_groups USING ({g})"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _audit_pieces AS
        SELECT *, row_number() OVER () AS piece_id FROM (
            SELECT {g}, {attrs}, count(*) AS n_units, min(uai) AS uai,
                   {', '.join(f'sum({c}) AS {c}' for c in measures)},
                   bool_and(coalesce(primary_pass, false)) AS all_pass
            FROM {family.units} {only} WHERE NOT published GROUP BY ALL)
    """)
    published = f"(SELECT * FROM {family.cells} WHERE published)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _audit_atoms AS
        WITH m AS ({_memberships_sql(family, '_audit_pieces', 'piece_id', published)}),
        sig AS (SELECT piece_id, list(cell_id ORDER BY cell_id) AS sig FROM m GROUP BY piece_id),
        atoms AS (
            SELECT {', '.join(f'p.{c}' for c in family.group_cols)}, coalesce(s.sig, []::BIGINT[]) AS sig,
                   sum(p.n_units) AS n_units, min(p.uai) AS uai, {', '.join(f'sum(p.{c}) AS {c}' for c in measures)},
                   bool_and(p.all_pass) AS all_pass
            FROM _audit_pieces p LEFT JOIN sig s USING (piece_id) GROUP BY ALL)
        SELECT *, NOT (all_pass OR (n_units >= 2 AND coalesce({pass_sql(family.measures)}, false))) AS sensitive
        FROM atoms
    """)
    too_many = "false" if max_atoms is None else f"atoms > {int(max_atoms)}"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _audit_solve AS
        SELECT {g}, row_number() OVER (ORDER BY {g}) - 1 AS group_idx, atoms FROM (
            SELECT {g}, count(*) AS atoms FROM _audit_atoms GROUP BY ALL HAVING bool_or(sensitive))
        WHERE NOT ({too_many})
    """)
    skipped = con.execute(f"""
        SELECT count(*) FROM (SELECT count(*) AS atoms FROM _audit_atoms GROUP BY {g} HAVING bool_or(sensitive))
        WHERE {too_many}
    """).fetchall()[0][0] > 0
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _audit_cols AS
        SELECT s.group_idx, row_number() OVER (PARTITION BY s.group_idx ORDER BY a.sig) - 1 AS col,
               a.sig, a.sensitive, a.uai, a.n_units
        FROM _audit_atoms a JOIN _audit_solve s USING ({g})
    """)
    sizes = con.sql("SELECT atoms FROM _audit_solve ORDER BY group_idx").fetchnumpy()["atoms"]
    if not len(sizes):
        return [], skipped
    cols = con.sql("SELECT group_idx, sensitive FROM _audit_cols ORDER BY group_idx, col").fetchnumpy()
    entries = con.sql(f"""
        SELECT e.group_idx, e.col, e.cell_id, c.geo_level = 'nation' AS nation
        FROM (SELECT group_idx, col, unnest(sig) AS cell_id FROM _audit_cols) e JOIN {family.cells} c USING (cell_id)
        ORDER BY e.group_idx, e.col, e.cell_id
    """).fetchnumpy()
    group_idx, col = entries["group_idx"].astype(np.int64), entries["col"].astype(np.int64)
    cell_id, nation = entries["cell_id"].astype(np.int64), entries["nation"].astype(bool)
    bounds = np.searchsorted(group_idx, np.arange(len(sizes) + 1))
    col_bounds = np.searchsorted(cols["group_idx"].astype(np.int64), np.arange(len(sizes) + 1))
    sensitive = cols["sensitive"].astype(bool)
    hit_groups, hit_cols = [], []
    for i, n_atoms in enumerate(sizes.astype(np.int64)):
        lo, hi = bounds[i], bounds[i + 1]
        rows, row = np.unique(cell_id[lo:hi], return_inverse=True)
        coupling = np.zeros(len(rows), dtype=bool)
        coupling[row] = nation[lo:hi]
        matrix = sparse.csr_matrix((np.ones(hi - lo), (row, col[lo:hi])), shape=(len(rows), n_atoms))
        found = np.flatnonzero(recoverable_columns(matrix, coupling=coupling)
                               & sensitive[col_bounds[i]:col_bounds[i + 1]])
        hit_groups += [i] * len(found)
        hit_cols += found.tolist()
    if not hit_cols:
        return [], skipped
    picks = con.execute(f"""
        WITH h AS (SELECT unnest(?::BIGINT[]) AS group_idx, unnest(?::BIGINT[]) AS col),
        e AS (SELECT a.group_idx, a.col, a.uai, a.n_units, unnest(a.sig) AS cell_id
              FROM _audit_cols a SEMI JOIN h USING (group_idx, col))
        SELECT {', '.join(f's.{c}' for c in family.group_cols)}, e.uai, e.n_units, c.cell_id, c.breakdown, c.schools
        FROM e JOIN {family.cells} c USING (cell_id) JOIN _audit_solve s USING (group_idx)
        QUALIFY row_number() OVER (PARTITION BY e.group_idx, e.col ORDER BY c.cls_importance, c.size, c.cell_id) = 1
        ORDER BY e.group_idx, e.col
    """, [hit_groups, hit_cols]).fetchall()
    disclosures = [{"uai": uai, "units": units, "fix_cell_id": cell,
                    "fix_small_cell": breakdown != "all" or schools <= SMALL_CELL_SCHOOLS, "group": tuple(key)}
                   for *key, uai, units, cell, breakdown, schools in picks]
    return disclosures, skipped
