"""Whether an SII / RII fit may be published: enough schools on both sides of the social scale, no
near-separation, an interval inside the range the measure can take.

``sii_rii_refusal(fit, support)`` returns why a fit is refused (``None`` when it is usable):

==========================  ==================================================================
reason                      rule
==========================  ==================================================================
``too_few_schools``         fewer than ``MIN_RANKED_SCHOOLS`` schools (``rank_support.py``)
``thin_side``               fewer than ``MIN_SCHOOLS_PER_SIDE`` schools below or above the
                            weighted median IPS
``near_separation``         logit fit kept from separation by fewer than ``MIN_OVERLAP``
                            accounts (``separation.py``)
``out_of_range``            SII or a bound outside [-1, 1], RII or a bound outside
                            [1 / RII_MAX, RII_MAX], a bound not finite, or an interval of zero
                            width (a fit with no estimated dispersion)
==========================  ==================================================================

``RII_MAX = 100``: the RII is the ratio of the fitted rates at the two ends of the social scale; beyond
100 the bottom end sits below a hundredth of the top, an extrapolation artefact rather than a finding.
On the demo warehouse, the logit fits that pass the other guards have RII at most 12.6 and upper bounds
at most 69: the bound does not bind on supported fits, it is the net for those that escape them.
The justification of every threshold is in docs/equity_fit_guards.md; the asset check
``equity_summary_values_valid`` applies the same range rules to the tables, so a fit that escaped this
guard blocks the release.
"""

from __future__ import annotations

import math

from .rank_support import MIN_RANKED_SCHOOLS, MIN_SCHOOLS_PER_SIDE, RankSupport
from .separation import MIN_OVERLAP
from .sii_rii import SiiRiiResult

__all__ = ["RII_MAX", "FitRefused", "sii_rii_refusal"]

RII_MAX = 100.0


class FitRefused(ValueError):
    """A fit that exists but may not be published; ``reason`` is one of ``sii_rii_refusal``'s."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"fit refused: {reason}")
        self.reason = reason


def _inside(values: tuple[float, ...], low: float, high: float) -> bool:
    return all(math.isfinite(v) and low <= v <= high for v in values)


def sii_rii_refusal(fit: SiiRiiResult, support: RankSupport, measure: str = "sii") -> str | None:
    """Why ``fit`` may not give ``measure`` ('sii' or 'rii'), or ``None`` when it may."""
    if support.schools < MIN_RANKED_SCHOOLS:
        return "too_few_schools"
    if min(support.below, support.above) < MIN_SCHOOLS_PER_SIDE:
        return "thin_side"
    if fit.model == "logit" and fit.overlap < MIN_OVERLAP:
        return "near_separation"
    if measure == "sii":
        values, low, high = (fit.sii, fit.sii_lower, fit.sii_upper), -1.0, 1.0
    else:
        values, low, high = (fit.rii, fit.rii_lower, fit.rii_upper), 1.0 / RII_MAX, RII_MAX
    if not _inside(values, low, high) or not values[1] < values[2]:
        return "out_of_range"
    return None
