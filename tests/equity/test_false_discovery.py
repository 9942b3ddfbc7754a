"""Benjamini-Hochberg flags of the funnel: q-values against an independent implementation, the false
discovery rate kept on a known mix of null and non-null schools, and the flags of ``flag_rows``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipelines.defs.equity.school_flag_measures import flag_rows
from pipelines.equity import FDR_LEVEL, fdr_flags


def test_q_values_match_scipy_and_nan_is_not_tested():
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(0, 1, 200), rng.normal(3.5, 1, 20), [np.nan]])
    out = fdr_flags(z)
    p = 2 * stats.norm.sf(np.abs(z[:-1]))
    assert out.q_value[:-1] == pytest.approx(stats.false_discovery_control(p, method="bh"), rel=1e-12)
    assert out.tests == 220 and np.isnan(out.q_value[-1]) and out.flag[-1] is None
    flagged = out.flag != None  # noqa: E711
    assert (flagged == (out.q_value <= FDR_LEVEL)).all()
    assert set(out.flag[flagged]) <= {"haut", "bas"} and (np.sign(z[flagged]) == np.where(
        out.flag[flagged] == "haut", 1, -1)).all()


def test_fdr_is_kept_on_a_known_mix_of_null_and_non_null_schools():
    """Families like a release (4,800 tests, 5 % truly different schools, effects of 2.5 to 5 sd):
    the mean share of false flags among the flags stays at most pi0 * 5 % (BH, independent tests),
    while flagging at 99.8 % without correction expects 0.2 % of the null tests to be flagged."""
    rng = np.random.default_rng(20251)
    m, non_null, families = 4800, 240, 60
    fdp, power, uncorrected_false = [], [], []
    for _ in range(families):
        effect = rng.uniform(2.5, 5, non_null) * rng.choice([-1, 1], non_null)
        truth = np.zeros(m)
        truth[:non_null] = effect
        z = truth + rng.normal(0, 1, m)
        flagged = fdr_flags(z).flag != None  # noqa: E711
        false = flagged & (truth == 0)
        fdp.append(false.sum() / max(flagged.sum(), 1))
        power.append(flagged[:non_null].mean())
        uncorrected_false.append(((np.abs(z) > stats.norm.ppf(0.999)) & (truth == 0)).sum())
    pi0 = 1 - non_null / m
    se = np.std(fdp) / np.sqrt(families)
    assert np.mean(fdp) <= pi0 * FDR_LEVEL + 3 * se
    assert np.mean(power) > 0.5
    assert np.mean(uncorrected_false) == pytest.approx(0.002 * (m - non_null), rel=0.25)


def test_flag_rows_flag_the_family_with_bh():
    rng = np.random.default_rng(0)
    n = 60
    loaded = rng.integers(50, 400, n)
    p = np.full(n, 0.4)
    p[:3] = [0.05, 0.9, 0.85]  # three schools truly apart
    rates = pd.DataFrame({
        "period_type": "school_year", "period": "2025-2026", "profile": "parent", "uai": [f"S{i:02d}" for i in range(n)],
        "academie_code": "A", "level": "college", "secteur": "public", "rural_urban": "urbain",
        "ips": np.linspace(80, 130, n), "loaded": loaded, "active": rng.binomial(loaded, p),
    })
    flags = flag_rows(rates).set_index("uai")
    tested = flags.dropna(subset=["funnel_z"])
    expected = fdr_flags(tested["funnel_z"].to_numpy())
    assert tested["funnel_q"].to_numpy() == pytest.approx(expected.q_value)
    assert tested["funnel_flag"].fillna("-").tolist() == [f or "-" for f in expected.flag]
    assert flags.loc["S00", "funnel_flag"] == "bas" and flags.loc["S01", "funnel_flag"] == "haut"
