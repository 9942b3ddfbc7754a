"""The levers assets run in the indicators job of the demo pipeline and write their stable tables."""

from __future__ import annotations

import pytest

from pipelines.defs.levers.assets import replace_year
from pipelines.jobs import indicators_job

TABLES = {
    "parent_activity_to_date": ["school_year", "uai", "week_start", "active_to_date", "loaded", "valid"],
    "lever_effects": ["school_year", "lever", "scope", "profile", "scale", "method", "estimate", "ci_low", "ci_high",
                      "n_schools", "unit"],
    "workshop_event_study": ["school_year", "event_time", "estimate", "se", "ci_low", "ci_high", "n_schools",
                             "band_low", "band_high", "scope", "scale", "profile"],
    "context_coefficients": ["school_year", "term", "estimate", "se", "ci_low", "ci_high", "profile", "n_schools",
                             "dispersion"],
    "academie_context_effects": ["school_year", "academie_code", "n_schools", "estimate", "ci_low", "ci_high", "scale",
                                 "profile"],
    "gap_decomposition": ["school_year", "gap", "scope", "component", "estimate", "ci_low", "ci_high", "n_schools",
                          "profile"],
    "workshop_targets": ["school_year", "uai", "academie_code", "loaded", "active", "active_rate", "extra_active",
                         "extra_active_low", "extra_active_high", "rank", "profile"],
}


def test_levers_are_in_the_indicators_job(ent_data_dir):
    from pipelines.definitions import build_defs

    keys = {k.to_user_string() for k in indicators_job.selection.resolve(build_defs().resolve_asset_graph())}
    assert set(TABLES) | {"workshop_scenarios"} <= keys


def test_tables_written_with_their_columns(demo_warehouse):
    _, outcome, con = demo_warehouse
    assert outcome.success and not [c for c in outcome.failed_checks if "lever" in c or "workshop" in c]
    for table, columns in TABLES.items():
        assert [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall()] == columns, table


def test_lever_effects_hold_every_method(demo_warehouse):
    _, _, con = demo_warehouse
    rows = {(lever, scope, scale, method) for lever, scope, scale, method in con.execute(
        "SELECT lever, scope, scale, method FROM lever_effects").fetchall()}
    for scale in ("logit", "points"):
        assert {("workshop", "FR", scale, m) for m in ("did_event_study", "naive", "context_glm")} <= rows
        assert {(lever, "FR", scale, "context_glm") for lever in ("teacher_training", "household_equipment")} <= rows
    assert con.execute("SELECT count(*) FROM workshop_event_study WHERE event_time < -1").fetchall()[0][0] > 0


def test_activity_to_date_ends_at_the_school_year_rate(demo_warehouse):
    _, _, con = demo_warehouse
    differ = con.execute("""
        SELECT count(*) FROM parent_activity_to_date t
        JOIN adoption_school a ON a.period_type = 'school_year' AND a.period = t.school_year AND a.uai = t.uai
             AND a.profile = 'parent' AND a.source = 'events'
        WHERE t.week_start = (SELECT max(week_start) FROM parent_activity_to_date) AND t.active_to_date <> a.active
    """).fetchall()[0][0]
    assert differ == 0


def test_replace_year_is_idempotent_and_atomic(tmp_path):
    import duckdb
    import pandas as pd

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    frame = pd.DataFrame({"lever": ["workshop"], "estimate": [0.5]})
    assert replace_year(con, "t", frame, "2025-2026") == 1
    assert replace_year(con, "t", frame, "2025-2026") == 1
    replace_year(con, "t", frame.assign(estimate=0.7), "2024-2025")
    assert con.execute("SELECT count(*), sum(estimate) FROM t").fetchall()[0] == (2, pytest.approx(1.2))
    with pytest.raises(Exception):
        replace_year(con, "t", pd.DataFrame({"lever": ["workshop"], "estimate": ["not a number"]}), "2025-2026")
    assert con.execute("SELECT count(*) FROM t WHERE school_year = '2025-2026'").fetchall()[0][0] == 1
    # A table written before a column existed gains it: NULL in the year written before
    replace_year(con, "t", frame.assign(sii_refusal=pd.Series(["thin_side"], dtype="string")), "2025-2026")
    assert con.execute("SELECT school_year, sii_refusal FROM t ORDER BY 1").fetchall() == [
        ("2024-2025", None), ("2025-2026", "thin_side")]


def test_no_workshop_gives_no_workshop_row_and_empty_years_are_cleared(tmp_path):
    import duckdb
    import pandas as pd

    from pipelines.defs.levers import rows
    from tests.levers.simulated import runs

    run = runs()[0]
    schools = run.data.schools.assign(workshop_date=pd.NaT)
    inputs = rows.LeverInputs("2025-2026", schools, run.data.panel, run.ips)
    effects, study, _ = rows.workshop_rows(inputs)
    assert effects == [] and study.empty
    context_effects, coefficients, _ = rows.context_rows(rows.context_fit(inputs))
    assert {e["lever"] for e in context_effects} == {"teacher_training", "household_equipment"}
    assert rows.context_rows(None)[0] == []

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert replace_year(con, "lever_effects", pd.DataFrame(effects), "2025-2026") == 0  # no table created
    replace_year(con, "t", pd.DataFrame({"estimate": [0.5]}), "2025-2026")
    assert replace_year(con, "t", pd.DataFrame({"estimate": []}), "2025-2026") == 0
    assert con.execute("SELECT count(*) FROM t").fetchall()[0][0] == 0
