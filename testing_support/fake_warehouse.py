"""A fake but plausible warehouse for tests and benchmarks of the serving layer and the dashboard.

Builds, in a DuckDB connection, the tables ``published_serving`` reads, for real schools of the
reference data (all of them, or a sample per académie): reference tables through the real loader, then
``periods``, ``school_ips_quintiles``, ``adoption_school``, ``feature_reach_school``, ``data_gaps``,
the equity engineer's ``equity_summary`` and ``school_flags`` (their documented
schemas) and, with ``with_levers``, the levers' inputs ``school_context``, ``mediation_workshops`` and
``parent_activity_to_date`` (workshops targeted at low-IPS schools lift the parents active since the rentrée
from their week on). Rates follow a logistic model of IPS with académie and school effects; every draw is a
hash of (school, period, profile), so the data are deterministic. Test and benchmark support: the
product never imports it (testing_support/__init__.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.defs.ingest.pseudonymize import DEMO_KEY, make_pseudonymizer
from pipelines.defs.reference.schools import build_schools

PROFILE_MODEL = {  # profile: (intercept of the logit, IPS slope per 15 points, accounts per pupil expr)
    "parent": (-0.35, 0.45, "CASE level WHEN 'lycee' THEN 1.4 ELSE 1.7 END"),
    "eleve": (-0.6, 0.3, "CASE level WHEN 'ecole' THEN 0.25 ELSE 1.0 END"),
    "enseignant": (0.6, 0.1, "1.0 / 17"),
    "personnel": (0.4, 0.05, "1.0 / 70"),
}
SERVICE_REACH = {"notes": 0.82, "vie_scolaire": 0.6, "cahier_de_textes": 0.55, "messagerie": 0.42,
                 "actualites": 0.3, "carnet_de_liaison": 0.25, "documents": 0.2, "agenda": 0.14, "blog": 0.1,
                 "autre": 0.08}
PERIOD_FACTOR = {"school_year": 0.9, "trimester": 0.55, "month": 0.0, "week": -0.9}


LEVER_WEEKS = 16  # weeks of parent activity since the rentrée in the fake's panel
WORKSHOP_LOGIT = 0.6  # the workshop's lift of the school-year parent rate (logit)


def _u(tag: str, key: str = "uai || '|' || period || '|' || profile") -> str:
    """SQL: a deterministic uniform draw in (0, 1) for the current row."""
    return f"((hash({key} || '|{tag}') % 1000003) + 0.5) / 1000003.0"


def _periods(weeks: int, months: int, trimesters: int) -> list[tuple]:
    rows = [("school_year", "2025-2026", dt.date(2025, 9, 1), dt.date(2026, 8, 31), "2025-2026")]
    bounds = [(dt.date(2025, 9, 1), dt.date(2025, 12, 31)), (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
              (dt.date(2026, 4, 1), dt.date(2026, 8, 31))]
    for i, (a, b) in enumerate(bounds[:trimesters], start=1):
        rows.append(("trimester", f"2025-2026 T{i}", a, b, "2025-2026"))
    for i in range(months):
        y, m = (2025, 9 + i) if 9 + i <= 12 else (2026, i - 3)
        start = dt.date(y, m, 1)
        end = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))
        rows.append(("month", f"{y}-{m:02d}", start, end, "2025-2026"))
    monday = dt.date(2025, 9, 1)
    for i in range(weeks):
        start = monday + dt.timedelta(weeks=i)
        iso = start.isocalendar()
        rows.append(("week", f"{iso[0]}-W{iso[1]:02d}", start, start + dt.timedelta(days=6), "2025-2026"))
    return rows


def build_fake_warehouse(con, reference_dir: Path, *, academies: list[str] | None = None,
                         schools_per_academie: int | None = None, weeks: int = 8, months: int = 3,
                         trimesters: int = 1, profiles: tuple[str, ...] = tuple(PROFILE_MODEL),
                         tiny_schools: int = 2, with_equity: bool = True, with_reach: bool = True,
                         with_levers: bool = False) -> int:
    """Create the fake tables in ``con``; return the number of schools that have figures.

    ``academies``/``schools_per_academie`` sample the real schools (deterministically); ``tiny_schools``
    per académie get a handful of accounts so that the suppression rules have work to do.
    """
    build_schools(con, reference_dir)
    # Fake figures are demo data: recorded as pseudonymized with the public demo key, as a demo ingest does.
    con.execute("CREATE OR REPLACE TABLE warehouse_settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.execute("INSERT INTO warehouse_settings VALUES ('pseudonymization_key', ?)",
                [make_pseudonymizer(DEMO_KEY, demo=True).fingerprint])
    where = "TRUE" if academies is None else "academie_code IN (" + ", ".join(f"'{a}'" for a in academies) + ")"
    limit = "" if schools_per_academie is None else f"WHERE rn <= {int(schools_per_academie)}"
    con.execute(f"""
        CREATE OR REPLACE TABLE fake_schools AS
        SELECT *, CASE WHEN rn <= {int(tiny_schools)} THEN true ELSE false END AS tiny FROM (
            SELECT *, row_number() OVER (PARTITION BY academie_code ORDER BY hash(uai)) AS rn
            FROM schools WHERE {where}
        ) {limit}
    """)
    con.execute("CREATE OR REPLACE TABLE periods (period_type VARCHAR, period VARCHAR, period_start DATE, "
                "period_end DATE, school_year VARCHAR)")
    con.executemany("INSERT INTO periods VALUES (?, ?, ?, ?, ?)", _periods(weeks, months, trimesters))
    con.execute("""
        CREATE OR REPLACE TABLE fake_accounts AS
        SELECT uai, ips, level, academie_code, departement_code, tiny, coalesce(headcount, 150) AS pupils,
            ((hash(academie_code || 'effect') % 1000) / 1000.0 - 0.5) * 0.6 AS academie_effect,
            ((hash(uai || 'effect') % 1000) / 1000.0 - 0.5) * 0.9 AS school_effect
        FROM fake_schools
    """)
    profile_rows = []
    for profile, (a, b, per_pupil) in PROFILE_MODEL.items():
        if profile in profiles:
            profile_rows.append(f"""
                SELECT f.*, '{profile}' AS profile, {a} AS a, {b} AS b,
                    CASE WHEN f.tiny THEN 4 + (hash(f.uai) % 6)
                         ELSE greatest(1, round(f.pupils * ({per_pupil.replace('level', 'f.level')})))::BIGINT END AS loaded
                FROM fake_accounts f""")
    period_factor = " ".join(f"WHEN '{k}' THEN {v}" for k, v in PERIOD_FACTOR.items())
    con.execute(f"""
        CREATE OR REPLACE TABLE fake_draws AS
        SELECT x.*, p.period_type, p.period,
            1 / (1 + exp(-(a + b * (coalesce(ips, 100) - 100) / 15 + academie_effect + school_effect
                          + CASE p.period_type {period_factor} END))) AS p_active
        FROM ({' UNION ALL '.join(profile_rows)}) x CROSS JOIN periods p
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE adoption_school AS
        WITH d AS (
            SELECT *, least(loaded, greatest(0, round(loaded * p_active
                       + sqrt(loaded * p_active * (1 - p_active)) * sqrt(-2 * ln({_u('n1')}))
                       * cos(2 * pi() * {_u('n2')}))))::BIGINT AS active_draw
            FROM fake_draws
        )
        SELECT period_type, period, uai, profile::VARCHAR AS profile, 'events' AS source, loaded,
            least(loaded, active_draw + round((loaded - active_draw) * 0.55))::BIGINT AS activated,
            active_draw AS active,
            round(active_draw * (3 + 9 * {_u('v')}))::BIGINT AS sessions,
            round(active_draw * (3 + 9 * {_u('v')}) * (0.35 + 0.45 * {_u('m')}))::BIGINT AS mobile_sessions,
            round(active_draw * (1.5 + 2 * {_u('b')}))::BIGINT AS services_used,
            0 AS active_without_account,
            NULL::INTEGER[] AS sessions_by_hour, NULL::INTEGER[] AS sessions_by_weekday,
            NULL::VARCHAR AS missing_reason,
            least(loaded, active_draw + round((loaded - active_draw) * 0.55)) / nullif(loaded, 0) AS activation_rate,
            active_draw / nullif(loaded, 0) AS active_rate,
            round(active_draw * (3 + 9 * {_u('v')})) / nullif(active_draw, 0) AS visits_per_active,
            round(active_draw * (1.5 + 2 * {_u('b')})) / nullif(active_draw, 0) AS breadth,
            0.35 + 0.45 * {_u('m')} AS mobile_share
        FROM d
    """)
    con.execute("""
        CREATE OR REPLACE TABLE school_ips_quintiles AS
        WITH w AS (SELECT s.uai, a.profile::VARCHAR AS profile, s.ips, sum(a.loaded) AS accounts FROM fake_schools s
                   JOIN adoption_school a ON a.uai = s.uai AND a.period_type = 'school_year'
                   WHERE s.ips IS NOT NULL GROUP BY ALL),
        c AS (SELECT *, sum(accounts) OVER (PARTITION BY profile ORDER BY ips
                                            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS thru,
                     sum(accounts) OVER (PARTITION BY profile, ips) AS tie,
                     sum(accounts) OVER (PARTITION BY profile) AS total FROM w)
        SELECT uai, profile, ips, accounts, (thru - tie / 2.0) / total AS ips_ridit,
               greatest(1, least(5, ceil(5 * (thru - tie / 2.0) / total - 1e-12)))::INTEGER AS ips_quintile FROM c
    """)
    if with_reach:
        services = " UNION ALL ".join(f"SELECT '{s}' AS service, {r} AS base" for s, r in SERVICE_REACH.items())
        con.execute(f"""
            CREATE OR REPLACE TABLE feature_reach_school AS
            SELECT a.period_type, a.period, a.uai, a.profile, sv.service,
                least(a.active, round(a.active * least(0.98, sv.base * (0.75 + 0.5 * coalesce(q.ips_ridit, 0.5))
                      * (0.85 + 0.3 * ((hash(a.uai || sv.service || a.period) % 1000) / 1000.0)))))::BIGINT AS users,
                a.active,
                NULL::DOUBLE AS reach
            FROM adoption_school a CROSS JOIN ({services}) sv
            LEFT JOIN school_ips_quintiles q ON q.uai = a.uai AND q.profile = a.profile::VARCHAR
            WHERE a.period_type <> 'week'
        """)
        con.execute("UPDATE feature_reach_school SET reach = users / nullif(active, 0)")
    con.execute("""
        CREATE OR REPLACE TABLE data_gaps AS
        SELECT a.uai, p.period_start AS week_start, 3 AS events, 120.0 AS median_events, 0.03 AS school_ratio,
               0.9 AS academie_ratio
        FROM (SELECT DISTINCT uai FROM adoption_school) a CROSS JOIN periods p
        WHERE p.period_type = 'week' AND hash(a.uai || p.period) % 23 = 0
    """)
    if with_equity:
        _fake_equity(con)
    if with_levers:
        _fake_lever_inputs(con)
    return con.execute("SELECT count(DISTINCT uai) FROM adoption_school").fetchall()[0][0]


def _fake_lever_inputs(con) -> None:
    """school_context, mediation_workshops (about a third of the schools, more often at low IPS, in weeks 5 to
    11) and parent_activity_to_date: parents active since the rentrée follow 1 - 0.8^(w+1) up to the
    school-year figure; a workshop school follows it up to its rate without the workshop until its week,
    then catches up."""
    con.execute(f"""
        CREATE OR REPLACE TABLE school_context AS
        SELECT uai, least(0.95, 0.15 + 0.7 * {_u('training', 'uai')}) AS teacher_ent_training_rate,
            least(0.99, greatest(0.3, 0.75 + 0.2 * (coalesce(ips, 100) - 100) / 30
                                 + 0.2 * ({_u('equipment', 'uai')} - 0.5))) AS household_equipment_rate,
            'fake' AS source_file
        FROM fake_schools
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE mediation_workshops AS
        SELECT uai, DATE '2025-09-02' + 7 * (4 + floor(7 * {_u('week', 'uai')}))::INTEGER AS workshop_date,
            (15 + floor(30 * {_u('people', 'uai')}))::INTEGER AS participants, 'fake' AS source_file
        FROM fake_schools
        WHERE NOT tiny AND {_u('held', 'uai')} < 0.35 - 0.3 * (coalesce(ips, 100) - 100) / 30
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE parent_activity_to_date AS
        WITH s AS (
            SELECT a.uai, a.loaded, a.active, (w.workshop_date - DATE '2025-09-01') // 7 AS g,
                round(a.loaded / (1 + exp(-(ln((a.active + 0.5) / (a.loaded - a.active + 0.5)) - {WORKSHOP_LOGIT}))))
                    AS without
            FROM adoption_school a LEFT JOIN mediation_workshops w USING (uai)
            WHERE a.period_type = 'school_year' AND a.profile = 'parent' AND a.loaded > 0
        ),
        c AS (SELECT i AS w, 1 - pow(0.8, i + 1) AS c, 1 - pow(0.8, {LEVER_WEEKS}) AS last FROM range({LEVER_WEEKS}) t(i))
        SELECT '2025-2026' AS school_year, s.uai, DATE '2025-09-01' + 7 * c.w::INTEGER AS week_start,
            least(s.active, CASE
                WHEN s.g IS NULL THEN round(s.active * c.c / c.last)
                WHEN c.w < s.g THEN round(least(s.without, s.active) * c.c / c.last)
                ELSE round(least(s.without, s.active) * c.c / c.last + greatest(0, s.active - s.without)
                           * (c.c - (1 - pow(0.8, s.g))) / (c.last - (1 - pow(0.8, s.g))))
            END)::BIGINT AS active_to_date,
            s.loaded, g.uai IS NULL AS valid
        FROM s CROSS JOIN c
        LEFT JOIN data_gaps g ON g.uai = s.uai AND g.week_start = DATE '2025-09-01' + 7 * c.w::INTEGER
        ORDER BY s.uai, week_start
    """)


def _fake_equity(con) -> None:
    """equity_summary and school_flags with plausible values (documented schemas)."""
    con.execute("""
        CREATE OR REPLACE TABLE _eq_base AS
        SELECT a.period_type, a.period, a.profile, a.uai, s.academie_code, s.departement_code, s.level,
               a.loaded::DOUBLE AS w, a.active::DOUBLE AS k, a.active_rate AS r, coalesce(q.ips_ridit, 0.5) AS ridit,
               q.ips_quintile
        FROM adoption_school a JOIN fake_schools s USING (uai)
        LEFT JOIN school_ips_quintiles q ON q.uai = a.uai AND q.profile = a.profile::VARCHAR
        WHERE a.period_type <> 'week' AND a.loaded > 0
    """)
    con.execute("""
        CREATE OR REPLACE TABLE _eq_scoped AS
        SELECT *, 'nation' AS scope, 'FR' AS scope_code, academie_code AS sub, 'all' AS lvl FROM _eq_base
        UNION ALL SELECT *, 'nation', 'FR', academie_code, level FROM _eq_base
        UNION ALL SELECT *, 'academie', academie_code, departement_code, 'all' FROM _eq_base
        UNION ALL SELECT *, 'academie', academie_code, departement_code, level FROM _eq_base
    """)
    con.execute("""
        CREATE OR REPLACE TABLE equity_summary AS
        WITH g AS (
            SELECT period_type, period, profile, scope, scope_code, lvl AS level,
                count(*) AS n_schools, sum(w) AS sw, sum(k) AS sk, sum(w * ridit) AS swx, sum(w * r) AS swy,
                sum(w * ridit * ridit) AS swxx, sum(w * ridit * r) AS swxy,
                sum(w * r) FILTER (WHERE ips_quintile = 5) / nullif(sum(w) FILTER (WHERE ips_quintile = 5), 0) AS q5,
                sum(w * r) FILTER (WHERE ips_quintile = 1) / nullif(sum(w) FILTER (WHERE ips_quintile = 1), 0) AS q1
            FROM _eq_scoped GROUP BY ALL
        ),
        t AS (
            SELECT s.period_type, s.period, s.profile, s.scope, s.scope_code, s.lvl AS level,
                sum(s.w * (s.r / m.mu) * ln(greatest(s.r, 1e-9) / m.mu)) / sum(s.w) AS theil_total
            FROM _eq_scoped s JOIN (SELECT period_type, period, profile, scope, scope_code, lvl,
                                           sum(k) / sum(w) AS mu FROM _eq_scoped GROUP BY ALL) m
              USING (period_type, period, profile, scope, scope_code, lvl)
            WHERE m.mu > 0 GROUP BY ALL
        ),
        b AS (
            SELECT period_type, period, profile, scope, scope_code, level,
                sum(wg * (mug / mu) * ln(greatest(mug, 1e-9) / mu)) / sum(wg) AS theil_between
            FROM (SELECT s.period_type, s.period, s.profile, s.scope, s.scope_code, s.lvl AS level, s.sub,
                         sum(s.w) AS wg, sum(s.k) / sum(s.w) AS mug, any_value(m.mu) AS mu
                  FROM _eq_scoped s JOIN (SELECT period_type, period, profile, scope, scope_code, lvl,
                                                 sum(k) / sum(w) AS mu FROM _eq_scoped GROUP BY ALL) m
                    USING (period_type, period, profile, scope, scope_code, lvl)
                  WHERE m.mu > 0 GROUP BY ALL)
            GROUP BY ALL
        ),
        v AS (
            SELECT g.*, (sw * swxy - swx * swy) / nullif(sw * swxx - swx * swx, 0) AS sii,
                   t.theil_total, b.theil_between
            FROM g LEFT JOIN t USING (period_type, period, profile, scope, scope_code, level)
            LEFT JOIN b USING (period_type, period, profile, scope, scope_code, level)
        ),
        m AS (
            SELECT *, (swy - sii * swx) / sw AS intercept FROM v
        )
        SELECT period_type, period, profile, scope, scope_code, level, measure, value,
               value - 0.02 AS ci_low, value + 0.02 AS ci_high, n_schools, sw AS weight_total
        FROM m, LATERAL (VALUES
            ('mean_rate', sk / nullif(sw, 0)), ('sii', sii),
            ('rii', (intercept + sii) / nullif(intercept, 0)), ('q5_q1_gap', q5 - q1), ('q5_q1_ratio', q5 / nullif(q1, 0)),
            ('theil_total', theil_total), ('theil_between', theil_between),
            ('theil_within', theil_total - theil_between),
            ('theil_between_share', theil_between / nullif(theil_total, 0))
        ) x(measure, value)
    """)
    con.execute("""
        CREATE OR REPLACE TABLE school_flags AS
        WITH t AS (SELECT period_type, period, profile, academie_code, sum(k) / sum(w) AS target
                   FROM _eq_base GROUP BY ALL),
        x AS (
            SELECT b.*, t.target, 20 * t.target AS alpha, 20 * (1 - t.target) AS beta,
                   least(0.98, greatest(0.02, t.target + 0.25 * (b.ridit - 0.5))) AS expected
            FROM _eq_base b JOIN t USING (period_type, period, profile, academie_code)
        )
        SELECT period_type, period, profile, uai, w::BIGINT AS loaded, k::BIGINT AS active, r AS observed_rate,
            (k + alpha) / (w + alpha + beta) AS shrunk_rate,
            greatest(0, (k + alpha) / (w + alpha + beta) - 1.96 * sqrt(target * (1 - target) / (w + 20))) AS shrunk_low,
            least(1, (k + alpha) / (w + alpha + beta) + 1.96 * sqrt(target * (1 - target) / (w + 20))) AS shrunk_high,
            expected AS expected_rate, r - expected AS observed_minus_expected,
            (r - target) / sqrt(greatest(target * (1 - target), 1e-6) * 1.5 / w) AS funnel_z,
            CASE WHEN (r - target) / sqrt(greatest(target * (1 - target), 1e-6) * 1.5 / w) > 3.09 THEN 'haut'
                 WHEN (r - target) / sqrt(greatest(target * (1 - target), 1e-6) * 1.5 / w) < -3.09 THEN 'bas' END
                 AS funnel_flag,
            target - 1.96 * sqrt(target * (1 - target) * 1.5 / w) AS funnel_low95,
            target + 1.96 * sqrt(target * (1 - target) * 1.5 / w) AS funnel_high95,
            target - 3.09 * sqrt(target * (1 - target) * 1.5 / w) AS funnel_low998,
            target + 3.09 * sqrt(target * (1 - target) * 1.5 / w) AS funnel_high998,
            target AS funnel_target
        FROM x
    """)
    con.execute("DROP TABLE _eq_base")
    con.execute("DROP TABLE _eq_scoped")


def build_fake_serving(root: Path, reference_dir: Path, **kwargs) -> Path:
    """Fake warehouse in ``root/warehouse/observatoire.duckdb``, published to ``root/serving/``.

    Returns the serving file. ``kwargs`` go to ``build_fake_warehouse``. For tests and benchmarks.
    """
    import duckdb

    from pipelines.defs.publication.publish import publish_serving
    from pipelines.serving_file import SERVING_FILENAME

    root = Path(root)
    (root / "warehouse").mkdir(parents=True, exist_ok=True)
    target = root / "serving" / SERVING_FILENAME
    with duckdb.connect(str(root / "warehouse" / "observatoire.duckdb")) as con:
        build_fake_warehouse(con, reference_dir, **kwargs)
        publish_serving(con, target, reference=reference_dir)
    return target


# The fake the test suite shares (built once per pytest session under its base temp folder).
TEST_FAKE = dict(academies=["14", "24", "01"], schools_per_academie=25, weeks=4, months=2, trimesters=1,
                 profiles=("parent", "eleve", "enseignant"), with_levers=True)


def shared_fake_serving(base: Path, reference_dir: Path) -> Path:
    """The test suite's fake root (``base/fake-serving``), built on first use: returns the root folder,
    which holds ``warehouse/``, ``serving/`` and a ``reference`` link (usable as ``ENT_DATA_DIR``)."""
    root = Path(base) / "fake-serving"
    done = root / ".built"
    if not done.exists():
        root.mkdir(parents=True, exist_ok=True)
        if not (root / "reference").exists():
            (root / "reference").symlink_to(Path(reference_dir).resolve(), target_is_directory=True)
        build_fake_serving(root, reference_dir, **TEST_FAKE)
        done.touch()
    return root
