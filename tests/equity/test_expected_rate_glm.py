"""Reference tests for pipelines/equity/expected_rate_glm.py (hand-checkable cases)."""

import numpy as np
import pandas as pd
import pytest
from scipy import special

from pipelines.equity import design_matrix, expected_rate_glm


def test_saturated_group_model_returns_group_rates():
    # With one categorical covariate, the binomial GLM's fitted rate is each group's pooled rate:
    # group A: (10 + 30)/(50 + 50) = 0.4 ; group B: (20 + 40)/(100 + 100) = 0.3
    k = [10, 30, 20, 40]
    n = [50, 50, 100, 100]
    res = expected_rate_glm(k, n, pd.DataFrame({"secteur": ["A", "A", "B", "B"]}))
    np.testing.assert_allclose(res.expected, [0.4, 0.4, 0.3, 0.3], rtol=1e-8)
    np.testing.assert_allclose(res.difference, [-0.2, 0.2, -0.1, 0.1], atol=1e-8)
    # logit(0.3) - logit(0.4) for the B dummy
    assert res.params["secteur_B"] == pytest.approx(special.logit(0.3) - special.logit(0.4), rel=1e-8)


def test_recovers_a_logistic_gradient_and_balances_counts():
    # rates exactly on logit(p) = -1 + 0.02*(ips - 100) with large n: coefficients recovered
    ips = np.array([70.0, 85, 100, 115, 130, 145])
    n = np.full(6, 1_000_000)
    k = np.round(n * special.expit(-1 + 0.02 * (ips - 100)))
    frame = pd.DataFrame({"ips": ips - 100, "rural": [True, False, True, False, True, False]})
    res = expected_rate_glm(k, n, frame)
    assert res.params["const"] == pytest.approx(-1, abs=1e-4)
    assert res.params["ips"] == pytest.approx(0.02, abs=1e-5)
    assert res.params["rural"] == pytest.approx(0, abs=1e-4)
    # score equation of the canonical link with an intercept: sum n * (observed - expected) = 0
    assert np.sum(n * res.difference) == pytest.approx(0, abs=1e-3)
    np.testing.assert_allclose(res.expected_events, res.expected * n)


def test_design_matrix_dummies_and_array_input():
    frame = pd.DataFrame(
        {
            "ips": [90.0, 100.0, 110.0],
            "secteur": pd.Categorical(["public", "prive", "public"], categories=["public", "prive"]),
            "niveau": ["college", "lycee", "ecole"],
        }
    )
    design = design_matrix(frame)
    # reference levels: first category of the Categorical ("public"), first sorted string ("college")
    assert list(design.columns) == ["const", "ips", "secteur_prive", "niveau_ecole", "niveau_lycee"]
    np.testing.assert_array_equal(design["secteur_prive"], [0, 1, 0])
    arr = design_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert list(arr.columns) == ["const", "x1", "x2"]


def test_errors():
    with pytest.raises(ValueError, match="missing"):
        expected_rate_glm([1, 2, 3], [10, 10, 10], pd.DataFrame({"ips": [1.0, np.nan, 2.0]}))
    with pytest.raises(ValueError, match="length"):
        expected_rate_glm([1, 2, 3], [10, 10, 10], pd.DataFrame({"ips": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="cannot identify"):
        expected_rate_glm([1, 2], [10, 10], pd.DataFrame({"ips": [1.0, 2.0]}))
