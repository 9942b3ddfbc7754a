"""Overlap of a logit fit on one ranking variable: how far the data are from (quasi-)complete separation.

Model: the logit SII/RII (``sii_rii.py``) fits ``logit E[y_i] = a + b r_i`` to rates ``y_i`` in [0, 1]
with weights ``w_i`` (loaded accounts, so ``w_i y_i`` are the active accounts of unit ``i``) on the
ridit ``r_i``. Along a direction ``(a, b)`` the log-likelihood term of unit ``i``,
``w_i [y_i log p_i + (1 - y_i) log(1 - p_i)]``, only increases without bound when ``y_i = 1`` where
``a + b r_i > 0`` and ``y_i = 0`` where ``a + b r_i < 0``. With one covariate the maximum-likelihood
estimate therefore fails to exist exactly when some threshold ``c`` on the ranking has every unit
below it at rate 0 and every unit above it at rate 1 (or the reverse), units *at* ``c`` being free
(quasi-complete separation; Albert & Anderson 1984). The fit then runs to SII = +-1, RII = 0 or
infinity, with intervals of zero or infinite width.

Overlap (Christmann & Rousseeuw 2001): the smallest number of accounts whose removal makes the data
separable::

    up(c)   = sum_{r_i < c} w_i y_i       + sum_{r_i > c} w_i (1 - y_i)
    down(c) = sum_{r_i < c} w_i (1 - y_i) + sum_{r_i > c} w_i y_i
    overlap = min over the distinct ranks c of min(up(c), down(c))

(thresholds between two ranks count every unit, so they never give less than the ranks beside
them). ``overlap = 0``: separated, no estimate. A small positive overlap is *near-separation*: the
estimate exists but its size rests on those few accounts (one more active account below the
threshold and the slope would be infinite), which is how a logit RII of 566 [9; 35 448] comes out of
a handful of schools. The threshold the Observatoire uses, ``MIN_OVERLAP``, is justified in
docs/equity_fit_guards.md.

References
----------
Albert, A. & Anderson, J. A. (1984). On the existence of maximum likelihood estimates in logistic
regression models. Biometrika 71:1-10.
Christmann, A. & Rousseeuw, P. J. (2001). Measuring overlap in binary regression. Computational
Statistics & Data Analysis 37:65-75.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_float_array, as_weights, check_same_length

__all__ = ["MIN_OVERLAP", "logit_overlap"]

# Fewer accounts than this keep a logit fit from separation: near-separation, not published.
MIN_OVERLAP = 10.0


def logit_overlap(y: Any, weights: Any, rank: Any) -> float:
    """Accounts whose removal would separate rates ``y`` (in [0, 1], weights ``weights``) along ``rank``.

    0 when the data are (quasi-)completely separated; see the module docstring for the formula.
    """
    yy = as_float_array(y, "y")
    rk = as_float_array(rank, "rank")
    check_same_length(len(yy), rank=rk)
    w = as_weights(weights, len(yy))
    if (yy < 0).any() or (yy > 1).any():
        raise ValueError("y must be proportions in [0, 1]")
    levels, inverse = np.unique(rk, return_inverse=True)
    successes = np.bincount(inverse, weights=w * yy, minlength=len(levels))
    failures = np.bincount(inverse, weights=w * (1.0 - yy), minlength=len(levels))
    before_s = np.concatenate(([0.0], np.cumsum(successes)[:-1]))
    before_f = np.concatenate(([0.0], np.cumsum(failures)[:-1]))
    after_s = successes.sum() - before_s - successes
    after_f = failures.sum() - before_f - failures
    overlap = float(min((before_s + after_f).min(), (before_f + after_s).min()))
    return 0.0 if overlap <= 1e-9 * float(w.sum()) else overlap
