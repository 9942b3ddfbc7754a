"""Support of a fit on the social ranking: how many schools there are, and on each side of the scale.

The SII / RII read a line (or logit curve) fitted on the ridit ``r`` at both ends, ``r = 0`` and
``r = 1``. Each end is an extrapolation from the schools on its side of the weighted median IPS
(``r = 0.5``): the fit is supported when there are at least ``MIN_RANKED_SCHOOLS`` schools and at
least ``MIN_SCHOOLS_PER_SIDE`` on each side (a school exactly at ``r = 0.5`` counts for neither).
The two numbers are justified in docs/equity_fit_guards.md: 10 schools leave 8 residual degrees of
freedom for the scale, so the normal-quantile Wald interval covers at least 91 % (t with 8 df) of a
nominal 95 %; 4 schools per side keep the leverage of the most extreme school of a side below 0.5
(Huber's bound for a fit that is not driven by one point) when the side's schools are of equal
size, where 3 schools give 0.52.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


from ._validation import as_float_array

__all__ = ["MIN_RANKED_SCHOOLS", "MIN_SCHOOLS_PER_SIDE", "RankSupport", "rank_support"]

MIN_RANKED_SCHOOLS = 10
MIN_SCHOOLS_PER_SIDE = 4


@dataclass(frozen=True)
class RankSupport:
    """Schools of a ranked fit: in all, below and above the weighted median (ridit 0.5)."""

    schools: int
    below: int
    above: int

    @property
    def sufficient(self) -> bool:
        return (self.schools >= MIN_RANKED_SCHOOLS and self.below >= MIN_SCHOOLS_PER_SIDE
                and self.above >= MIN_SCHOOLS_PER_SIDE)


def rank_support(ridits: Any) -> RankSupport:
    """Count the units (schools with a positive weight) of ``ridits`` in all and on each side of 0.5."""
    r = as_float_array(ridits, "ridits")
    if (r < 0).any() or (r > 1).any():
        raise ValueError("ridits must lie in [0, 1]")
    return RankSupport(len(r), int((r < 0.5).sum()), int((r > 0.5).sum()))
