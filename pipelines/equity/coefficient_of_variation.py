"""Coefficient of variation (population-weighted).

Formula
-------
``CV = sqrt( sum_i w_i (y_i - mu)^2 / W ) / mu`` with ``W = sum(w)`` and ``mu = sum(w y)/W``:
the weighted population standard deviation (denominator ``W``, no ``n - 1`` correction)
divided by the weighted mean.

Reference
---------
Schlotheuber, A. & Hosseinpoor, A. R. (2022). Summary measures of health inequality.
IJERPH 19(6):3697 (coefficient of variation = between-group standard deviation / mean; WHO
healthequal ``R/covar.R``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import nonnegative_outcome

__all__ = ["coefficient_of_variation"]


def coefficient_of_variation(y: Any, weights: Any) -> float:
    """Weighted standard deviation of ``y`` divided by its weighted mean (``y >= 0``, mean > 0)."""
    yy, w, mu = nonnegative_outcome(y, weights)
    var = float(np.dot(w, (yy - mu) ** 2) / w.sum())
    return float(np.sqrt(var) / mu)
