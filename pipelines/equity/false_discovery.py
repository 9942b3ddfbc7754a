"""Benjamini-Hochberg control of the false-discovery rate over a family of funnel tests.

Each test is a school's over-dispersion-adjusted funnel z-score (``funnel_limits``: additive,
arcsine scale), two-sided::

    p_i = 2 (1 - Phi(|z_i|))
    q_i = min_{j : p_j >= p_i} (m p_j / rank_j), capped at 1        (BH adjusted p-value)
    flag_i = 'haut' if q_i <= alpha and z_i > 0, 'bas' if q_i <= alpha and z_i < 0, else None

over the ``m`` finite z-scores of the family (``statsmodels.stats.multitest.multipletests``,
``method="fdr_bh"``). Among the flagged schools, the expected share of schools that are not truly
different from their reference is at most ``alpha`` (Benjamini & Hochberg 1995; independent or
positively dependent tests, Benjamini & Yekutieli 2001). A flag at 99.8 % without correction
(``p < 0.002``) expects 0.2 % of *all* tests to be flagged by chance: 9.6 of 4,793 in a release.

References
----------
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful
approach to multiple testing. JRSS B 57:289-300.
Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate in multiple testing
under dependency. Annals of Statistics 29:1165-1188.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

__all__ = ["FDR_LEVEL", "FdrFlags", "fdr_flags"]

FDR_LEVEL = 0.05


@dataclass(frozen=True)
class FdrFlags:
    """Two-sided p-values, BH-adjusted q-values and flags (NaN / None where z is not finite)."""

    p_value: np.ndarray
    q_value: np.ndarray
    flag: np.ndarray
    alpha: float
    tests: int


def fdr_flags(z: Any, alpha: float = FDR_LEVEL) -> FdrFlags:
    """BH flags of the z-scores ``z`` (one family; NaN = not tested), at false-discovery rate ``alpha``."""
    zz = np.asarray(z, dtype=float)
    if zz.ndim != 1:
        raise ValueError(f"z must be one-dimensional, got shape {zz.shape}")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    tested = np.isfinite(zz)
    p = np.full(zz.shape, np.nan)
    q = np.full(zz.shape, np.nan)
    flag = np.full(zz.shape, None, dtype=object)
    if tested.any():
        p[tested] = 2.0 * stats.norm.sf(np.abs(zz[tested]))
        reject, q[tested], _, _ = multipletests(p[tested], alpha=alpha, method="fdr_bh")
        flagged = np.zeros(zz.shape, dtype=bool)
        flagged[tested] = reject
        flag[flagged & (zz > 0)] = "haut"
        flag[flagged & (zz < 0)] = "bas"
    return FdrFlags(p, q, flag, float(alpha), int(tested.sum()))
