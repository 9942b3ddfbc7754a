"""Atkinson index (population-weighted).

Formula
-------
With inequality aversion ``epsilon >= 0``, weights ``w``, ``W = sum(w)``, mean ``mu``::

    A(eps) = 1 - ( sum_i w_i y_i^(1 - eps) / W )^(1 / (1 - eps)) / mu     (eps != 1)
    A(1)   = 1 - exp( sum_i w_i ln y_i / W ) / mu                         (geometric mean)

``A(0) = 0``; ``0 <= A < 1``. For ``eps >= 1`` every unit with a positive weight needs ``y > 0``.
The "equally distributed equivalent" is ``mu * (1 - A)``.

References
----------
Atkinson, A. B. (1970). On the measurement of inequality. J Economic Theory 2:244-263.
PySAL ``inequality.atkinson`` (same formula with equal weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import nonnegative_outcome

__all__ = ["atkinson"]


def atkinson(y: Any, weights: Any, epsilon: float) -> float:
    """Weighted Atkinson index of a non-negative outcome for aversion ``epsilon >= 0``."""
    yy, w, mu = nonnegative_outcome(y, weights)
    eps = float(epsilon)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon}")
    if eps == 0:
        return 0.0
    pos = w > 0
    yp, wp = yy[pos], w[pos]
    if eps >= 1 and (yp <= 0).any():
        raise ValueError(
            "the Atkinson index with epsilon >= 1 needs y > 0 for every unit with a positive weight"
        )
    total = wp.sum()
    if eps == 1:
        ede = float(np.exp(np.dot(wp, np.log(yp)) / total))
    else:
        ede = float((np.dot(wp, yp ** (1.0 - eps)) / total) ** (1.0 / (1.0 - eps)))
    return float(max(1.0 - ede / mu, 0.0))
