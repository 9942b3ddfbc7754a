"""Every indicator on a hand-made mini dataset, computed by hand (Paris times, week 2025-W37 = 8–14 Sept)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from tests.ingest_helpers import UAI_A, write_text

HEADER = "event_id;occurred_at;uai;user_id;profile;service;event_type;channel"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini")
    mp = pytest.MonkeyPatch()
    from tests.conftest import REFERENCE_DIR

    (root / "reference").symlink_to(REFERENCE_DIR, target_is_directory=True)
    mp.setenv("ENT_DATA_DIR", str(root))
    mp.setenv("ENT_DEMO", "1")
    with duckdb.connect() as con:
        from pipelines.defs.reference.schools import build_schools

        build_schools(con, REFERENCE_DIR)
        uai_b = con.execute("SELECT min(uai) FROM schools WHERE departement_code = '29' AND level = 'college'").fetchall()[0][0]
        uai_c = con.execute("SELECT min(uai) FROM schools WHERE departement_code = '22' AND level = 'lycee'").fetchall()[0][0]
    landing = root / "landing"
    write_text(landing / "accounts.csv", [
        "user_id;uai;profile;created_at;activated_at",
        f"p1;{UAI_A};parent;2025-08-25;2025-09-01",
        f"p2;{UAI_A};parent;2025-08-25;2025-09-02",
        f"p3;{UAI_A};parent;2025-08-25;2025-09-03",
        f"p4;{UAI_A};parent;2025-08-25;",
        f"e1;{UAI_A};eleve;2025-08-25;2025-09-01",
        f"q1;{uai_b};parent;2025-08-25;2025-09-01",
        f"q2;{uai_b};parent;2025-08-25;2025-09-01",
    ])
    write_text(landing / "events.csv", [
        HEADER,
        f"a1;2025-09-08T19:00:00+02:00;{UAI_A};p1;parent;connexion;LOGIN;mobile_app",
        f"a2;2025-09-08T19:01:00+02:00;{UAI_A};p1;parent;notes;ACCESS;mobile_app",
        f"a3;2025-09-08T19:05:00+02:00;{UAI_A};p1;parent;vie_scolaire;ACCESS;mobile_app",
        f"a4;2025-09-08T20:00:00+02:00;{UAI_A};p1;parent;cahier_de_textes;ACCESS;web",   # 55 min gap: new session
        f"a5;2025-09-09T08:00:00+02:00;{UAI_A};p2;parent;connexion;LOGIN;web",
        f"a6;2025-09-09T08:02:00+02:00;{UAI_A};p2;parent;messagerie;ACCESS;web",
        f"a7;2025-09-10T12:00:00+02:00;{UAI_A};e1;eleve;connexion;LOGIN;mobile_app",
        f"a8;2025-09-10T12:01:00+02:00;{UAI_A};e1;eleve;cahier_de_textes;ACCESS;mobile_app",
        f"b1;2025-09-14T21:00:00+02:00;{uai_b};q1;parent;connexion;LOGIN;mobile_app",
        f"b2;2025-09-14T21:10:00+02:00;{uai_b};q1;parent;notes;ACCESS;mobile_app",
        f"a9;2025-09-15T18:00:00+02:00;{UAI_A};p1;parent;connexion;LOGIN;web",
        f"a10;2025-09-15T18:01:00+02:00;{UAI_A};p1;parent;notes;ACCESS;web",
    ])
    write_text(landing / "ode.csv", [
        "Établissement;UAI;Date;Profil;Connexions;Visiteurs uniques;Comptes chargés;Comptes activés",
        f"Lycée C;{uai_c};01/09/2025;Parent;50;20;100;60",
        f"Lycée C;{uai_c};01/10/2025;Parent;30;15;100;70",
    ])
    from pipelines.runner import run_pipeline

    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_pipeline(instance)
    assert outcome.success and not outcome.failed_checks, outcome
    from pipelines.paths import warehouse_path

    con = duckdb.connect(str(warehouse_path()), read_only=True)
    yield con, uai_b, uai_c
    con.close()
    mp.undo()


def school(con, uai, period, profile="parent"):
    cols = ["loaded", "activated", "active", "sessions", "activation_rate", "active_rate", "visits_per_active",
            "breadth", "mobile_share", "sessions_by_hour", "sessions_by_weekday", "source", "missing_reason"]
    row = con.execute(f"SELECT {', '.join(cols)} FROM adoption_school WHERE uai = ? AND period = ? AND profile = ?",
                      [uai, period, profile]).fetchall()
    return dict(zip(cols, row[0])) if row else None


def test_school_week(warehouse):
    con, _, _ = warehouse
    a = school(con, UAI_A, "2025-W37")
    assert (a["loaded"], a["activated"], a["active"], a["sessions"]) == (4, 3, 2, 3)
    assert a["activation_rate"] == pytest.approx(3 / 4) and a["active_rate"] == pytest.approx(2 / 4)
    assert a["visits_per_active"] == pytest.approx(3 / 2)
    assert a["breadth"] == pytest.approx((3 + 1) / 2)      # p1: notes, vie scolaire, cahier; p2: messagerie
    assert a["mobile_share"] == pytest.approx(1 / 3)       # p1's first session only
    hours = a["sessions_by_hour"]
    assert (hours[8], hours[19], hours[20], sum(hours)) == (1, 1, 1, 3)
    weekdays = a["sessions_by_weekday"]
    assert (weekdays[0], weekdays[1], sum(weekdays)) == (2, 1, 3)  # Monday, Tuesday


def test_school_year_and_other_profiles(warehouse):
    con, uai_b, _ = warehouse
    a = school(con, UAI_A, "2025-2026")
    assert (a["active"], a["sessions"]) == (2, 4)
    assert a["visits_per_active"] == pytest.approx(2.0) and a["mobile_share"] == pytest.approx(1 / 4)
    e = school(con, UAI_A, "2025-2026", "eleve")
    assert (e["loaded"], e["active"], e["active_rate"], e["mobile_share"]) == (1, 1, 1.0, 1.0)
    b = school(con, uai_b, "2025-W37")  # Sunday 21:00 in Paris is still week 37
    assert (b["loaded"], b["active"], b["active_rate"]) == (2, 1, 0.5)


def test_feature_reach(warehouse):
    con, _, _ = warehouse
    reach = dict(con.execute(
        "SELECT service, reach FROM feature_reach_school WHERE uai = ? AND period = '2025-W37' AND profile = 'parent'",
        [UAI_A]).fetchall())
    assert reach["notes"] == reach["vie_scolaire"] == reach["cahier_de_textes"] == reach["messagerie"] == 0.5
    assert reach["blog"] == 0 and "connexion" not in reach


def test_ode_only_school(warehouse):
    con, _, uai_c = warehouse
    month = school(con, uai_c, "2025-09")
    assert (month["source"], month["loaded"], month["activated"], month["active"]) == ("ode_statistics", 100, 60, 20)
    assert month["active_rate"] == pytest.approx(0.2) and month["visits_per_active"] == pytest.approx(2.5)
    assert month["breadth"] is None and month["mobile_share"] is None and "no per-service" in month["missing_reason"]
    trimester = school(con, uai_c, "2025-2026 T1")
    assert trimester["active"] is None and "not additive" in trimester["missing_reason"]
    assert (trimester["loaded"], trimester["activated"]) == (100, 70)
    assert school(con, uai_c, "2025-W36") is None


def test_rollups_sum_numerators_and_denominators(warehouse):
    con, _, _ = warehouse
    row = con.execute(
        "SELECT loaded, activated, active, loaded_known_active, active_rate, schools, schools_ode_only "
        "FROM adoption_rollup WHERE geo_level = 'academie' AND geo_code = '14' AND breakdown = 'all' "
        "AND period = '2025-09' AND profile = 'parent'").fetchall()[0]
    # Rennes: école A (4 loaded, 2 active), collège B (2, 1), lycée C by ODE (100 loaded, 20 visitors)
    assert row == (106, 3 + 2 + 60, 23, 106, pytest.approx(23 / 106), 3, 1)
    level = dict(con.execute(
        "SELECT breakdown_value, active_rate FROM adoption_rollup WHERE geo_level = 'nation' AND breakdown = 'level' "
        "AND period = '2025-2026' AND profile = 'parent'").fetchall())
    assert level["ecole"] == pytest.approx(0.5) and level["college"] == pytest.approx(0.5)
    assert level["lycee"] is None  # ODE monthly rows do not give school-year visitors


def test_ips_quintiles_weight_each_profiles_own_accounts(warehouse):
    con, _, _ = warehouse
    rows = con.execute("SELECT accounts, ips_ridit, ips_quintile FROM school_ips_quintiles WHERE profile = 'parent' "
                       "ORDER BY ips").fetchall()
    assert [r[0] for r in rows] == [4, 2] or [r[0] for r in rows] == [2, 4]
    w_low, w_high = rows[0][0], rows[1][0]
    assert rows[0][1] == pytest.approx(w_low / 2 / 6) and rows[1][1] == pytest.approx((w_low + w_high / 2) / 6)
    # élèves: one account in école A only, ranked on their own accounts (ridit 1/2, quintile 3)
    assert con.execute("SELECT accounts, ips_ridit, ips_quintile FROM school_ips_quintiles WHERE profile = 'eleve'"
                       ).fetchall() == [(1, 0.5, 3)]


def test_sql_and_python_quintiles_share_the_boundary_rule(tmp_path):
    """A mid-point exactly on a quintile boundary goes to the lower quintile, in SQL (national) as in
    ``weighted_quintile`` (the quintile gap): weights 2, 4, 4, 4, 4, 2 put the mid-points at .05, .2, .4, .6, .8, .95,
    four of them on a boundary (the former SQL rule, 1 + floor(5 r), sent them up a quintile)."""
    import duckdb
    import numpy as np

    from pipelines.sql_files import load_sql
    from pipelines.equity import weighted_quintile

    weights = np.array([2, 4, 4, 4, 4, 2])
    ips = np.arange(6, dtype=float)
    con = duckdb.connect()
    con.execute("CREATE TABLE schools (uai VARCHAR, ips DOUBLE)")
    con.execute("CREATE TABLE accounts (uai VARCHAR, profile VARCHAR)")
    for i, w in enumerate(weights):
        con.execute("INSERT INTO schools VALUES (?, ?)", [f"S{i}", ips[i]])
        con.executemany("INSERT INTO accounts VALUES (?, 'parent')", [[f"S{i}"]] * int(w))
    con.execute(load_sql("pipelines.defs.indicators", "school_ips_quintiles"))
    sql = [q for (q,) in con.execute("SELECT ips_quintile FROM school_ips_quintiles ORDER BY ips").fetchall()]
    ridits = [r for (r,) in con.execute("SELECT ips_ridit FROM school_ips_quintiles ORDER BY ips").fetchall()]
    assert any(abs(5 * r - round(5 * r)) < 1e-12 for r in ridits)  # a mid-point on a boundary
    assert sql == weighted_quintile(ips, weights).tolist() == [1, 1, 2, 3, 4, 5]