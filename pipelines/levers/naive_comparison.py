"""The naive comparison: school-year parent active rates of schools that held a workshop against the others.

Both groups' schools are averaged with equal weight (the event study's effect is a mean over schools too):
in points, the difference of mean rates; on the logit scale, the difference of mean empirical logits; Welch
intervals. Workshops are targeted at disadvantaged schools, so this comparison mixes the workshop's effect
with who gets one: it is shown as the biased baseline, never as an effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from pipelines.levers.design import logit_rate


def naive_difference(schools: pd.DataFrame, scale: str, conf: float = 0.95) -> tuple[float, float, float, int]:
    """(estimate, ci_low, ci_high, schools with a workshop) for ``scale`` 'points' or 'logit'."""
    s = schools[schools["loaded"] > 0]
    held = s["workshop_date"].notna().to_numpy()
    k, n = s["active"].to_numpy(float), s["loaded"].to_numpy(float)
    y = 100 * k / n if scale == "points" else logit_rate(k, n)
    if held.sum() < 2 or (~held).sum() < 2:
        return np.nan, np.nan, np.nan, int(held.sum())
    compare = CompareMeans(DescrStatsW(y[held]), DescrStatsW(y[~held]))
    low, high = compare.tconfint_diff(alpha=1 - conf, usevar="unequal")
    return float(y[held].mean() - y[~held].mean()), float(low), float(high), int(held.sum())
