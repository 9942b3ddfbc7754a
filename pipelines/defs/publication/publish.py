"""Build the serving file from the warehouse: suppressed, pre-aggregated, small, swapped atomically.

``publish_serving(con, target)`` runs on a connection to the warehouse (the Dagster asset passes its
``DuckDBResource`` connection). Work tables are TEMP tables of that connection (nothing is written to
the warehouse); the result is written into a new DuckDB file beside the target, checkpointed, fsynced,
made read-only and moved over the target with ``os.replace``: a reader that opened the old file keeps
reading it, a reader that opens the path afterwards gets the new one, and nobody sees half a file.

Published tables (all figures of a suppressed unit or cell are NULL, ``suppressed = true``):

=================  ==================================================================================
``meta``           key/value: published_at, schema_version, synthetic, suppression report, audit
``periods``        periods that hold data (week, month, trimester, school_year)
``academies``      code, name, holiday zone; ``departements`` code, name, académie
``schools``        public reference data of the schools that have figures (name, commune, IPS, ...);
                   ``school_ips_quintiles`` their national IPS quintile for each profile
``adoption_cells`` France / académie / département × level × secteur, and académie × level × one
                   breakdown (EP, rural/urban, IPS quintile), × period × profile: loaded, activated,
                   active, rates, visits, breadth, mobile share, and the standard errors of the
                   activation rate, active rate, mobile share and visits per active account with the
                   school as the unit (``*_se``, ``derived.py``; staff profiles: the rounded-up cluster
                   margin / 1.96 of the three rates, no visits se). Staff profiles: no breakdown.
                   Weeks: France and académies × level × secteur, and × one breakdown (all levels).
``school_adoption`` one school × month / trimester / school year × profile (parents, élèves): the
                   same figures, plus the shrunk rate, expected rate and funnel limits fitted on the
                   published schools (``derived.py``)
``reach_cells``    feature reach per service: France / académie × level, and × IPS quintile (all
                   levels), without its denominator; ``reach_margin``, the 95 % half-width with the
                   school as the unit rounded up to a class (``derived.cluster_margins``)
``equity``         SII, RII, Q5 − Q1, Theil (France / académie × level) of the published schools, with
                   their 95 % intervals (Theil: bootstrap over the published schools)
``ips_fit``        weighted least-squares line of the active rate on IPS over the published schools, and
                   the 95 % interval of its slope (``slope_low``, ``slope_high``)
``data_gaps``      probable data-gap school-weeks counted per académie and week
``holidays``       school holidays per académie (zone calendar)
``geo_shapes``     simplified GeoJSON of académies and départements
``levers_*``       the levers (workshop effect, context, gap split, where to act) refitted on the
                   published schools only (``levers.py``)
=================  ==================================================================================

What is published is decided by ``pipelines.disclosure.release.clear_release`` over the adoption families
together (docs/disclosure_control.md); feature reach follows the adoption cells.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from scipy import stats

from pipelines.defs.equity.checks import SUMMARY_RULES
from pipelines.defs.ingest.pseudonymize import is_demo_fingerprint
from pipelines.defs.publication.derived import (
    RATE_SE,
    published_equity,
    published_flags,
    published_school_rates,
    write_cell_mean_se,
    write_cell_rate_se,
    write_cluster_margins,
)
from pipelines.defs.publication.geo import boundary_rows
from pipelines.defs.publication.levers import publish_levers
from pipelines.defs.reference.school_calendar import ZONE_OF_ACADEMIE, school_holidays
from pipelines.disclosure.cell_suppression import Family, SuppressionReport, suppress
from pipelines.disclosure.release import EXACT_AUDIT_MAX_ATOMS, GROUP_COLS, clear_release
from pipelines.file_modes import private_folder, restrict
from pipelines.fr_format import Z95
from pipelines.paths import reference_dir
from pipelines.privacy import MIN_CELL, MIN_DENOMINATOR, PROTECTION_MIN, PROTECTION_SHARE
from pipelines.quality.violations import violations
from pipelines.serving_file import SCHEMA_VERSION

GROUP = GROUP_COLS
ADOPTION_SUMS = ("ev_sessions", "ev_active", "mobile_sessions", "services_used")

# School figures are published for the family profiles only: staff counts per school are mostly below
# the threshold (a median école has ~9 teachers), so their school level would be almost all "secret"
# and would only force suppressions elsewhere; staff figures are published for cells.
SCHOOL_LEVEL_PROFILES = ("parent", "eleve")
# Breakdown cells (EP, rural/urban, IPS quintile) are published by académie only: the pages compare an
# académie's groups with France's total, and France × breakdown cells would add cross-académie paths.
ADOPTION = Family("adoption", GROUP, measures=3, sums=ADOPTION_SUMS, breakdown_geos=("academie",))
ADOPTION_STAFF = Family("adoption_staff", GROUP, breakdowns=(), units_published=False, measures=3,
                        sums=ADOPTION_SUMS)
# Weeks: France and académies × level × secteur; for parents also × one breakdown for all levels (the
# weekly reports compare parent groups); never school figures.
ADOPTION_WEEK = Family("adoption_week", GROUP, geo_levels=("nation", "academie"), units_published=False,
                       measures=3, sums=ADOPTION_SUMS, breakdown_levels=False)
ADOPTION_WEEK_OTHER = Family("adoption_week_other", GROUP, geo_levels=("nation", "academie"), breakdowns=(),
                             units_published=False, measures=3, sums=ADOPTION_SUMS)
REACH = Family("reach", (*GROUP, "service"), geo_levels=("nation", "academie"), breakdowns=("ips_quintile",),
               units_published=False, measures=1, sums=("users",), by_secteur=False, breakdown_levels=False)

SUPPRESSION_RULE = (
    f"Un taux n'est publié que si n ≥ {MIN_DENOMINATOR} comptes et si k ≥ {MIN_CELL} et n − k ≥ {MIN_CELL} ; sinon « secret "
    "statistique ». Secret secondaire : dans toute case publiée, les établissements non publiés sont soit "
    "aucun, soit au moins deux dont le total passe la règle ; de même entre cases agrégées. Audit de toute la "
    f"publication : chaque effectif masqué garde un intervalle de valeurs possibles d'au moins {PROTECTION_MIN} "
    f"comptes et {round(PROTECTION_SHARE * 100)} % de l'effectif."
)


@dataclass
class PublishSummary:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    reports: list[SuppressionReport] = field(default_factory=list)
    missing_inputs: list[str] = field(default_factory=list)
    audit: object = None
    seconds: float = 0.0

    def metadata(self) -> dict:
        out = {f"rows_{t}": n for t, n in self.tables.items()}
        for r in self.reports:
            for k, v in r.as_metadata().items():
                if k != "family":
                    out[f"{r.family}_{k}"] = v
        if self.audit is not None:
            out.update({f"release_audit_{k}": v for k, v in self.audit.as_metadata().items()})
        out["missing_inputs"] = ", ".join(self.missing_inputs) or "none"
        out["seconds"] = round(self.seconds, 1)
        return out


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary"
    ).fetchall()} | {r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall()}


def _attributes(quintiles: bool) -> str:
    quintile = "coalesce(q.ips_quintile::VARCHAR, 'inconnu')" if quintiles else "'inconnu'"
    return f"""s.academie_code, coalesce(s.departement_code, 'inconnu') AS departement_code,
        coalesce(s.level, 'inconnu') AS level, coalesce(s.secteur, 'inconnu') AS secteur,
        coalesce(s.education_prioritaire, 'inconnu') AS education_prioritaire,
        coalesce(s.rural_urban, 'inconnu') AS rural_urban, {quintile} AS ips_quintile"""


def _stage_adoption(con, family: Family, quintiles: bool) -> None:
    name = family.units
    profiles = ", ".join(f"'{p}'" for p in SCHOOL_LEVEL_PROFILES)
    where = {ADOPTION.name: f"a.period_type <> 'week' AND a.profile::VARCHAR IN ({profiles})",
             ADOPTION_STAFF.name: f"a.period_type <> 'week' AND a.profile::VARCHAR NOT IN ({profiles})",
             ADOPTION_WEEK.name: "a.period_type = 'week' AND a.profile::VARCHAR = 'parent'",
             ADOPTION_WEEK_OTHER.name: "a.period_type = 'week' AND a.profile::VARCHAR <> 'parent'"}[family.name]
    join_q = "LEFT JOIN school_ips_quintiles q ON q.uai = a.uai AND q.profile = a.profile::VARCHAR" if quintiles else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT a.period_type, a.period, p.period_start, p.period_end, a.profile::VARCHAR AS profile, a.uai,
            {_attributes(quintiles)}, a.source = 'events' AS from_events,
            coalesce(a.loaded, 0) AS size,
            CASE WHEN a.activated IS NOT NULL THEN coalesce(a.loaded, 0) ELSE 0 END AS m0_n,
            coalesce(a.activated, 0) AS m0_k,
            CASE WHEN a.active IS NOT NULL THEN coalesce(a.loaded, 0) ELSE 0 END AS m1_n,
            coalesce(a.active, 0) AS m1_k,
            -- sessions and mobile sessions: the mobile share follows the rule too
            CASE WHEN a.source = 'events' THEN coalesce(a.sessions, 0) ELSE 0 END AS m2_n,
            CASE WHEN a.source = 'events' THEN coalesce(a.mobile_sessions, 0) ELSE 0 END AS m2_k,
            CASE WHEN a.source = 'events' THEN coalesce(a.sessions, 0) ELSE 0 END AS ev_sessions,
            CASE WHEN a.source = 'events' THEN coalesce(a.active, 0) ELSE 0 END AS ev_active,
            coalesce(a.mobile_sessions, 0) AS mobile_sessions,
            coalesce(a.services_used, 0) AS services_used
        FROM adoption_school a JOIN schools s USING (uai) {join_q}
        JOIN periods p ON p.period_type = a.period_type AND p.period = a.period
        WHERE {where}
    """)


