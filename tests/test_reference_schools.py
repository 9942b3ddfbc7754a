"""The ``schools`` reference table built from the real open data."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.defs.reference.schools import build_schools
from tests.conftest import REFERENCE_DIR


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    build_schools(con, REFERENCE_DIR)
    return con


def test_counts_per_level_match_the_latest_ips_files(con):
    counts = dict(con.execute("SELECT level, count(*) FROM schools GROUP BY level").fetchall())
    # IPS écoles 2024-2025, collèges 2022-2023, lycées 2022-2023 (SOURCES.md).
    assert counts == {"ecole": 32_494, "college": 6_973, "lycee": 3_598}


def test_thirty_academies_and_no_duplicate_uai(con):
    n, distinct_uai, academies, malformed = con.execute(
        """SELECT count(*), count(DISTINCT uai), count(DISTINCT academie_code),
                  count(*) FILTER (WHERE NOT regexp_full_match(uai, '[0-9]{7}[A-Z]'))
           FROM schools"""
    ).fetchall()[0]
    assert n == distinct_uai
    assert academies == 30
    assert malformed == 0
    assert con.execute("SELECT count(*) FROM schools WHERE academie_name IS NULL").fetchall()[0][0] == 0


def test_ips_is_null_exactly_where_published_as_ns(con):
    source = f"read_parquet('{REFERENCE_DIR}/fr-en-ips-ecoles-ap2022.parquet')"
    mismatches = con.execute(
        f"""
        WITH latest AS (SELECT uai, ips FROM {source} WHERE rentree_scolaire = '2024-2025')
        SELECT count(*) FILTER (WHERE (s.ips IS NULL) <> (l.ips = 'NS')),
               count(*) FILTER (WHERE l.ips = 'NS')
        FROM schools s JOIN latest l USING (uai)
        """
    ).fetchall()[0]
    assert mismatches[0] == 0
    assert mismatches[1] == 2_504
    assert con.execute("SELECT count(*) FROM schools WHERE ips IS NULL AND level <> 'ecole'").fetchall()[0][0] == 0


def test_headcount_everywhere_and_estimated_only_for_ecoles(con):
    rows = dict(
        (level, (missing, estimated))
        for level, missing, estimated in con.execute(
            "SELECT level, count(*) - count(headcount), count(*) FILTER (WHERE headcount_estimated) FROM schools GROUP BY level"
        ).fetchall()
    )
    assert all(missing == 0 for missing, _ in rows.values())
    assert rows["college"][1] == 0 and rows["lycee"][1] == 0
    # Ille-et-Vilaine's écoles have real headcounts, the rest are estimated.
    real_ecoles = con.execute(
        "SELECT count(*) FROM schools WHERE level = 'ecole' AND NOT headcount_estimated"
    ).fetchall()[0][0]
    assert 500 < real_ecoles < 800
    assert rows["ecole"][1] == 32_494 - real_ecoles


def test_education_prioritaire_from_the_annuaire_files(con):
    ep = dict(con.execute("SELECT education_prioritaire, count(*) FROM schools GROUP BY 1").fetchall())
    assert set(ep) <= {"REP", "REP+", "hors_ep", "inconnu"}
    assert ep["REP"] > 0 and ep["REP+"] > 0
    # Only départements 35 and 94 have an annuaire extract: every other school is 'inconnu'.
    outside = con.execute(
        "SELECT count(*) FROM schools WHERE departement_code NOT IN ('35', '94') AND education_prioritaire <> 'inconnu'"
    ).fetchall()[0][0]
    assert outside == 0


def test_rural_urban_class_covers_almost_every_school(con):
    classes = dict(con.execute("SELECT rural_urban, count(*) FROM schools GROUP BY 1").fetchall())
    assert set(classes) == {"urbain", "intermediaire", "rural", None}
    assert classes[None] < 0.01 * sum(classes.values())
    paris = con.execute("SELECT count(*) FROM schools WHERE departement_code = '75' AND rural_urban <> 'urbain'").fetchall()[0][0]
    assert paris == 0


def test_ips_benchmarks_given_for_ecoles(con):
    row = con.execute(
        "SELECT count(ips_national), count(ips_academique_secteur) FROM schools WHERE level = 'ecole'"
    ).fetchall()[0]
    assert row[0] == 32_494 and row[1] > 32_000
