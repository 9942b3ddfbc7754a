"""Population-weighted ridit (weighted fractional rank) of each unit.

Formula
-------
Sort units by ``rank_values`` (ascending: the most disadvantaged, e.g. the lowest IPS, first).
With ``W = sum(w)`` and ``C(v) = sum of w_j over units with rank_value_j < v``, the ridit of a
unit whose rank value is ``v`` is the mid-point of the cumulative weight share covered by all
units tied at ``v``::

    ridit(v) = (C(v) + 0.5 * sum(w_j : rank_value_j == v)) / W

so ties share the same ridit, the weighted mean ridit is exactly 1/2 and ridits lie in (0, 1).

Reference
---------
Bross, I. D. J. (1958). How to use ridit analysis. Biometrics 14:18-38.
Schlotheuber, A. & Hosseinpoor, A. R. (2022). Summary measures of health inequality.
IJERPH 19(6):3697 (the ``rank`` built in WHO healthequal, e.g. ``R/sii.R``: ``(cumwr1 + 0.5 *
(cumwr - cumwr1)) / sumw`` with ties grouped by ``subgroup_order``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_float_array, as_weights

__all__ = ["ridit"]


def ridit(rank_values: Any, weights: Any) -> np.ndarray:
    """Population-weighted ridit of each unit (see module docstring for the formula).

    Parameters
    ----------
    rank_values : array-like
        Ranking variable (e.g. the school's IPS); higher means more advantaged.
    weights : array-like
        Non-negative population weights (loaded parent accounts).

    Returns
    -------
    numpy.ndarray
        Ridit of each unit in input order, in (0, 1) for units with a positive weight.
    """
    v = as_float_array(rank_values, "rank_values")
    w = as_weights(weights, len(v))
    total = w.sum()
    levels, inverse = np.unique(v, return_inverse=True)
    level_weight = np.bincount(inverse, weights=w, minlength=len(levels))
    before = np.concatenate(([0.0], np.cumsum(level_weight)[:-1]))
    level_ridit = (before + 0.5 * level_weight) / total
    return level_ridit[inverse]
