"""Concentration curve: cumulative outcome share against cumulative population share by rank.

Formula
-------
Sort units by the ranking variable (lowest IPS first), merging units with tied ranks into one
step. The curve joins (0, 0) and the points

    ( sum_{j <= i} w_j / W ,  sum_{j <= i} w_j y_j / sum_j w_j y_j ).

It lies above the diagonal when the outcome is concentrated among the disadvantaged, below it
when concentrated among the advantaged; the concentration index is twice the area between the
diagonal and the curve (trapezoid rule; exact for the ridit/mid-point convention, ties included).

Reference
---------
O'Donnell, van Doorslaer, Wagstaff & Lindelow (2008). Analyzing Health Equity Using Household
Survey Data, World Bank, chapter 7 ("The concentration curve").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import cumulative_shares, nonnegative_outcome
from ._validation import as_float_array, check_same_length

__all__ = ["concentration_curve"]


def concentration_curve(y: Any, weights: Any, rank: Any) -> tuple[np.ndarray, np.ndarray]:
    """Points of the concentration curve of ``y`` ranked by ``rank``.

    Parameters
    ----------
    y : array-like
        Non-negative outcome per unit (rate or count).
    weights : array-like
        Non-negative weights (loaded parent accounts).
    rank : array-like
        Ranking variable (IPS).

    Returns
    -------
    (population_share, outcome_share) : tuple of numpy.ndarray
        Both start at 0 and end at 1; one point per distinct rank value plus the origin.
    """
    yy, w, _ = nonnegative_outcome(y, weights)
    rk = as_float_array(rank, "rank")
    check_same_length(len(yy), rank=rk)
    return cumulative_shares(rk, yy, w)
