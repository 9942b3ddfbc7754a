"""End to end on generated data: the demo pipeline (90 schools, all 30 académies) against the
generator's ground truth, and the warehouse scanned for raw identifiers."""

from __future__ import annotations

import csv

import duckdb
import numpy as np
import pytest
from scipy import stats

from tests.conftest import DEMO_SCHOOLS as N_SCHOOLS


@pytest.fixture(scope="module")
def demo(demo_warehouse):
    return demo_warehouse


def test_pipeline_succeeds_with_every_check_passing(demo):
    _, outcome, con = demo
    assert outcome.success, outcome
    assert outcome.failed_checks == []
    assert con.execute("SELECT count(DISTINCT academie_code) FROM events JOIN schools USING (uai)").fetchall() == [(30,)]
    balance = con.execute(
        "SELECT count(*), sum(rows_quarantined) FROM landing_manifest "
        "WHERE rows_read <> rows_stored + rows_duplicate + rows_quarantined").fetchall()[0]
    assert balance[0] == 0
    assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]  # clean synthetic data
    assert con.execute("SELECT count(*) FROM data_gaps").fetchall() == [(0,)]   # no planted gap


def test_no_raw_user_id_anywhere_in_the_warehouse(demo):
    root, _, con = demo
    with open(next((root / "landing" / "accounts").glob("*.csv")), encoding="utf-8") as fh:
        raw_ids = [row["user_id"] for row in csv.DictReader(fh, delimiter=";")]
    assert len(raw_ids) > 10_000
    scan = duckdb.connect()
    scan.execute(f"ATTACH '{con.execute('PRAGMA database_list').fetchall()[0][2]}' AS w (READ_ONLY)")
    scan.execute("CREATE TABLE raw_ids AS SELECT unnest(?::VARCHAR[]) AS id", [raw_ids])
    columns = scan.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = 'w' AND data_type = 'VARCHAR'").fetchall()
    assert len(columns) > 40
    for table, column in columns:
        exact = scan.execute(f'SELECT count(*) FROM w."{table}" t JOIN raw_ids r ON t."{column}" = r.id').fetchall()[0][0]
        assert exact == 0, f"raw user id in {table}.{column}"
    for table, column in (("quarantine", "excerpt"), ("landing_manifest", "file_path"), ("landing_manifest", "error")):
        hits = scan.execute(
            f'SELECT count(*) FROM w."{table}" t JOIN raw_ids r ON contains(t."{column}", r.id)').fetchall()[0][0]
        assert hits == 0


@pytest.fixture(scope="module")
def parents(demo):
    root, _, con = demo
    return con.execute(
        f"""
        SELECT t.uai, t.loaded AS true_loaded, t.p_active_year, a.loaded, a.active
        FROM read_parquet('{root}/truth/schools_truth.parquet') t
        JOIN adoption_school a ON a.uai = t.uai AND a.profile::VARCHAR = t.profile
        WHERE t.profile = 'parent' AND a.period_type = 'school_year' AND a.period = '2025-2026'
        """
    ).df()


def test_each_school_parent_active_rate_within_its_binomial_interval(parents):
    assert len(parents) == N_SCHOOLS and (parents["loaded"] == parents["true_loaded"]).all()
    low, high = stats.binom.interval(0.99, parents["loaded"], parents["p_active_year"])
    inside = (parents["active"] >= low) & (parents["active"] <= high)
    assert inside.mean() >= 0.97, parents[~inside]


def test_national_parent_active_rate_within_one_point(parents):
    measured = parents["active"].sum() / parents["loaded"].sum()
    truth = (parents["p_active_year"] * parents["loaded"]).sum() / parents["loaded"].sum()
    assert abs(measured - truth) <= 0.01
    assert 0.30 < measured < 0.55  # ~40 % of parents use the ENT (ENT_USAGE_FIGURES.md)


def test_parent_reach_per_service_within_two_points(demo):
    root, _, con = demo
    services = ["notes", "vie_scolaire", "cahier_de_textes", "messagerie", "blog", "documents",
                "carnet_de_liaison", "actualites", "agenda"]
    truth = con.execute(
        f"""SELECT {', '.join(f'sum(reach_{s} * active) / sum(active)' for s in services)}
            FROM read_parquet('{root}/truth/schools_truth.parquet') WHERE profile = 'parent'"""
    ).fetchall()[0]
    measured = dict(con.execute(
        "SELECT service, reach FROM feature_reach_rollup WHERE geo_level = 'nation' AND breakdown = 'all' "
        "AND period = '2025-2026' AND profile = 'parent'").fetchall())
    for service, expected in zip(services, truth):
        assert measured[service] == pytest.approx(expected, abs=0.02), service


def test_planted_ips_gradient_is_visible(demo):
    _, _, con = demo
    by_quintile = con.execute(
        """SELECT q.ips_quintile, sum(a.active) / sum(a.loaded)
           FROM adoption_school a JOIN school_ips_quintiles q ON q.uai = a.uai AND q.profile = 'parent'
           WHERE a.period = '2025-2026' AND a.profile = 'parent' GROUP BY 1 ORDER BY 1""").fetchall()
    assert len(by_quintile) == 5 and by_quintile[4][1] > by_quintile[0][1] + 0.05
    assert np.corrcoef([q for q, _ in by_quintile], [r for _, r in by_quintile])[0, 1] > 0.8
