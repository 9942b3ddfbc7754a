"""The levers in the release (pipelines/defs/publication/levers.py): refitted on the published schools only,
so a hidden school is in no levers table and moves no published figure; empty tables without the inputs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.defs.levers import rows as r
from pipelines.defs.publication.levers import TABLES
from pipelines.defs.publication.publish import publish_serving
from testing_support.fake_warehouse import TEST_FAKE, build_fake_warehouse
from tests.conftest import REFERENCE_DIR

YEAR = "2025-2026"


def _published_parents(serving) -> set[str]:
    return {u for (u,) in serving.execute(
        "SELECT uai FROM school_adoption WHERE period_type = 'school_year' AND profile = 'parent' "
        "AND NOT suppressed").fetchall()}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The test fake with its levers' inputs, one Créteil workshop school made secret (one active parent over
    the school year), published."""
    root = tmp_path_factory.mktemp("levers_release")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    build_fake_warehouse(con, REFERENCE_DIR, **TEST_FAKE)
    hidden = con.execute("""
        SELECT min(w.uai) FROM mediation_workshops w JOIN schools s USING (uai) WHERE s.academie_code = '24'
    """).fetchall()[0][0]
    con.execute("UPDATE adoption_school SET active = 1, active_rate = 1 / loaded WHERE uai = ? "
                "AND period_type = 'school_year' AND profile = 'parent'", [hidden])
    publish_serving(con, root / "serving.duckdb", reference=REFERENCE_DIR)
    serving = duckdb.connect(str(root / "serving.duckdb"), read_only=True)
    yield con, serving, hidden
    serving.close()
    con.close()


def test_a_hidden_school_is_in_no_levers_table(release):
    con, serving, hidden = release
    published = _published_parents(serving)
    assert hidden not in published
    targets = {u for (u,) in serving.execute("SELECT uai FROM levers_targets").fetchall()}
    assert targets and targets <= published and hidden not in targets
    used, total = serving.execute("SELECT schools_used, schools_total FROM levers_fit").fetchall()[0]
    lever_schools = set(r.read_inputs(con, YEAR).schools["uai"])
    assert used == len(lever_schools & published) < total == len(lever_schools)
    for table in TABLES:  # no levers table names a school other than the ranking's published ones
        assert hidden not in str(serving.execute(f"SELECT * FROM {table}").fetchall()), table


def test_effects_are_the_fit_on_the_published_schools_not_the_warehouse_fit(release):
    con, serving, _ = release
    published = _published_parents(serving)
    key = ["lever", "scope", "scale", "method"]
    released = serving.execute(f"SELECT {', '.join(key)}, estimate, ci_low, ci_high, n_schools FROM levers_effects") \
        .df().set_index(key).sort_index()
    inputs = r.read_inputs(con, YEAR)
    refit = r.evaluation(inputs.restricted_to(published)).effects.set_index(key).sort_index()
    pd.testing.assert_frame_equal(released, refit[released.columns], check_dtype=False)
    everyone = r.evaluation(inputs).effects.set_index(key)
    national = ("workshop", "FR", "points", "did_event_study")
    assert released.loc[national, "n_schools"] < everyone.loc[national, "n_schools"]
    assert released.loc[national, "estimate"] != pytest.approx(everyone.loc[national, "estimate"], abs=1e-6)


def test_an_academie_effect_needs_five_published_workshop_schools(release):
    con, serving, hidden = release
    published = _published_parents(serving)
    schools = r.read_inputs(con, YEAR).schools
    held = schools[schools["workshop_date"].notna() & schools["uai"].isin(published)]
    counts = held.groupby("academie_code").size()
    scopes = {s for (s,) in serving.execute(
        "SELECT DISTINCT scope FROM levers_effects WHERE lever = 'workshop' AND method = 'did_event_study'").fetchall()}
    assert scopes - {"FR"} == set(counts[counts >= r.MIN_TREATED_ACADEMIE].index)
    # The hidden school took Créteil below the minimum; with it, the warehouse has Créteil's own effect.
    assert "24" not in scopes
    assert "24" in set(r.evaluation(r.read_inputs(con, YEAR)).effects["scope"])
    # Rows of France have no académie; académie rows carry their code (the dashboard filters on it).
    assert serving.execute("SELECT count(*) FROM levers_effects WHERE (scope = 'FR') <> (academie_code IS NULL)"
                           ).fetchall()[0][0] == 0


@pytest.mark.parametrize("drop", [None, "parent_activity_to_date", "school_context"])
def test_without_the_levers_inputs_the_tables_are_published_empty(tmp_path: Path, drop):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        build_fake_warehouse(con, REFERENCE_DIR, academies=["14"], schools_per_academie=14, weeks=2, months=1,
                             trimesters=0, profiles=("parent",), with_levers=drop is not None)
        if drop:
            con.execute(f"DROP TABLE {drop}")
        summary = publish_serving(con, tmp_path / "serving.duckdb", reference=REFERENCE_DIR)
    assert {t: summary.tables[t] for t in TABLES} == {t: 0 for t in TABLES}


def test_scenarios_carry_both_sii_intervals_under_the_fit_guards(release):
    """Each published scenario SII has both bounds, or none and the guard's reason; which one is decided by
    the fit guards on the académie's published schools; the publish check's rules hold on the release."""
    from pipelines.defs.equity.checks import violations
    from pipelines.defs.levers.checks import SCENARIO_RULES
    from pipelines.equity import rank_support, ridit

    con, serving, _ = release
    scenarios = serving.execute("SELECT * FROM levers_scenarios").df()
    assert set(TABLES["levers_scenarios"].replace(",", "").split()[::2]) == set(scenarios.columns)
    assert violations(serving, "levers_scenarios", SCENARIO_RULES) == dict.fromkeys(SCENARIO_RULES, 0)
    schools = r.read_inputs(con, YEAR).restricted_to(_published_parents(serving)).schools
    schools = schools[(schools["loaded"] > 0) & schools["ips"].notna()]
    for code, rows in scenarios.groupby("academie_code"):
        mine = schools[schools["academie_code"] == code]
        sufficient = rank_support(ridit(mine["ips"].to_numpy(), mine["loaded"].to_numpy(float))).sufficient
        assert rows["sii_refusal"].isna().all() == sufficient, code
    shown = scenarios[scenarios["sii_refusal"].isna()]
    assert len(shown)
    for name in ("sii_before", "sii_after", "sii_change"):
        assert (shown[f"{name}_ci_low"] <= shown[name]).all() and (shown[name] <= shown[f"{name}_ci_high"]).all()
        assert (shown[f"{name}_ci_low"] < shown[f"{name}_ci_high"]).all()


def test_publish_refuses_a_scenario_sii_on_too_few_schools(release, tmp_path: Path, monkeypatch):
    con, _, _ = release
    where_to_act = r.where_to_act_rows

    def on_few_schools(*args):
        ranking, scenarios = where_to_act(*args)
        return ranking, scenarios.assign(n_schools=5)

    monkeypatch.setattr(r, "where_to_act_rows", on_few_schools)
    with pytest.raises(RuntimeError, match="sii_on_fewer_than_min_ranked_schools"):
        publish_serving(con, tmp_path / "serving.duckdb", reference=REFERENCE_DIR)
    assert not (tmp_path / "serving.duckdb").exists()
