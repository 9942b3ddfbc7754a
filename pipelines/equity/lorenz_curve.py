"""Lorenz curve: cumulative outcome share against cumulative population share, by outcome.

Formula
-------
Sort units by the outcome itself (smallest first; tied outcomes merged into one step) and join
(0, 0) with ``( sum_{j<=i} w_j / W , sum_{j<=i} w_j y_j / sum_j w_j y_j )``. The Gini
coefficient is twice the area between the diagonal and this curve.

Reference
---------
Lorenz, M. O. (1905). Methods of measuring the concentration of wealth. Publications of the
American Statistical Association 9(70):209-219.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import cumulative_shares, nonnegative_outcome

__all__ = ["lorenz_curve"]


def lorenz_curve(y: Any, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(population_share, outcome_share)`` of the weighted Lorenz curve of ``y``.

    ``y`` must be non-negative with a positive weighted mean. Both returned arrays start at 0 and
    end at 1 (one point per distinct value of ``y`` plus the origin).
    """
    yy, w, _ = nonnegative_outcome(y, weights)
    return cumulative_shares(yy, yy, w)
