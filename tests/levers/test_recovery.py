"""The levers' methods recover effects planted by the generator (several seeds, sizes other than the
defaults, zero included): the workshop event study, the naive comparison's bias, the context model."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from pipelines.levers import context_model as cm
from pipelines.levers import workshop_did as did
from pipelines.levers.design import covariates
from pipelines.levers.naive_comparison import naive_difference
from tests.levers.simulated import Run, runs

COVERAGE = 0.90
CONTEXT_TERMS = {"ips_sd": "z_ips", "household_equipment_rate": "household_equipment_rate",
                 "teacher_ent_training_rate": "teacher_ent_training_rate", cm.WORKSHOP: "workshop"}


@lru_cache(maxsize=None)
def end_of_year(run: Run, scale: str) -> did.Estimate:
    gte = did.group_time_effects(run.data.panel, run.data.schools, run.event_study_covariates(), scale, event_times=())
    return did.end_of_year_effect(gte)


def test_simulated_runs_hold_enough_workshop_schools():
    for run in runs():
        assert end_of_year(run, "logit").n_schools >= 8, run.seed


def test_workshop_interval_covers_the_planted_effect():
    logit = [end_of_year(r, "logit") for r in runs()]
    inside = [e.ci_low <= r.planted["workshop"] <= e.ci_high for r, e in zip(runs(), logit)]
    assert np.mean(inside) >= COVERAGE, [(r.planted["workshop"], round(e.estimate, 3)) for r, e in zip(runs(), logit)]
    points = [(end_of_year(r, "points"), r.true_points(r.event_study_covariates().index)) for r in runs()]
    assert np.mean([e.ci_low <= truth <= e.ci_high for e, truth in points]) >= COVERAGE
    errors = [e.estimate - r.planted["workshop"] for r, e in zip(runs(), logit)]
    assert abs(np.mean(errors)) < 0.05  # no bias beyond noise


def test_workshop_interval_excludes_zero_when_the_effect_is_large_enough():
    for run in runs():
        if run.planted["workshop"] >= 0.3:
            for scale in did.SCALES:
                assert end_of_year(run, scale).ci_low > 0, (run.seed, run.planted, scale)


def test_naive_comparison_is_biased_and_the_event_study_is_not():
    naive = np.array([naive_difference(r.data.schools, "logit")[0] - r.planted["workshop"] for r in runs()])
    event_study = np.array([end_of_year(r, "logit").estimate - r.planted["workshop"] for r in runs()])
    # Workshops go to disadvantaged schools: comparing schools with and without one understates the effect.
    assert naive.mean() < -0.15 and (naive < 0).mean() >= 0.75
    assert np.abs(event_study).mean() < np.abs(naive).mean() / 3


def test_event_study_leads_show_no_pre_trend():
    for run in runs()[::4]:
        gte = did.group_time_effects(run.data.panel, run.data.schools, run.event_study_covariates(), "logit")
        study = did.event_study(gte)
        assert -1 not in set(study["event_time"]) and study["event_time"].min() < -1
        leads = study[study["event_time"] < -1]
        assert ((leads["band_low"] <= 0) & (leads["band_high"] >= 0)).all(), run.seed
        post = study[study["event_time"] >= 4]
        if run.planted["workshop"] >= 0.3:
            assert (post["ci_low"] > 0).all()
        assert did.pre_trend_test(gte)[2] > 0.001


def test_data_gap_weeks_are_ignored():
    run = runs()[5]
    schools, panel, x = run.data.schools, run.data.panel, run.event_study_covariates()
    held = schools.loc[schools["workshop_date"].notna(), "uai"].head(4)
    cohort = pd.to_datetime(schools.set_index("uai").loc[held, "workshop_date"]).dt.to_period("W-SUN").dt.start_time
    base = dict(zip(held, cohort - pd.Timedelta(days=7)))
    hit = panel["uai"].map(base).eq(panel["week_start"])  # their base weeks
    broken = panel.assign(active_to_date=np.where(hit, 0, panel["active_to_date"]))
    flagged = broken.assign(valid=~hit)

    reference = did.group_time_effects(panel, schools, x, "logit", event_times=())
    corrupted = did.group_time_effects(broken, schools, x, "logit", event_times=())
    ignored = did.group_time_effects(flagged, schools, x, "logit", event_times=())
    first, second, third = (did.end_of_year_effect(g).estimate for g in (reference, corrupted, ignored))
    assert abs(second - first) > 0.05  # a zero at the base week would be read as a huge effect
    assert abs(third - first) < 0.02  # flagged: the week before serves as base instead
    moved = ignored.cells[ignored.cells["cohort"].isin(cohort)]
    assert (moved["base_week"] < moved["cohort"] - pd.Timedelta(days=7)).any()


def _context(run: Run) -> cm.ContextFit:
    x, _ = covariates(run.data.schools, run.ips)
    return cm.fit_context_model(run.data.schools, x)


def test_context_coefficients_inside_their_intervals():
    inside = []
    for run in runs():
        table = cm.coefficient_table(_context(run)).set_index("term")
        for term, key in CONTEXT_TERMS.items():
            truth = run.coefficient(key)
            inside.append(table.loc[term, "ci_low"] <= truth <= table.loc[term, "ci_high"])
    assert np.mean(inside) >= COVERAGE, np.mean(inside)


def test_zero_planted_context_lever_is_not_found():
    for run in runs():
        if run.planted.get("household_equipment") == 0.0:
            row = cm.coefficient_table(_context(run)).set_index("term").loc["household_equipment_rate"]
            assert row["ci_low"] <= 0 <= row["ci_high"] or abs(row["estimate"]) < 0.5


def test_academie_effects_a_contexte_comparable():
    inside, estimates, truths = [], [], []
    for run in runs():
        fit = _context(run)
        table = cm.academie_effects(fit).set_index("academie_code")
        weights = fit.national_intercept_weights()
        planted = pd.Series(run.data.academie_effects).reindex(weights.index)
        truth = planted - float(weights @ planted)
        inside += list((table["logit_ci_low"] <= truth) & (truth <= table["logit_ci_high"]))
        estimates += list(table["logit"])
        truths += list(truth)
        assert (np.sign(table["points"]) == np.sign(table["logit"])).all()
    assert np.mean(inside) >= 0.85
    assert np.corrcoef(estimates, truths)[0, 1] > 0.7


@pytest.mark.parametrize("lever,term", [("teacher_training", "teacher_ent_training_rate"),
                                        ("household_equipment", "household_equipment_rate")])
def test_context_lever_in_points_follows_its_coefficient(lever, term):
    run = runs()[-1]  # teacher training 0, household equipment 4.0
    fit = _context(run)
    value, low, high = cm.lever_points(fit, term, 0.10)
    assert low <= value <= high
    coefficient = cm.coefficient_table(fit).set_index("term").loc[term, "estimate"]
    assert np.sign(value) == np.sign(coefficient)
    if lever == "household_equipment":
        assert low > 0
