"""Gini coefficient (population-weighted).

Formula
-------
With weights ``w``, ``W = sum(w)`` and mean ``mu``::

    G = sum_i sum_j w_i w_j |y_i - y_j| / (2 W^2 mu)
      = 2 cov_w(y, r) / mu,

where ``r = ridit(y, w)`` is the weighted mid-point rank of each unit by its own outcome (the
two forms are algebraically identical; the second, used here, is O(n log n)). It is the
concentration index of ``y`` ranked by ``y`` and twice the area between the diagonal and the
Lorenz curve. ``0 <= G < 1`` for non-negative ``y``; 0 means all units equal.

With equal weights this is the "population" Gini ``sum|y_i - y_j| / (2 n^2 mu)``, as in PySAL
``inequality.gini.Gini`` (no ``n/(n-1)`` small-sample correction).

References
----------
Gini, C. (1912). Variabilità e mutabilità. Bologna.
Lerman, R. I. & Yitzhaki, S. (1984). A note on the calculation and interpretation of the Gini
index. Economics Letters 15:363-368 (covariance form).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import nonnegative_outcome
from .ridit import ridit

__all__ = ["gini"]


def gini(y: Any, weights: Any) -> float:
    """Weighted Gini coefficient ``2 cov_w(y, ridit(y)) / mu`` of a non-negative outcome."""
    yy, w, mu = nonnegative_outcome(y, weights)
    r = ridit(yy, w)
    total = w.sum()
    rbar = float(np.dot(w, r) / total)
    g = 2.0 * float(np.dot(w, (yy - mu) * (r - rbar))) / (total * mu)
    return max(g, 0.0)  # G >= 0 mathematically; clip round-off like -1e-17
