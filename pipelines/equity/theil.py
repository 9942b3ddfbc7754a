"""Theil family (generalised entropy GE(1) and GE(0)) and the between/within decomposition.

Notation: weights ``w`` (loaded parent accounts), ``W = sum(w)``, population shares
``p_i = w_i / W``, mean ``mu = sum(p y)``.

Formulas
--------
* Theil T, GE(1):          ``T = sum_i p_i (y_i/mu) ln(y_i/mu)``   (``0 ln 0 = 0``, so zeros are allowed)
* mean log deviation, Theil L, GE(0): ``L = sum_i p_i ln(mu/y_i)``  (needs ``y > 0``)
* decomposition of T over groups g (académies, départements) with population share
  ``P_g = sum_{i in g} p_i``, mean ``mu_g`` and outcome share ``S_g = P_g mu_g / mu``::

      between = sum_g P_g (mu_g/mu) ln(mu_g/mu) = sum_g S_g ln(S_g / P_g)
      within  = sum_g S_g T_g

  and ``T = between + within`` exactly (both parts are computed independently here; they add
  up to the total to floating-point precision).

References
----------
Theil, H. (1967). Economics and Information Theory. North-Holland.
Shorrocks, A. F. (1980). The class of additively decomposable inequality measures.
Econometrica 48:613-625.
PySAL ``inequality.theil.Theil`` / ``TheilD`` (equal weights).

Difference from PySAL (documented, tested)
-------------------------------------------
PySAL ``TheilD`` replaces a group's outcome share ``S_g`` of 0 by 1 (``sg = sg + (sg == 0)``)
to avoid ``log(0)``, which adds ``ln(n/n_g)`` to the between-group term for a group whose
outcome is all zeros. Textbook: such a group contributes ``0 ln 0 = 0`` to both parts; this
module follows the textbook. With no all-zero group the two agree (PySAL's Mexico reference
values are reproduced in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._common import nonnegative_outcome
from ._validation import as_labels

__all__ = ["TheilDecomposition", "mean_log_deviation", "theil_decomposition", "theil_decomposition_ci", "theil_t"]


def _xlogx_ratio(y: np.ndarray, mu: float) -> np.ndarray:
    """Elementwise ``(y/mu) ln(y/mu)`` with the convention ``0 ln 0 = 0``."""
    ratio = y / mu
    out = np.zeros_like(ratio)
    pos = ratio > 0
    out[pos] = ratio[pos] * np.log(ratio[pos])
    return out


def theil_t(y: Any, weights: Any) -> float:
    """Weighted Theil T index ``sum_i p_i (y_i/mu) ln(y_i/mu)`` of a non-negative outcome."""
    yy, w, mu = nonnegative_outcome(y, weights)
    return float(max(np.dot(w / w.sum(), _xlogx_ratio(yy, mu)), 0.0))


def mean_log_deviation(y: Any, weights: Any) -> float:
    """Weighted mean log deviation (Theil L) ``sum_i p_i ln(mu/y_i)``; needs ``y > 0`` where ``w > 0``."""
    yy, w, mu = nonnegative_outcome(y, weights)
    pos = w > 0
    if (yy[pos] <= 0).any():
        raise ValueError("the mean log deviation needs y > 0 for every unit with a positive weight")
    p = w[pos] / w[pos].sum()
    return float(max(np.dot(p, np.log(mu / yy[pos])), 0.0))


@dataclass(frozen=True)
class TheilDecomposition:
    """Theil T split into between-group and within-group parts (``total = between + within``)."""

    total: float
    between: float
    within: float

    def __iter__(self):  # allows ``total, between, within = theil_decomposition(...)``
        return iter((self.total, self.between, self.within))


def theil_decomposition(y: Any, weights: Any, groups: Any) -> TheilDecomposition:
    """Decompose the weighted Theil T of ``y`` between and within ``groups``.

    Returns a ``TheilDecomposition(total, between, within)`` that also unpacks as a tuple.
    Groups with zero total weight are ignored; a group whose outcome is all zero contributes 0
    to both parts (textbook convention; see the module docstring for PySAL's difference).
    """
    yy, w, mu = nonnegative_outcome(y, weights)
    g = as_labels(groups, len(yy))
    total_w = w.sum()
    p = w / total_w
    total = float(np.dot(p, _xlogx_ratio(yy, mu)))
    inverse, _ = pd.factorize(pd.Series(g, dtype=object))
    between = 0.0
    within = 0.0
    for code in range(inverse.max() + 1):
        members = inverse == code
        pg = float(p[members].sum())
        if pg == 0:
            continue
        mug = float(np.dot(p[members], yy[members]) / pg)
        if mug == 0:
            continue
        sg = pg * mug / mu
        between += sg * np.log(mug / mu)
        tg = float(np.dot(p[members] / pg, _xlogx_ratio(yy[members], mug)))
        within += sg * tg
    return TheilDecomposition(total=total, between=float(between), within=float(within))


# The parts of a decomposition, in the order theil_decomposition_ci returns their intervals.
THEIL_PARTS = ("total", "between", "within", "between_share")


def _parts_of_sums(xlogx: np.ndarray, group_w: np.ndarray, group_wy: np.ndarray) -> np.ndarray:
    """total, between, within and between / total from a sample's sums: ``xlogx`` = Σ w y ln y, and per group
    (last axis) ``group_w`` = Σ w and ``group_wy`` = Σ w y; shape (4, *leading shape). With ``A = Σ w y``,
    ``mu = A / Σ w``: total = Σ w y ln y / A − ln mu (the module's T with ln(y/mu) = ln y − ln mu), between =
    Σ_g (A_g / A) ln((A_g / W_g) / mu); within = total − between (the decomposition is exact). total is
    clipped at 0 and between to [0, total], their true bounds, which rounding of the subtractions could
    cross by a hair."""
    w, a = group_w.sum(axis=-1), group_wy.sum(axis=-1)
    pos = a > 0
    safe_a = np.where(pos, a, 1)
    mu = np.where(pos, a / np.where(w > 0, w, 1), 1)
    total = np.where(pos, np.maximum(xlogx / safe_a - np.log(mu), 0), 0)
    held = (group_w > 0) & (group_wy > 0)
    mean_g = np.where(held, group_wy / np.where(held, group_w, 1), 1)
    between = (np.where(held, group_wy, 0) * np.log(mean_g / mu[..., None])).sum(axis=-1) / safe_a
    between = np.clip(np.where(pos, between, 0), 0, total)
    share = np.where(total > 0, between / np.where(total > 0, total, 1), np.nan)
    return np.stack([total, between, total - between, share])


def theil_decomposition_ci(y: Any, weights: Any, groups: Any, *, n_resamples: int = 999,
                           confidence: float = 0.95, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals over the units (schools) of the weighted Theil T, its between and
    within parts over ``groups`` and the between share: ``{part: (low, high)}`` for THEIL_PARTS.

    ``scipy.stats.bootstrap`` resamples the units with replacement (``seed`` fixes the draws, so a
    publication is reproducible); the percentile method, not BCa, whose jackknife needs n × n arrays
    (43,000 schools nationally). A resample keeps each unit's weight and group."""
    yy, w, _ = nonnegative_outcome(y, weights)
    codes, labels = pd.factorize(pd.Series(as_labels(groups, len(yy)), dtype=object))
    n, n_groups = len(yy), len(labels)
    # Every part is a function of the sums Σ w y ln y and, per group, Σ w and Σ w y (_parts_of_sums): no
    # logarithm per resampled unit, one bincount per group sum for a batch of resamples.
    wxlogx, wy = w * _xlogx_ratio(yy, 1.0), w * yy

    def statistic(index, axis=-1):
        shape = index.shape[:-1]
        resamples = int(np.prod(shape))
        index = index.reshape(resamples, n)
        slot = (np.arange(resamples)[:, None] * n_groups + codes[index]).ravel()
        size = resamples * n_groups
        group_w = np.bincount(slot, weights=w[index].ravel(), minlength=size).reshape(resamples, n_groups)
        group_wy = np.bincount(slot, weights=wy[index].ravel(), minlength=size).reshape(resamples, n_groups)
        return _parts_of_sums(wxlogx[index].sum(axis=-1), group_w, group_wy).reshape(4, *shape)

    result = stats.bootstrap((np.arange(n),), statistic, vectorized=True, method="percentile",
                             n_resamples=n_resamples, confidence_level=confidence, batch=100,
                             rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return {part: (float(lo), float(hi)) for part, lo, hi in zip(THEIL_PARTS, low, high)}
