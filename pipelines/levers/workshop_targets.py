"""Where to act: which schools one more mediation workshop would help most, and what a budget of K workshops
would do for an académie.

Expected extra active parents of school s from one workshop, for a workshop effect ``beta`` on the logit of
the school-year parent active rate (the event study's end-of-year effect)::

    extra_s = loaded_s · (expit(logit(p_s) + beta) - p_s),    p_s = (active_s + 1/2) / (loaded_s + 1)

with ``p_s`` the school's own rate this school year (schools that already held a workshop are left out).
The interval puts the ends of beta's interval in the same formula (extra_s rises with beta). Within an
académie, schools are ranked by ``extra_s``.

Budget scenario: the académie's K best-ranked schools hold a workshop. Reported: the académie's parent
active rate before and after (+x points), with an interval from draws of beta ~ N(estimate, se²), and its
linear SII on the IPS ridit (``pipelines.equity.sii_rii``) before and after, under the fit guards of the
published SII (``pipelines.equity.fit_guard``: at least 10 schools, 4 on each side of the weighted median
IPS, bounds in range; docs/equity_fit_guards.md). Before and after each carry the Wald 95 % interval of their
fit (the after fit on the rates the point estimate of beta gives); the change carries the interval of the
beta draws. A refused fit publishes no SII, no change and its reason (``sii_refusal``).

Assumptions: the effect is the same in every school on the logit scale (no heterogeneity is modelled),
workshops do not spill over to other schools, and the school's current rate is what it would keep without one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from pipelines.equity.fit_guard import sii_rii_refusal
from pipelines.equity.rank_support import rank_support
from pipelines.equity.ridit import ridit
from pipelines.equity.sii_rii import sii_rii
from pipelines.levers.design import logit_rate

BUDGETS = (1, 2, 3, 5, 10, 20)


def extra_active_parents(active: np.ndarray, loaded: np.ndarray, beta: float | np.ndarray) -> np.ndarray:
    """Expected extra active parent accounts from one workshop (broadcasts over an array of beta)."""
    active, loaded = np.asarray(active, dtype=float), np.asarray(loaded, dtype=float)
    p = (active + 0.5) / (loaded + 1)
    return loaded * (expit(logit_rate(active, loaded) + np.asarray(beta)[..., None]) - p)


def rank_schools(schools: pd.DataFrame, beta: float, beta_low: float, beta_high: float) -> pd.DataFrame:
    """Schools without a workshop this year, per académie, ranked by expected extra active parents."""
    s = schools[schools["workshop_date"].isna() & (schools["loaded"] > 0)]
    active, loaded = s["active"].to_numpy(float), s["loaded"].to_numpy(float)
    out = s[["uai", "academie_code", "loaded", "active"]].assign(
        active_rate=active / loaded,
        extra_active=extra_active_parents(active, loaded, beta),
        extra_active_low=extra_active_parents(active, loaded, beta_low),
        extra_active_high=extra_active_parents(active, loaded, beta_high),
    )
    out = out.sort_values(["academie_code", "extra_active", "uai"], ascending=[True, False, True])
    return out.assign(rank=out.groupby("academie_code").cumcount() + 1).reset_index(drop=True)


def _sii(rate: np.ndarray, loaded: np.ndarray, ips: np.ndarray) -> float:
    return 100 * sii_rii(rate, loaded, ips, model="linear").sii


def guarded_sii(rate: np.ndarray, loaded: np.ndarray, ips: np.ndarray) -> tuple[float, float, float] | str:
    """(SII, low, high) in points of the linear fit, or the reason the fit guards refuse it."""
    fit = sii_rii(rate, loaded, ips, model="linear")
    if (reason := sii_rii_refusal(fit, rank_support(ridit(ips, loaded)), "sii")) is not None:
        return reason
    return 100 * fit.sii, 100 * fit.sii_lower, 100 * fit.sii_upper


NO_SII = dict.fromkeys(("sii_before", "sii_before_ci_low", "sii_before_ci_high", "sii_after", "sii_after_ci_low",
                        "sii_after_ci_high", "sii_change", "sii_change_ci_low", "sii_change_ci_high"), np.nan)


def budget_scenarios(schools: pd.DataFrame, ranking: pd.DataFrame, beta: float, beta_se: float,
                     budgets: tuple[int, ...] = BUDGETS, n_draws: int = 200, conf: float = 0.95,
                     seed: int = 0) -> pd.DataFrame:
    """Per académie and K: rate and SII (points) before and after K workshops in the K best-ranked schools.

    The SII columns are NaN, and ``sii_refusal`` names the guard, when the académie's fit (before or after) is
    refused (``guarded_sii``). The linear SII is linear in the rates (a weighted least-squares slope with fixed weights and ridits), so
    the change is ``sum_k c_k · Δrate_k`` with ``c_k`` the SII of a unit rate at school k alone."""
    rng = np.random.default_rng(seed)
    betas = np.concatenate([[beta], rng.normal(beta, beta_se, n_draws)])
    alpha = (1 - conf) / 2
    rows = []
    for academie, mine in schools[(schools["loaded"] > 0) & schools["ips"].notna()].groupby("academie_code"):
        ranked = ranking[(ranking["academie_code"] == academie) & ranking["uai"].isin(mine["uai"])]
        if len(mine) < 3 or mine["ips"].nunique() < 2 or ranked.empty:
            continue
        loaded, active, ips = (mine[c].to_numpy(float) for c in ("loaded", "active", "ips"))
        position = pd.Series(np.arange(len(mine)), index=mine["uai"].to_numpy())
        top = position.reindex(ranked["uai"].head(max(budgets))).to_numpy(int)
        unit_sii = np.array([_sii(np.eye(len(mine))[k], loaded, ips) for k in top])
        gains = extra_active_parents(active[top], loaded[top], betas)  # (1 + draws, schools ranked)
        rate_before = active.sum() / loaded.sum()
        before = guarded_sii(active / loaded, loaded, ips)
        for k in (b for b in budgets if b <= len(top)):
            points = 100 * gains[:, :k].sum(axis=1) / loaded.sum()
            after_rate = active / loaded
            after_rate[top[:k]] += gains[0, :k] / loaded[top[:k]]
            after = guarded_sii(after_rate, loaded, ips) if not isinstance(before, str) else before
            if isinstance(after, str):
                sii = {**NO_SII, "sii_refusal": after}
            else:
                sii_change = (gains[:, :k] / loaded[top[:k]]) @ unit_sii[:k]
                sii = {"sii_before": before[0], "sii_before_ci_low": before[1], "sii_before_ci_high": before[2],
                       "sii_after": after[0], "sii_after_ci_low": after[1], "sii_after_ci_high": after[2],
                       "sii_change": sii_change[0], "sii_change_ci_low": np.quantile(sii_change[1:], alpha),
                       "sii_change_ci_high": np.quantile(sii_change[1:], 1 - alpha), "sii_refusal": None}
            rows.append({
                "academie_code": academie, "workshops": k, "n_schools": len(mine),
                "rate_before": 100 * rate_before, "rate_after": 100 * rate_before + points[0],
                "points": points[0], "points_ci_low": np.quantile(points[1:], alpha),
                "points_ci_high": np.quantile(points[1:], 1 - alpha),
                "extra_active": gains[0, :k].sum(), **sii,
            })
    return pd.DataFrame(rows).astype({"sii_refusal": "string"}) if rows else pd.DataFrame(rows)
