"""Gap explanation: a gap in parent active rates between two sets of schools split into what composition
explains and what it does not (nonlinear Oaxaca-Blinder on the context model, detailed by Yun's weights).

For a group A against a reference R (rates weighted by loaded parent accounts, in points)::

    gap         = rate(A) - rate(R)                                       (observed)
    explained   = P(A) - P(R)     P(G) = parent-weighted mean over G of expit(x_s' beta + gamma·workshop_s + a)
    unexplained = gap - explained

Académie gap to the nation (R = every school): ``a`` is the national mean académie intercept for every
school, so ``explained`` is composition alone and ``unexplained`` is the académie effect plus what the
model misses. IPS Q5 - Q1 (A = the top national IPS quintile, R = the bottom one): ``a`` is each school's own
académie intercept, so where schools are (the académie) is one more composition factor.

Detailed split (Yun 2004): factor group k gets ``explained × Δ_k / Σ_j Δ_j`` with ``Δ_k`` the gap in the
parent-weighted means of its covariates times their coefficients. Intervals: percentile bootstrap over
schools (resampled within académie), refitting the model each time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.special import expit

from pipelines.levers.context_model import WORKSHOP, ContextFit, fit_context_model
from pipelines.levers.design import CONTEXT_GROUPS, FACTOR_GROUPS

ACADEMIE_GROUP = "academie"
GAP_COMPONENTS = ("gap", "explained", "unexplained")


def _groups(columns: list[str]) -> dict[str, list[str]]:
    groups = {g: [c for c in FACTOR_GROUPS[g] if c in columns] for g in CONTEXT_GROUPS}
    groups[WORKSHOP] = [WORKSHOP] if WORKSHOP in columns else []
    return {g: cols for g, cols in groups.items() if cols}


def decompose(fit: ContextFit, groups: np.ndarray, reference: np.ndarray, own_academie: bool) -> list[dict[str, float]]:
    """{gap, explained, unexplained, <factor group>...} in points for each row of ``groups`` (a boolean
    matrix: one row per group, one column per school) against the ``reference`` schools (a boolean vector)."""
    s = fit.schools
    loaded, active = s["loaded"].to_numpy(float), s["active"].to_numpy(float)
    theta = fit.params
    academie_cols = [f"academie_{c}" for c in fit.academies]
    x = fit.exog.drop(columns=academie_cols)
    own = fit.exog[academie_cols].to_numpy() @ theta[academie_cols].to_numpy()
    mean_intercept = float(fit.national_intercept_weights().to_numpy() @ theta[academie_cols].to_numpy())
    xs = x.to_numpy(float)
    eta = xs @ theta[x.columns].to_numpy() + (own if own_academie else mean_intercept)
    columns = np.column_stack([expit(eta), xs, own])  # predicted rate, covariates, académie intercept
    members = np.vstack([groups, reference[None, :]]).astype(float)
    weights = members * loaded[None, :]
    means = (weights @ columns) / weights.sum(axis=1, keepdims=True)
    rate = (members @ active) / (members @ loaded)
    diff = means[:-1] - means[-1]  # each group minus the reference
    k = xs.shape[1]
    contribution = diff[:, 1 : 1 + k] * theta[x.columns].to_numpy()[None, :]
    by_name = dict(zip(x.columns, contribution.T))
    out = []
    for i in range(len(groups)):
        delta = {g: float(sum(by_name[c][i] for c in cols)) for g, cols in _groups(list(x.columns)).items()}
        if own_academie:
            delta[ACADEMIE_GROUP] = float(diff[i, 1 + k])
        gap = 100 * float(rate[i] - rate[-1])
        explained = 100 * float(diff[i, 0])
        total = sum(delta.values())
        detail = {g: explained * d / total if total != 0 else np.nan for g, d in delta.items()}
        out.append({"gap": gap, "explained": explained, "unexplained": gap - explained, **detail})
    return out


def _all_gaps(fit: ContextFit, quintile: pd.Series) -> dict[str, dict[str, float]]:
    """Every académie against the nation, and Q5 - Q1 (``quintile``: national IPS quintile per row)."""
    codes = fit.schools["academie_code"].to_numpy()
    everyone = np.ones(len(codes), dtype=bool)
    academies = np.array(fit.academies)[:, None] == codes[None, :]
    gaps = dict(zip((f"academie:{c}" for c in fit.academies), decompose(fit, academies, everyone, own_academie=False)))
    q = quintile.reindex(fit.schools.index).to_numpy()
    if (q == 5).any() and (q == 1).any():
        gaps["ips_q5_q1:FR"] = decompose(fit, (q == 5)[None, :], q == 1, own_academie=True)[0]
    return gaps


def _bootstrap_rows(schools: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Row positions of one bootstrap sample: schools drawn with replacement within each académie."""
    codes = schools["academie_code"].to_numpy()
    picks = [rng.choice(np.flatnonzero(codes == c), size=(codes == c).sum(), replace=True) for c in np.unique(codes)]
    return np.concatenate(picks)


def gap_decomposition(schools: pd.DataFrame, x: pd.DataFrame, quintile: pd.Series, n_boot: int = 199,
                      conf: float = 0.95, seed: int = 0,
                      fit_model: Callable[..., ContextFit] = fit_context_model) -> pd.DataFrame:
    """Rows (gap, scope, component, estimate, ci_low, ci_high, n_schools): ``gap`` is ``academie`` (scope =
    académie code) or ``ips_q5_q1`` (scope FR); components: gap, explained, unexplained and each factor group."""
    fit = fit_model(schools, x)
    point = _all_gaps(fit, quintile)
    rng = np.random.default_rng(seed)
    draws: dict[tuple[str, str], list[float]] = {}
    used = schools.loc[fit.schools.index]
    for _ in range(n_boot):
        rows = _bootstrap_rows(used, rng)
        sample, xs, qs = used.iloc[rows], x.loc[used.index].iloc[rows], quintile.reindex(used.index).iloc[rows]
        index = pd.RangeIndex(len(rows))
        refit = fit_model(sample.set_axis(index), xs.set_axis(index), start=fit.params)
        for key, parts in _all_gaps(refit, qs.set_axis(index)).items():
            for component, value in parts.items():
                draws.setdefault((key, component), []).append(value)
    alpha = (1 - conf) / 2
    out = []
    codes = fit.schools["academie_code"]
    q = quintile.reindex(fit.schools.index)
    for key, parts in point.items():
        gap, scope = key.split(":")
        n = int((codes == scope).sum()) if gap == "academie" else int(q.isin([1, 5]).sum())
        for component, value in parts.items():
            values = np.asarray(draws.get((key, component), []), dtype=float)
            values = values[np.isfinite(values)]
            low, high = (np.quantile(values, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan))
            out.append({"gap": gap, "scope": scope, "component": component, "estimate": value,
                        "ci_low": float(low), "ci_high": float(high), "n_schools": n})
    return pd.DataFrame(out)