def _stage_reach(con, quintiles: bool) -> None:
    join_q = "LEFT JOIN school_ips_quintiles q ON q.uai = f.uai AND q.profile = f.profile::VARCHAR" if quintiles else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {REACH.units} AS
        SELECT f.period_type, f.period, p.period_start, p.period_end, f.profile::VARCHAR AS profile,
            f.service::VARCHAR AS service, f.uai, {_attributes(quintiles)},
            coalesce(f.active, 0) AS size, coalesce(f.active, 0) AS m0_n, coalesce(f.users, 0) AS m0_k,
            coalesce(f.users, 0) AS users
        FROM feature_reach_school f JOIN schools s USING (uai) {join_q}
        JOIN periods p ON p.period_type = f.period_type AND p.period = f.period
        WHERE f.period_type <> 'week' OR f.profile::VARCHAR = 'parent'
    """)


CELL_FIGURES = """
    schools, NOT published AS suppressed,
    CASE WHEN published THEN size END AS loaded,
    CASE WHEN published AND m0_n > 0 THEN m0_k END AS activated,
    CASE WHEN published AND m1_n > 0 THEN m1_k END AS active,
    CASE WHEN published AND m0_n > 0 THEN m0_k / m0_n END AS activation_rate,
    CASE WHEN published AND m1_n > 0 THEN m1_k / m1_n END AS active_rate,
    CASE WHEN published AND ev_active > 0 THEN ev_sessions / ev_active END AS visits_per_active,
    CASE WHEN published AND ev_active > 0 THEN services_used / ev_active END AS breadth,
    CASE WHEN published AND ev_sessions > 0 THEN mobile_sessions / ev_sessions END AS mobile_share,
    CASE WHEN published THEN ev_sessions END AS sessions"""

CELL_COLUMNS = ("period_type, period, profile, geo_level, geo_code, academie_code, level, secteur, breakdown, "
                "breakdown_value")

_KEY = "concat_ws('|', period_type, period, profile, geo_level, geo_code, level, secteur, breakdown, breakdown_value)"

FLAG_COLUMNS = ("shrunk_rate", "shrunk_low", "shrunk_high", "observed_minus_expected", "funnel_z", "funnel_q",
                "funnel_flag", "funnel_low95", "funnel_high95", "funnel_low998", "funnel_high998", "funnel_target")


def _write_school_adoption(con, flags: pd.DataFrame) -> None:
    """School rows; shrunk / expected rates and funnel positions fitted on the published schools only."""
    con.register("_published_flags", flags)
    flag_cols = ",\n".join(f"f.{c}" for c in ("expected_rate", *FLAG_COLUMNS))
    con.execute(f"""
        CREATE TABLE srv.school_adoption AS
        SELECT u.period_type, u.period, u.profile, u.uai, u.academie_code, u.departement_code, u.level, u.secteur,
            NOT u.published AS suppressed,
            a.source, a.missing_reason,
            CASE WHEN u.published THEN a.loaded END AS loaded,
            CASE WHEN u.published THEN a.activated END AS activated,
            CASE WHEN u.published THEN a.active END AS active,
            CASE WHEN u.published THEN a.activation_rate END AS activation_rate,
            CASE WHEN u.published THEN a.active_rate END AS active_rate,
            CASE WHEN u.published THEN a.visits_per_active END AS visits_per_active,
            CASE WHEN u.published THEN a.breadth END AS breadth,
            CASE WHEN u.published THEN a.mobile_share END AS mobile_share,
            {flag_cols}
        FROM {ADOPTION.units} u
        JOIN adoption_school a ON a.period_type = u.period_type AND a.period = u.period
             AND a.profile::VARCHAR = u.profile AND a.uai = u.uai
        LEFT JOIN _published_flags f ON f.period_type = u.period_type AND f.period = u.period
             AND f.profile = u.profile AND f.uai = u.uai AND u.published
        ORDER BY u.period_type, u.period, u.profile, u.academie_code, u.uai
    """)
    con.unregister("_published_flags")


def _write_equity(con, equity: pd.DataFrame) -> None:
    """Equity measures of the published schools (France / académie × level)."""
    con.execute("""
        CREATE TABLE srv.equity (period_type VARCHAR, period VARCHAR, profile VARCHAR, scope VARCHAR,
            scope_code VARCHAR, academie_code VARCHAR, level VARCHAR, measure VARCHAR, value DOUBLE,
            ci_low DOUBLE, ci_high DOUBLE, n_schools BIGINT, suppressed BOOLEAN)
    """)
    if equity.empty:
        return
    con.register("_published_equity", equity)
    # The equity checks' rules, before anything is swapped in: an out-of-range SII / RII fails the release.
    if broken := {rule: n for rule, n in violations(con, "_published_equity", SUMMARY_RULES).items() if n}:
        con.unregister("_published_equity")
        raise RuntimeError(f"cannot publish: equity figures out of range ({broken})")
    con.execute("""
        INSERT INTO srv.equity
        SELECT period_type, period, profile, scope, scope_code, CASE WHEN scope = 'academie' THEN scope_code END,
            level, measure, value, ci_low, ci_high, n_schools, false
        FROM _published_equity WHERE scope IN ('nation', 'academie')
        ORDER BY ALL
    """)
    con.unregister("_published_equity")


def _write_ips_fit(con) -> None:
    """Weighted (loaded accounts) least squares of the active rate on IPS, over published schools only, with
    the 95 % interval of the slope: ``se = sqrt(sum w e^2 / (S - 2) / sum w (x - mean x)^2)`` (the WLS
    standard error, the schools as the units, the residual scale estimated), ``t(0.975, S - 2)`` quantile."""
    con.execute(f"""
        CREATE TABLE srv.ips_fit AS
        WITH pts AS (
            SELECT u.period_type, u.period, u.profile, u.academie_code, u.level, u.secteur,
                   s.ips AS x, a.active_rate AS y, a.loaded::DOUBLE AS w
            FROM {ADOPTION.units} u JOIN schools s USING (uai)
            JOIN srv.school_adoption a ON a.period_type = u.period_type AND a.period = u.period
                 AND a.profile = u.profile AND a.uai = u.uai
            WHERE u.published AND s.ips IS NOT NULL AND a.active_rate IS NOT NULL
        ),
        sums AS (
            SELECT period_type, period, profile,
                CASE WHEN GROUPING(academie_code) = 0 THEN 'academie' ELSE 'nation' END AS geo_level,
                coalesce(academie_code, 'FR') AS geo_code, academie_code,
                coalesce(level, 'all') AS level, coalesce(secteur, 'all') AS secteur,
                count(*) AS schools, sum(w) AS sw, sum(w * x) AS swx, sum(w * y) AS swy,
                sum(w * x * x) AS swxx, sum(w * x * y) AS swxy, sum(w * y * y) AS swyy
            FROM pts
            GROUP BY GROUPING SETS (
                (period_type, period, profile), (period_type, period, profile, level),
                (period_type, period, profile, secteur), (period_type, period, profile, level, secteur),
                (period_type, period, profile, academie_code), (period_type, period, profile, academie_code, level),
                (period_type, period, profile, academie_code, secteur),
                (period_type, period, profile, academie_code, level, secteur))
        ),
        centred AS (
            SELECT *, swxx - swx * swx / sw AS sxx, swxy - swx * swy / sw AS sxy, swyy - swy * swy / sw AS syy
            FROM sums WHERE schools >= 3
        )
        SELECT period_type, period, profile, geo_level, geo_code, academie_code, level, secteur, schools,
            (sw * swxy - swx * swy) / nullif(sw * swxx - swx * swx, 0) AS slope,
            (swy - (sw * swxy - swx * swy) / nullif(sw * swxx - swx * swx, 0) * swx) / sw AS intercept,
            sqrt(greatest(syy - sxy * sxy / nullif(sxx, 0), 0) / (schools - 2) / nullif(sxx, 0)) AS _se,
            NULL::DOUBLE AS slope_low, NULL::DOUBLE AS slope_high
        FROM centred
        ORDER BY ALL
    """)
    dfs = [r[0] for r in con.execute("SELECT DISTINCT schools - 2 FROM srv.ips_fit WHERE _se > 0").fetchall()]
    if dfs:
        con.register("_t95", pd.DataFrame({"df": dfs, "t": stats.t.ppf(0.975, dfs)}))
        con.execute("""UPDATE srv.ips_fit f SET slope_low = f.slope - q.t * f._se, slope_high = f.slope + q.t * f._se
                       FROM _t95 q WHERE q.df = f.schools - 2 AND f._se > 0""")
        con.unregister("_t95")
    con.execute("ALTER TABLE srv.ips_fit DROP COLUMN _se")


def _write_reference(con, present: set[str], reference: Path) -> None:
    """Reference tables of the serving file. Rows made in Python (zones, holidays, boundaries) go in as one
    registered frame each: one INSERT per row is one commit each into the serving file (seconds)."""
    zones = ZONE_OF_ACADEMIE
    con.register("_zones", pd.DataFrame({"academie_code": list(zones), "zone": list(zones.values())}, dtype=object)
                 .assign(zone_order=range(len(zones))))
    con.execute("CREATE TABLE srv.academies AS SELECT a.academie_code, a.academie_name, z.zone::VARCHAR AS zone "
                "FROM academies a LEFT JOIN _zones z ON z.academie_code = a.academie_code ORDER BY a.academie_code")
    con.execute("CREATE TABLE srv.departements AS SELECT departement_code, departement_name, academie_code "
                "FROM departements ORDER BY departement_code")
    # the schools' public reference data: the parent-weighted quintile
    join_q = ("LEFT JOIN school_ips_quintiles q ON q.uai = s.uai AND q.profile = 'parent'"
              if "school_ips_quintiles" in present else "")
    quintile = "q.ips_quintile::VARCHAR" if join_q else "NULL::VARCHAR"
    con.execute(f"""
        CREATE TABLE srv.schools AS
        SELECT s.uai, s.name, s.level, s.secteur, s.academie_code, s.departement_code, s.commune_name,
            s.education_prioritaire, s.rural_urban, s.ips, {quintile} AS ips_quintile
        FROM schools s {join_q}
        WHERE s.uai IN (SELECT DISTINCT uai FROM adoption_school)
        ORDER BY s.academie_code, s.uai
    """)
    # The national quintile of each school for each profile (the breakdown cells of a profile use its own)
    con.execute("CREATE TABLE srv.school_ips_quintiles (uai VARCHAR, profile VARCHAR, ips_quintile VARCHAR)")
    if join_q:
        con.execute("""INSERT INTO srv.school_ips_quintiles
            SELECT uai, profile, ips_quintile::VARCHAR FROM school_ips_quintiles
            WHERE uai IN (SELECT uai FROM srv.schools) ORDER BY uai, profile""")
    con.execute("""
        CREATE TABLE srv.periods AS
        SELECT p.period_type, p.period, p.period_start, p.period_end, p.school_year
        FROM periods p WHERE (p.period_type, p.period) IN (SELECT DISTINCT period_type, period FROM adoption_school)
        ORDER BY p.period_type, p.period_start
    """)
    con.execute("CREATE TABLE srv.holidays (academie_code VARCHAR, zone VARCHAR, school_year VARCHAR, "
                "name VARCHAR, first_day DATE, last_day DATE)")
    holidays = pd.DataFrame(school_holidays(), columns=["school_year", "zone", "name", "first_day", "last_day"],
                            dtype=object)
    con.register("_holidays", holidays.assign(holiday_order=range(len(holidays))))
    con.execute("""
        INSERT INTO srv.holidays
        SELECT z.academie_code, h.zone, h.school_year, h.name, h.first_day::DATE, h.last_day::DATE
        FROM _zones z JOIN _holidays h ON h.zone = z.zone ORDER BY z.zone_order, h.holiday_order
    """)
    con.unregister("_holidays")
    con.unregister("_zones")
    names = dict(con.execute("SELECT academie_code, academie_name FROM academies").fetchall())
    dep_aca = dict(con.execute("SELECT departement_code, academie_code FROM departements").fetchall())
    con.execute("CREATE TABLE srv.geo_shapes (geo_level VARCHAR, code VARCHAR, name VARCHAR, "
                "academie_code VARCHAR, geojson VARCHAR)")
    shapes = pd.DataFrame(boundary_rows(reference, dep_aca, names),
                          columns=["geo_level", "code", "name", "academie_code", "geojson"], dtype=object)
    con.register("_shapes", shapes.assign(shape_order=range(len(shapes))))
    con.execute("INSERT INTO srv.geo_shapes SELECT geo_level::VARCHAR, code::VARCHAR, name::VARCHAR, "
                "academie_code::VARCHAR, geojson::VARCHAR FROM _shapes ORDER BY shape_order")
    con.unregister("_shapes")
    con.execute("CREATE TABLE srv.data_gaps (week_start DATE, academie_code VARCHAR, schools_flagged BIGINT)")
    if "data_gaps" in present:
        con.execute("""
            INSERT INTO srv.data_gaps
            SELECT g.week_start, s.academie_code, count(DISTINCT g.uai)
            FROM data_gaps g JOIN schools s USING (uai) GROUP BY ALL ORDER BY ALL
        """)


def _is_synthetic(con, present: set[str]) -> bool:
    """Demo data: the warehouse was pseudonymized with the public demo key (recorded at its first ingest)."""
    if "warehouse_settings" not in present:
        return False
    rows = con.execute("SELECT value FROM warehouse_settings WHERE key = 'pseudonymization_key'").fetchall()
    return bool(rows) and is_demo_fingerprint(rows[0][0])


def publish_serving(con, target: Path, *, audit_max_atoms: int | None = EXACT_AUDIT_MAX_ATOMS,
                    reference: Path | None = None) -> PublishSummary:
    """Build the serving file from the warehouse connection ``con`` and swap it in at ``target``.

    ``reference``: folder of the reference data (boundaries); default ``$ENT_DATA_DIR/reference``.
    """
    started = dt.datetime.now(dt.UTC)
    target = Path(target)
    private_folder(target.parent)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    summary = PublishSummary(target)
    present = _tables(con)
    required = {"schools", "academies", "departements", "periods", "adoption_school"}
    if missing := sorted(required - present):
        raise RuntimeError(f"cannot publish: warehouse tables missing: {', '.join(missing)}")
    optional = ["feature_reach_school", "school_ips_quintiles", "data_gaps"]
    summary.missing_inputs = [t for t in optional if t not in present]
    quintiles = "school_ips_quintiles" in present

    release = (ADOPTION, ADOPTION_STAFF, ADOPTION_WEEK, ADOPTION_WEEK_OTHER)
    for family in release:
        _stage_adoption(con, family, quintiles)
    reports, summary.audit = clear_release(con, list(release))
    summary.reports += reports
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _all_adoption_cells AS
        SELECT * FROM {ADOPTION.cells} UNION ALL BY NAME SELECT * FROM {ADOPTION_STAFF.cells}
    """)
    has_reach = "feature_reach_school" in present
    if has_reach:
        _stage_reach(con, quintiles)
        # No reach cell where the adoption cell with the same key is suppressed (see suppression.py).
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _adoption_suppressed AS
            SELECT {CELL_COLUMNS} FROM _all_adoption_cells WHERE NOT published
            UNION ALL SELECT {CELL_COLUMNS} FROM {ADOPTION_WEEK.cells} WHERE NOT published
        """)
        summary.reports.append(suppress(
            con, REACH, audit_max_atoms=audit_max_atoms, members=False,
            pre_suppressed_cells=f"{_KEY} IN (SELECT {_KEY} FROM _adoption_suppressed)",
        ))

    try:
        con.execute(f"ATTACH '{tmp.as_posix()}' AS srv")
        try:
            con.execute(f"""
                CREATE TABLE srv.adoption_cells AS
                SELECT {CELL_COLUMNS}, {CELL_FIGURES} FROM (
                    SELECT * FROM _all_adoption_cells UNION ALL BY NAME SELECT * FROM {ADOPTION_WEEK.cells}
                    UNION ALL BY NAME SELECT * FROM {ADOPTION_WEEK_OTHER.cells})
                ORDER BY period_type, period, profile, geo_level, academie_code, geo_code, level, secteur,
                         breakdown, breakdown_value
            """)
            write_cell_rate_se(con, ADOPTION.units, "srv.adoption_cells")
            write_cell_mean_se(con, ADOPTION.units, "srv.adoption_cells")
            # Staff cells (no published school figures): the cluster margin rounded up (derived.py)
            staff = ", ".join(f"'{p}'" for p in SCHOOL_LEVEL_PROFILES)
            for family in (ADOPTION_STAFF, ADOPTION_WEEK_OTHER):
                for column, (measure, _) in RATE_SE.items():
                    write_cluster_margins(con, family, measure, "srv.adoption_cells", column, scale=Z95,
                                          where=f"t.{column} IS NULL AND t.profile NOT IN ({staff})")
            rates = published_school_rates(con, ADOPTION.units, quintiles)
            _write_school_adoption(con, published_flags(rates))
            con.execute("CREATE TABLE srv.reach_cells (period_type VARCHAR, period VARCHAR, profile VARCHAR, "
                        "service VARCHAR, geo_level VARCHAR, geo_code VARCHAR, academie_code VARCHAR, level VARCHAR, "
                        "secteur VARCHAR, breakdown VARCHAR, breakdown_value VARCHAR, schools BIGINT, "
                        "suppressed BOOLEAN, reach DOUBLE, reach_margin DOUBLE)")
            if has_reach:
                con.execute(f"""
                    INSERT INTO srv.reach_cells
                    SELECT period_type, period, profile, service, geo_level, geo_code, academie_code, level, secteur,
                        breakdown, breakdown_value, schools, NOT published,
                        CASE WHEN published AND m0_n > 0 THEN m0_k / m0_n END, NULL
                    FROM {REACH.cells}
                    ORDER BY period_type, period, profile, geo_level, academie_code, geo_code, level, secteur,
                             breakdown, breakdown_value, service
                """)
                # An interval class that does not reveal the denominator (derived.cluster_margins)
                write_cluster_margins(con, REACH, 0, "srv.reach_cells", "reach_margin")
            _write_equity(con, published_equity(rates))
            _write_ips_fit(con)
            publish_levers(con, rates, present)
            _write_reference(con, present, Path(reference) if reference else reference_dir())
            summary.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
            meta = {
                "schema_version": SCHEMA_VERSION,
                "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "synthetic": "true" if _is_synthetic(con, present) else "false",
                "suppression_rule": SUPPRESSION_RULE,
                "min_n": str(MIN_DENOMINATOR), "min_k": str(MIN_CELL),
                "missing_inputs": ",".join(summary.missing_inputs),
                "suppression": json.dumps([r.as_metadata() for r in summary.reports]),
                "release_audit": json.dumps(summary.audit.as_metadata()),
                "data_until": str(con.execute("SELECT max(period_end) FROM periods").fetchall()[0][0]),
            }
            con.execute("CREATE TABLE srv.meta (key VARCHAR, value VARCHAR)")
            con.executemany("INSERT INTO srv.meta VALUES (?, ?)", list(meta.items()))
            for (table,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'srv' ORDER BY 1"
            ).fetchall():
                summary.tables[table] = con.execute(f"SELECT count(*) FROM srv.{table}").fetchall()[0][0]
            con.execute("CHECKPOINT srv")
        finally:
            con.execute("DETACH DATABASE IF EXISTS srv")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        restrict(tmp, read_only=True)
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    summary.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return summary
