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

Reference
---------
Schlotheuber, A. & Hosseinpoor, A. R. (2022). IJERPH 19(6):3697 (difference and ratio between
the most- and least-advantaged quintiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import as_float_array, as_weights, check_same_length
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


def weighted_quintile(rank: Any, weights: Any) -> np.ndarray:
    """Family-weighted quintile (1..5) of each unit: ``ceil(5 * ridit)``."""
    rk = as_float_array(rank, "rank")
    w = as_weights(weights, len(rk))
    r = ridit(rk, w)
    return np.clip(np.ceil(5.0 * r - _BOUNDARY_TOLERANCE), 1, 5).astype(int)


def quintile_gap(y: Any, weights: Any, rank: Any) -> QuintileGap:
    """Weighted means of ``y`` by family-weighted quintile of ``rank``, Q5 - Q1 and Q5 / Q1."""
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
    return QuintileGap(means=means, weight_shares=wq / w.sum(), difference=q5 - q1, ratio=ratio)
