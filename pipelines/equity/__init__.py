"""Equity measures for the Observatoire ENT: pure functions, numpy in, floats / small arrays out.

Unit of analysis: the school; weights: loaded parent accounts; ranking variable: the IPS
(lowest first, so a positive gradient means the outcome rises with social advantage).
One measure (or one small family) per module, named after the measure:

====================================  ===========================================================
module                                measures
====================================  ===========================================================
``ridit.py``                          ``ridit`` (weighted fractional rank)
``concentration_index.py``            ``concentration_index``, ``absolute_concentration_index``,
                                      ``wagstaff_index``, ``erreygers_index``,
                                      ``concentration_index_with_se``
``concentration_curve.py``            ``concentration_curve``
``sii_rii.py``                        ``sii_rii``, ``sii_rii_from_ridit`` (linear / logit)
``separation.py``                     ``logit_overlap`` (accounts keeping a logit fit from separation)
``rank_support.py``                   ``rank_support`` (schools in all and on each side of the scale)
``fit_guard.py``                      ``sii_rii_refusal`` (why an SII / RII may not be published)
``gini.py``                           ``gini``
``lorenz_curve.py``                   ``lorenz_curve``
``coefficient_of_variation.py``       ``coefficient_of_variation``
``atkinson.py``                       ``atkinson``
``theil.py``                          ``theil_t``, ``mean_log_deviation``, ``theil_decomposition``
``group_gap.py``                      ``group_gap`` (difference / ratio between two groups)
``quintile_gap.py``                   ``quintile_gap``, ``weighted_quintile``
``eb_shrink.py``                      ``eb_shrink`` (beta-binomial empirical Bayes)
``funnel_limits.py``                  ``funnel_limits`` (exact and over-dispersed limits, flags)
``false_discovery.py``                ``fdr_flags`` (Benjamini-Hochberg flags over a family of tests)
``expected_rate_glm.py``              ``expected_rate_glm`` (binomial GLM, observed - expected)
====================================  ===========================================================

Each function's docstring gives its formula and reference; each module has reference tests in
``tests/equity/``.
"""

from .atkinson import atkinson
from .coefficient_of_variation import coefficient_of_variation
from .concentration_curve import concentration_curve
from .concentration_index import (
    ConcentrationIndexEstimate,
    absolute_concentration_index,
    concentration_index,
    concentration_index_with_se,
    erreygers_index,
    wagstaff_index,
)
from .eb_shrink import EBShrinkResult, betabinomial_loglik, eb_shrink
from .fit_guard import RII_MAX, FitRefused, sii_rii_refusal
from .expected_rate_glm import ExpectedRateResult, design_matrix, expected_rate_glm
from .false_discovery import FDR_LEVEL, FdrFlags, fdr_flags
from .funnel_limits import ControlLimits, FunnelCurve, FunnelResult, funnel_flag, funnel_limits
from .gini import gini
from .group_gap import GroupGap, group_gap
from .lorenz_curve import lorenz_curve
from .quintile_gap import QuintileGap, quintile_gap, weighted_quintile
from .rank_support import MIN_RANKED_SCHOOLS, MIN_SCHOOLS_PER_SIDE, RankSupport, rank_support
from .ridit import ridit
from .separation import MIN_OVERLAP, logit_overlap
from .sii_rii import SeparationError, SiiRiiResult, sii_rii, sii_rii_from_ridit
from .theil import TheilDecomposition, mean_log_deviation, theil_decomposition, theil_t

__all__ = [
    "FDR_LEVEL",
    "MIN_OVERLAP",
    "MIN_RANKED_SCHOOLS",
    "MIN_SCHOOLS_PER_SIDE",
    "RII_MAX",
    "ConcentrationIndexEstimate",
    "ControlLimits",
    "EBShrinkResult",
    "ExpectedRateResult",
    "FitRefused",
    "FdrFlags",
    "FunnelCurve",
    "FunnelResult",
    "GroupGap",
    "QuintileGap",
    "RankSupport",
    "SeparationError",
    "SiiRiiResult",
    "TheilDecomposition",
    "absolute_concentration_index",
    "atkinson",
    "betabinomial_loglik",
    "coefficient_of_variation",
    "concentration_curve",
    "concentration_index",
    "concentration_index_with_se",
    "design_matrix",
    "eb_shrink",
    "erreygers_index",
    "expected_rate_glm",
    "fdr_flags",
    "funnel_flag",
    "funnel_limits",
    "gini",
    "group_gap",
    "logit_overlap",
    "lorenz_curve",
    "mean_log_deviation",
    "quintile_gap",
    "rank_support",
    "ridit",
    "sii_rii",
    "sii_rii_from_ridit",
    "sii_rii_refusal",
    "theil_decomposition",
    "theil_t",
    "wagstaff_index",
    "weighted_quintile",
]
