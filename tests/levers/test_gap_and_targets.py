"""Gap explanation on simulated data (a lever planted at zero explains nothing, a strong one explains a
share of the IPS gap) and the workshop targets / budget scenarios on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.equity.sii_rii import sii_rii
from pipelines.levers.design import covariates
from pipelines.levers.gap_decomposition import GAP_COMPONENTS, gap_decomposition
from pipelines.levers.workshop_targets import budget_scenarios, extra_active_parents, rank_schools
from tests.levers.simulated import runs


def _quintile(schools: pd.DataFrame, index: pd.Index) -> pd.Series:
    """National IPS quintiles of the simulated schools (parent-weighted, as the warehouse computes them)."""
    s = schools.loc[index].sort_values("ips")
    share = (s["loaded"].cumsum() - s["loaded"] / 2) / s["loaded"].sum()
    return np.minimum(5, 1 + np.floor(5 * share)).astype(int).reindex(index)


def _decompose(run, n_boot: int = 19) -> pd.DataFrame:
    x, keep = covariates(run.data.schools, run.ips)
    return gap_decomposition(run.data.schools, x, _quintile(run.data.schools, x.index), n_boot=n_boot, seed=1)


@pytest.fixture(scope="module")
def decompositions() -> dict[str, pd.DataFrame]:
    all_runs = runs()
    return {"equipment_zero": _decompose(all_runs[4]), "equipment_strong": _decompose(all_runs[8])}


def test_parts_add_up(decompositions):
    for frame in decompositions.values():
        for (gap, scope), rows in frame.groupby(["gap", "scope"]):
            parts = rows.set_index("component")["estimate"]
            assert parts["gap"] == pytest.approx(parts["explained"] + parts["unexplained"])
            detail = parts.drop(list(GAP_COMPONENTS))
            assert detail.sum() == pytest.approx(parts["explained"])
            assert (rows["ci_low"] <= rows["ci_high"]).all()
        assert {"ips_q5_q1", "academie"} == set(frame["gap"])


def test_zero_lever_explains_nothing_and_strong_one_explains_the_ips_gap(decompositions):
    zero = decompositions["equipment_zero"].query("gap == 'ips_q5_q1'").set_index("component")
    strong = decompositions["equipment_strong"].query("gap == 'ips_q5_q1'").set_index("component")
    assert strong.loc["gap", "estimate"] > 10  # Q5 families are far more active than Q1 ones
    assert strong.loc["household_equipment", "ci_low"] > 0
    assert abs(zero.loc["household_equipment", "estimate"]) < strong.loc["household_equipment", "estimate"] / 2
    assert zero.loc["ips", "ci_low"] > 0  # IPS itself still explains part of it


def _schools() -> pd.DataFrame:
    return pd.DataFrame({
        "uai": list("ABCDEFG"), "academie_code": ["01"] * 5 + ["02"] * 2,
        "loaded": [100, 400, 1000, 50, 300, 200, 200], "active": [10, 200, 300, 40, 150, 20, 100],
        "ips": [80.0, 95.0, 110.0, 120.0, 130.0, 90.0, 120.0],
        "workshop_date": [pd.NaT, pd.NaT, pd.NaT, pd.NaT, pd.Timestamp("2025-12-01"), pd.NaT, pd.NaT],
    })


def test_extra_active_parents_grow_with_the_effect_and_vanish_at_zero():
    active, loaded = np.array([10.0, 200.0]), np.array([100.0, 400.0])
    assert extra_active_parents(active, loaded, 0.0) == pytest.approx([0, 0], abs=1e-9)
    small, large = extra_active_parents(active, loaded, 0.3), extra_active_parents(active, loaded, 0.9)
    assert (small > 0).all() and (large > small).all()
    assert (large < loaded - active).all()


def test_ranking_leaves_out_workshop_schools_and_orders_by_gain():
    ranking = rank_schools(_schools(), 0.6, 0.4, 0.8)
    assert "E" not in set(ranking["uai"])
    for _, rows in ranking.groupby("academie_code"):
        assert list(rows["rank"]) == list(range(1, len(rows) + 1))
        assert rows["extra_active"].is_monotonic_decreasing
    assert (ranking["extra_active_low"] <= ranking["extra_active"]).all()
    assert (ranking["extra_active"] <= ranking["extra_active_high"]).all()


def _guarded_schools() -> pd.DataFrame:
    """Académie 01: 12 schools spread over the IPS range (the SII passes the fit guards); 03: 6 schools (too
    few); 04: 12 schools, one holding most accounts, 3 below the weighted median IPS (a thin side)."""
    rng = np.random.default_rng(3)
    loaded = rng.integers(80, 600, 30)
    ips = np.concatenate([np.linspace(75, 135, 12), np.linspace(80, 130, 6), np.linspace(80, 130, 12)])
    loaded[18:] = [10, 10, 10, 3000, *[3] * 8]
    active = np.round(loaded * np.clip(0.1 + (ips - 75) / 100 + rng.normal(0, 0.05, 30), 0.02, 0.95))
    return pd.DataFrame({
        "uai": [f"S{i:02d}" for i in range(30)], "academie_code": ["01"] * 12 + ["03"] * 6 + ["04"] * 12,
        "loaded": loaded, "active": active, "ips": ips, "workshop_date": pd.NaT,
    })


def test_budget_scenario_adds_the_top_gains_and_gives_both_siis_their_intervals():
    schools = _guarded_schools()
    ranking = rank_schools(schools, 0.6, 0.4, 0.8)
    scenarios = budget_scenarios(schools, ranking, 0.6, 0.1, budgets=(1, 2, 3), n_draws=50)
    mine = schools[schools["academie_code"] == "01"]
    top = ranking[ranking["academie_code"] == "01"].head(2)
    row = scenarios[(scenarios["academie_code"] == "01") & (scenarios["workshops"] == 2)].iloc[0]
    assert row["points"] == pytest.approx(100 * top["extra_active"].sum() / mine["loaded"].sum())
    assert row["points_ci_low"] <= row["points"] <= row["points_ci_high"]
    loaded, ips = mine["loaded"].to_numpy(float), mine["ips"].to_numpy()
    before = sii_rii(mine["active"].to_numpy(float) / loaded, loaded, ips)
    active = mine.set_index("uai")["active"].astype(float)
    active[top["uai"]] += top["extra_active"].to_numpy()
    after = sii_rii((active / mine.set_index("uai")["loaded"]).to_numpy(), loaded, ips)
    assert pd.isna(row["sii_refusal"])
    for name, fit in (("sii_before", before), ("sii_after", after)):  # the Wald interval of each linear fit
        assert [row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"]] == pytest.approx(
            [100 * fit.sii, 100 * fit.sii_lower, 100 * fit.sii_upper])
        assert row[f"{name}_ci_low"] < row[name] < row[f"{name}_ci_high"]
    assert row["sii_after"] == pytest.approx(row["sii_before"] + row["sii_change"])
    assert row["sii_change_ci_low"] <= row["sii_change"] <= row["sii_change_ci_high"]


def test_budget_scenario_below_the_fit_guards_has_a_rate_gain_and_no_sii():
    schools = _guarded_schools()
    scenarios = budget_scenarios(schools, rank_schools(schools, 0.6, 0.4, 0.8), 0.6, 0.1, budgets=(1, 2, 3),
                                 n_draws=50).set_index(["academie_code", "workshops"])
    sii = [c for c in scenarios.columns if c.startswith("sii_") and c != "sii_refusal"]
    assert scenarios.loc["01", sii].notna().all().all()
    for code, reason in (("03", "too_few_schools"), ("04", "thin_side")):
        mine = scenarios.loc[code]
        assert (mine["sii_refusal"] == reason).all() and mine[sii].isna().all().all(), code
        assert (mine["points"] > 0).all()
