"""Small-cell suppression of the serving layer: the primary rule, secondary suppression inside a
département, complementary suppression between cells, and an independent exact audit of the
published file (no suppressed school can be recomputed by any combination of published figures)."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from pipelines.disclosure.cell_suppression import (
    Family,
    audit_family,
    build_cells,
    passes,
    prepare_units,
    recoverable_columns,
    suppress,
)
from tests.conftest import REFERENCE_DIR

ATTRS = "academie_code, departement_code, level, secteur, education_prioritaire, rural_urban, ips_quintile"


def _units(con, rows, measures=1):
    cols = ", ".join(f"m{i}_n BIGINT, m{i}_k BIGINT" for i in range(measures))
    con.execute(f"CREATE OR REPLACE TEMP TABLE t_units (period VARCHAR, uai VARCHAR, academie_code VARCHAR, "
                f"departement_code VARCHAR, level VARCHAR, secteur VARCHAR, education_prioritaire VARCHAR, "
                f"rural_urban VARCHAR, ips_quintile VARCHAR, size BIGINT, {cols})")
    for r in rows:
        uai, aca, dep, level, secteur, n, k = r
        con.execute("INSERT INTO t_units VALUES ('p', ?, ?, ?, ?, ?, 'inconnu', 'urbain', '3', ?, ?, ?)",
                    [uai, aca, dep, level, secteur, n, n, k])


@pytest.mark.parametrize("n, k, ok", [(11, 3, True), (10, 3, False), (11, 2, False), (11, 9, False),
                                      (12, 9, True), (200, 197, True), (200, 198, False), (0, 0, False)])
def test_primary_rule_thresholds(n, k, ok):
    assert passes(n, [(n, k)]) is ok


def test_lone_suppressed_school_of_a_departement_gets_a_partner():
    con = duckdb.connect()
    _units(con, [
        ("a", "A1", "D1", "ecole", "public", 8, 4),  # n < 11: primary
        ("b", "A1", "D1", "ecole", "public", 60, 30),
        ("c", "A1", "D1", "college", "public", 400, 200),
        ("d", "A1", "D1", "ecole", "public", 90, 50),
        ("e", "A1", "D1", "ecole", "public", 120, 70),
        ("f", "A1", "D1", "ecole", "public", 150, 70),
        ("g", "A1", "D2", "ecole", "public", 80, 40),
        ("h", "A1", "D2", "ecole", "public", 95, 40),
        ("i", "A1", "D2", "ecole", "public", 70, 40),
        ("j", "A1", "D2", "ecole", "public", 85, 40),
        ("k", "A1", "D2", "ecole", "public", 66, 40),
        ("l", "A1", "D2", "ecole", "public", 77, 40),
    ])
    family = Family("t", ("period",), breakdowns=(), measures=1)
    report = suppress(con, family)
    status = dict(con.execute("SELECT uai, published FROM t_units").fetchall())
    assert status["a"] is False
    # The partner is the most similar school (same département, level, secteur), the smallest first: b.
    assert status["b"] is False
    assert sum(not v for v in status.values()) == 2, status
    assert report.units_primary == 1 and report.units_secondary == 1
    # The département total stays published, and its remainder (a + b) passes the rule.
    published = con.execute("SELECT published FROM t_cells WHERE geo_level = 'departement' AND geo_code = 'D1' "
                            "AND level = 'all' AND secteur = 'all'").fetchall()[0][0]
    assert published
    assert passes(8 + 60, [(68, 34)])
    assert report.audit == "passed"


def test_complementary_suppression_blocks_total_minus_sibling():
    """One privé school, suppressed: académie − public would give it, so a sibling cell goes too."""
    con = duckdb.connect()
    rows = [(f"s{i}", "A1", "D1", "ecole", "public", 100 + i, 50) for i in range(8)]
    rows.append(("p1", "A1", "D1", "ecole", "prive", 9, 4))
    _units(con, rows)
    family = Family("t", ("period",), geo_levels=("academie",), breakdowns=(), measures=1)
    suppress(con, family)
    cells = {(lv, sec): pub for lv, sec, pub in con.execute(
        "SELECT level, secteur, published FROM t_cells").fetchall()}
    assert cells[("all", "prive")] is False
    # académie total and académie public cannot both stay published alongside the suppressed privé cell
    assert not (cells[("all", "all")] and cells[("all", "public")])


def test_exact_audit_finds_a_three_partition_disclosure():
    """Four suppressed schools, each pair crossing three partitions: s1 is recoverable."""
    matrix = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0]], float)
    assert recoverable_columns(matrix).all()
    # Only the pairwise sums of one partition: nothing recoverable.
    assert not recoverable_columns(matrix[:2]).any()


def _primary_only(con, rows, family):
    """Units and cells with only the primary rule applied (rules 2-3 would already protect the schools)."""
    _units(con, rows)
    prepare_units(con, family)
    build_cells(con, family)


def test_exact_audit_reports_a_lone_school_behind_a_published_cell():
    """x fails the rule and is the only hidden school of D1: D1 minus its published schools gives it away.
    The fix is the least important published cell holding x (its level cell before the département total)."""
    con = duckdb.connect()
    family = Family("t", ("period",), geo_levels=("departement",), breakdowns=(), by_secteur=False, measures=1)
    _primary_only(con, [("x", "A1", "D1", "ecole", "public", 5, 2),
                        *((f"e{i}", "A1", "D1", "ecole", "public", 40 + i, 20) for i in range(3)),
                        *((f"c{i}", "A1", "D1", "college", "public", 300 + i, 100) for i in range(3))], family)
    found, skipped = audit_family(con, family)
    assert not skipped
    assert [(d["group"], d["uai"], d["units"]) for d in found] == [(("p",), "x", 1)]
    fix = con.execute("SELECT level, published FROM t_cells WHERE cell_id = ?", [found[0]["fix_cell_id"]]).fetchall()
    assert fix == [("ecole", True)]
    assert found[0]["fix_small_cell"] is True  # the école cell holds 4 schools: suppressed itself
    # Only the group asked for is audited; a group too large is skipped and said so.
    assert audit_family(con, family, groups={("q",)}) == ([], False)
    assert audit_family(con, family, max_atoms=0) == ([], True)


def test_exact_audit_lets_a_pooled_pair_that_passes_through():
    """Two hidden schools in exactly the same published cells form one atom: recoverable as a pair only, and
    harmless when the pair passes the rule; a pair that fails is a disclosure."""
    family = Family("t", ("period",), geo_levels=("departement",), breakdowns=(), by_secteur=False, measures=1)
    others = [(f"e{i}", "A1", "D1", "ecole", "public", 40 + i, 20) for i in range(3)]
    for (n1, k1), (n2, k2), disclosed in (((8, 4), (9, 4), False), ((4, 1), (4, 1), True)):
        con = duckdb.connect()
        _primary_only(con, [("x", "A1", "D1", "ecole", "public", n1, k1),
                            ("y", "A1", "D1", "ecole", "public", n2, k2), *others], family)
        found, _ = audit_family(con, family)
        assert [(d["uai"], d["units"]) for d in found] == ([("x", 2)] if disclosed else [])


# --- the published file, audited independently ----------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from pipelines.serving_file import SERVING_FILENAME
    from testing_support.fake_warehouse import shared_fake_serving

    root = shared_fake_serving(tmp_path_factory.getbasetemp(), REFERENCE_DIR)
    serving = root / "serving" / SERVING_FILENAME
    warehouse = duckdb.connect(str(root / "warehouse" / "observatoire.duckdb"), read_only=True)
    serving_con = duckdb.connect(str(serving), read_only=True)
    yield warehouse, serving_con
    warehouse.close()
    serving_con.close()


def _memberships(schools: dict, cell) -> list[str]:
    geo_level, geo_code, level, secteur, breakdown, value = cell
    out = []
    for uai, s in schools.items():
        if geo_level == "academie" and s["academie_code"] != geo_code:
            continue
        if geo_level == "departement" and s["departement_code"] != geo_code:
            continue
        if level != "all" and s["level"] != level or secteur != "all" and s["secteur"] != secteur:
            continue
        if breakdown != "all" and s[breakdown] != value:
            continue
        out.append(uai)
    return out


def test_published_file_no_school_figure_for_suppressed_schools(published):
    _, srv = published
    leaks = srv.execute("""SELECT count(*) FROM school_adoption WHERE suppressed AND (loaded IS NOT NULL OR
        active IS NOT NULL OR activated IS NOT NULL OR active_rate IS NOT NULL OR shrunk_rate IS NOT NULL OR
        funnel_low95 IS NOT NULL OR funnel_high998 IS NOT NULL OR visits_per_active IS NOT NULL)""").fetchall()[0][0]
    assert leaks == 0
    assert srv.execute("SELECT count(*) FROM school_adoption WHERE suppressed").fetchall()[0][0] > 0
    cells = srv.execute("SELECT count(*) FROM adoption_cells WHERE suppressed AND (loaded IS NOT NULL OR "
                        "active_rate IS NOT NULL OR sessions IS NOT NULL)").fetchall()[0][0]
    assert cells == 0
    # staff profiles: no school rows at all
    assert srv.execute("SELECT count(*) FROM school_adoption WHERE profile = 'enseignant'").fetchall()[0][0] == 0
    # feature reach: no denominator column, and never where the adoption cell is suppressed
    assert "active" not in [r[0] for r in srv.execute("DESCRIBE reach_cells").fetchall()]
    orphan = srv.execute("""SELECT count(*) FROM reach_cells r JOIN adoption_cells a USING (period_type, period,
        profile, geo_level, geo_code, level, secteur, breakdown, breakdown_value)
        WHERE NOT r.suppressed AND a.suppressed""").fetchall()[0][0]
    assert orphan == 0


def test_published_file_withstands_subtraction(published):
    """For every group: each published cell's remainder holds 0 or >= 2 suppressed schools whose pooled
    figure passes; totals equal the sum over all schools; and the exact linear audit recovers no
    primary-suppressed school."""
    wh, srv = published
    schools = {r[0]: dict(zip(ATTRS.split(", "), r[1:])) for r in srv.execute(
        "SELECT uai, academie_code, departement_code, level, secteur, coalesce(education_prioritaire, 'inconnu'), "
        "coalesce(rural_urban, 'inconnu'), coalesce(ips_quintile, 'inconnu') FROM schools").fetchall()}
    truth = {(r[0], r[1], r[2], r[3]): r[4:] for r in wh.execute(
        "SELECT period_type, period, profile, uai, loaded, activated, active FROM adoption_school "
        "WHERE period_type <> 'week'").fetchall()}
    quintiles = dict(((u, p), q) for u, p, q in srv.execute("SELECT * FROM school_ips_quintiles").fetchall())
    groups = srv.execute("SELECT DISTINCT period_type, period, profile FROM school_adoption").fetchall()
    checked = disclosures = 0
    for group in groups:
        rows = srv.execute("SELECT uai, suppressed FROM school_adoption WHERE period_type = ? AND period = ? "
                           "AND profile = ?", list(group)).fetchall()
        suppressed = sorted(u for u, s in rows if s)
        in_group = {u: schools[u] | {"ips_quintile": quintiles.get((u, group[2]), "inconnu")} for u, _ in rows}
        cells = srv.execute("""SELECT geo_level, geo_code, level, secteur, breakdown, breakdown_value, loaded
            FROM adoption_cells WHERE period_type = ? AND period = ? AND profile = ? AND NOT suppressed""",
                            list(group)).fetchall()
        matrix = []
        for cell in cells:
            members = _memberships(in_group, cell[:6])
            total = sum(truth[(*group, u)][0] for u in members)
            assert cell[6] == total, (group, cell)
            hidden = [u for u in members if u in suppressed]
            if hidden:
                assert len(hidden) >= 2, (group, cell, hidden)
                n = sum(truth[(*group, u)][0] for u in hidden)
                act = sum(truth[(*group, u)][1] for u in hidden)
                acv = sum(truth[(*group, u)][2] for u in hidden)
                assert passes(n, [(n, act), (n, acv)]), (group, cell, hidden)
            matrix.append([1.0 if u in members else 0.0 for u in suppressed])
            checked += 1
        if suppressed and matrix:
            recoverable = recoverable_columns(np.array(matrix))
            for u, rec in zip(suppressed, recoverable):
                n, act, acv = truth[(*group, u)]
                if rec and not passes(n, [(n, act), (n, acv)]):
                    disclosures += 1
    assert checked > 100
    assert disclosures == 0


def test_recoverable_columns_split_by_coupling_rows_equals_the_dense_svd():
    """The académie-by-académie computation (national rows coupling the pieces) gives exactly the dense
    row-space test, on random hierarchies with recoverable and protected atoms."""
    rng = np.random.default_rng(7)
    recovered = 0
    for _ in range(400):
        sizes = rng.integers(1, 8, size=rng.integers(1, 6))
        n = int(sizes.sum())
        local, start = [], 0
        for size in sizes:
            for _ in range(rng.integers(0, size + 2)):
                row = np.zeros(n)
                row[start:start + size][rng.random(size) < rng.uniform(0.1, 0.9)] = 1
                local.append(row)
            start += size
        tie = [(rng.random(n) < 0.6).astype(float) for _ in range(rng.integers(0, 4))]
        if not local and not tie:
            continue
        matrix = np.array(local + tie)
        coupling = np.array([False] * len(local) + [True] * len(tie))
        dense = recoverable_columns(matrix)
        assert (recoverable_columns(matrix, coupling=coupling) == dense).all()
        recovered += int(dense.sum())
    assert recovered > 100  # the comparison covers recoverable atoms, not only protected ones
