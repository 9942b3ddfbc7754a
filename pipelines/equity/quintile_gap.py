"""Gap between the top and bottom family-weighted quintiles of the ranking variable (IPS).

Formula
-------
Each unit (school) is placed in the quintile containing the mid-point of its cumulative weight
share, i.e. its ridit ``r`` (``ridit.py``): quintile ``q = ceil(5 r)`` (``1..5``; a mid-point
falling exactly on a boundary goes to the lower quintile). Quintiles therefore hold about 20 %
of the total weight each (exactly 20 % only if no school straddles a boundary; the realised
shares are returned), and tied ranks always share a quintile. Then::

    mean_q = sum_{i in q} w_i y_i / sum_{i in q} w_i
    difference = mean_5 - mean_1,  ratio = mean_5 / mean_1  (NaN if mean_1 = 0)

An empty quintile (possible with very few, very large schools) has a NaN mean.

Interval of the difference (school as the unit): each quintile mean is a ratio of sums over its
schools, whose linearised variance (Cochran 1977, section 6.3; the cluster-robust variance of a
weighted mean) is::

    var(mean_q) = m_q / (m_q - 1) * sum_{i in q} w_i^2 (y_i - mean_q)^2 / (sum_{i in q} w_i)^2

with ``m_q`` schools in the quintile; the two quintiles are independent, so
``se = sqrt(var(mean_5) + var(mean_1))`` and the 95 % interval is ``difference -/+ 1.96 se``
(NaN when Q1 or Q5 has fewer than two schools).

References
----------
Cochran, W. G. (1977). Sampling Techniques, 3rd ed. Wiley.
Schlotheuber, A. & Hosseinpoor, A. R. (2022). IJERPH 19(6):3697 (difference and ratio between
the most- and least-advantaged quintiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scipy import stats

from ._validation import as_float_array, as_weights, check_conf_level, check_same_length
from .ridit import ridit

__all__ = ["QuintileGap", "quintile_gap", "weighted_quintile"]

_BOUNDARY_TOLERANCE = 1e-12


@dataclass(frozen=True)
class QuintileGap:
    """Quintile means (Q1 = lowest rank) with the Q5 - Q1 difference and Q5 / Q1 ratio."""

    means: np.ndarray
    weight_shares: np.ndarray
    difference: float
    ratio: float
    difference_se: float = float("nan")
    difference_lower: float = float("nan")
    difference_upper: float = float("nan")


def weighted_quintile(rank: Any, weights: Any) -> np.ndarray:
    """Family-weighted quintile (1..5) of each unit: ``ceil(5 * ridit)``."""
    rk = as_float_array(rank, "rank")
    w = as_weights(weights, len(rk))
    r = ridit(rk, w)
    return np.clip(np.ceil(5.0 * r - _BOUNDARY_TOLERANCE), 1, 5).astype(int)


def _mean_variance(y: np.ndarray, w: np.ndarray) -> float:
    """Linearised variance of the weighted mean of one quintile's schools (NaN below two schools)."""
    if len(y) < 2:
        return float("nan")
    mean = np.dot(w, y) / w.sum()
    return float(len(y) / (len(y) - 1) * np.sum(w**2 * (y - mean) ** 2) / w.sum() ** 2)


def quintile_gap(y: Any, weights: Any, rank: Any, *, conf_level: float = 0.95) -> QuintileGap:
    """Weighted means of ``y`` by family-weighted quintile of ``rank``, Q5 - Q1 (with its interval) and Q5 / Q1."""
    conf_level = check_conf_level(conf_level)
    yy = as_float_array(y, "y")
    rk = as_float_array(rank, "rank")
    check_same_length(len(yy), rank=rk)
    w = as_weights(weights, len(yy))
    q = weighted_quintile(rk, w)
    wq = np.bincount(q - 1, weights=w, minlength=5)
    sq = np.bincount(q - 1, weights=w * yy, minlength=5)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(wq > 0, sq / np.where(wq > 0, wq, 1.0), np.nan)
    q1, q5 = float(means[0]), float(means[4])
    ratio = q5 / q1 if q1 != 0 and np.isfinite(q1) else float("nan")
    keep = w > 0
    se = float(np.sqrt(sum(_mean_variance(yy[(q == k) & keep], w[(q == k) & keep]) for k in (1, 5))))
    half = float(stats.norm.ppf(1.0 - (1.0 - conf_level) / 2.0)) * se
    return QuintileGap(means=means, weight_shares=wq / w.sum(), difference=q5 - q1, ratio=ratio,
                       difference_se=se, difference_lower=q5 - q1 - half, difference_upper=q5 - q1 + half)
