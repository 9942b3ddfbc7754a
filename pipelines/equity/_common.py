"""Small helpers shared by the distribution-based measures (internal)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_float_array, as_weights


def nonnegative_outcome(y: Any, weights: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate a non-negative outcome and its weights; return ``(y, w, weighted mean)``.

    Raises ``ValueError`` if some ``y`` is negative or the weighted mean is zero.
    """
    yy = as_float_array(y, "y")
    w = as_weights(weights, len(yy))
    if (yy < 0).any():
        raise ValueError("y must be non-negative for this inequality measure")
    mu = float(np.dot(w, yy) / w.sum())
    if mu <= 0:
        raise ValueError("the weighted mean of y is 0: relative inequality is undefined")
    return yy, w, mu


def cumulative_shares(order_key: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (population share, outcome share) after sorting by ``order_key``.

    Units tied on ``order_key`` are merged into one step, so the result does not depend on
    the input order. The first point is (0, 0) and the last (1, 1).
    """
    levels, inverse = np.unique(order_key, return_inverse=True)
    pop = np.bincount(inverse, weights=w, minlength=len(levels))
    out = np.bincount(inverse, weights=w * y, minlength=len(levels))
    x = np.concatenate(([0.0], np.cumsum(pop) / pop.sum()))
    s = np.concatenate(([0.0], np.cumsum(out) / out.sum()))
    x[-1] = 1.0
    s[-1] = 1.0
    return x, s
