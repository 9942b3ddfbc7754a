"""Gap between two groups: difference and ratio of weighted means.

Formula
-------
For groups ``high`` and ``low`` (e.g. secteur public / privé, hors EP / REP+, urbain / rural)::

    mean_g     = sum_{i in g} w_i y_i / sum_{i in g} w_i
    difference = mean_high - mean_low          (absolute gap, units of y)
    ratio      = mean_high / mean_low          (relative gap; NaN when mean_low = 0)

Reference
---------
Schlotheuber, A. & Hosseinpoor, A. R. (2022). IJERPH 19(6):3697 ("difference" D and "ratio" R,
WHO healthequal ``R/d.R`` and ``R/r.R``), with each group's estimate being the weighted mean of
its schools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import as_float_array, as_labels, as_weights

__all__ = ["GroupGap", "group_gap"]


@dataclass(frozen=True)
class GroupGap:
    """Weighted means of two groups, their difference (high - low) and ratio (high / low)."""

    high_mean: float
    low_mean: float
    difference: float
    ratio: float
    high_weight: float
    low_weight: float


def group_gap(y: Any, weights: Any, groups: Any, high: Any, low: Any) -> GroupGap:
    """Difference and ratio between the weighted means of group ``high`` and group ``low``.

    Raises ``ValueError`` if either group is absent or has a zero total weight.
    """
    yy = as_float_array(y, "y")
    w = as_weights(weights, len(yy))
    g = as_labels(groups, len(yy))
    means = {}
    totals = {}
    for label, name in ((high, "high"), (low, "low")):
        members = g == label
        if not members.any():
            raise ValueError(f"group {name}={label!r} has no unit")
        total = float(w[members].sum())
        if total <= 0:
            raise ValueError(f"group {name}={label!r} has a zero total weight")
        means[name] = float(np.dot(w[members], yy[members]) / total)
        totals[name] = total
    ratio = means["high"] / means["low"] if means["low"] != 0 else float("nan")
    return GroupGap(
        high_mean=means["high"],
        low_mean=means["low"],
        difference=means["high"] - means["low"],
        ratio=ratio,
        high_weight=totals["high"],
        low_weight=totals["low"],
    )
