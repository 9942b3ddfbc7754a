"""Statistical secrecy: the one rule every published figure follows, and the protection width the
release audit demands of every hidden count (docs/disclosure_control.md).

Primary rule: a rate k / n is published only if n >= 11 and k >= 3 and n - k >= 3; otherwise it reads
"secret statistique". ``publishable_sql`` gives the same rule as a SQL expression.

Protection width: a hidden count that fails the primary rule is protected only if an attacker holding
everything published cannot narrow its feasible values to a range narrower than
``max(3, 10 % of the count)``: the smallest count the primary rule lets through (3) and, for large counts,
a tenth of it.
"""

from __future__ import annotations

import math

MIN_DENOMINATOR = 11
MIN_CELL = 3
PROTECTION_MIN = 3
PROTECTION_SHARE = 0.10


def publishable(n, k) -> bool:
    """True when the rate k / n may be published."""
    if n is None or k is None:
        return False
    return n >= MIN_DENOMINATOR and k >= MIN_CELL and n - k >= MIN_CELL


def publishable_sql(n: str, k: str) -> str:
    """SQL boolean of the rule for columns/expressions ``n`` and ``k`` (NULL counts are not publishable)."""
    return f"coalesce(({n}) >= {MIN_DENOMINATOR} AND ({k}) >= {MIN_CELL} AND ({n}) - ({k}) >= {MIN_CELL}, false)"


def protection_width(count: float) -> float:
    """Narrowest range of feasible values a hidden count may have, given everything published."""
    return float(max(PROTECTION_MIN, math.ceil(PROTECTION_SHARE * abs(count) - 1e-9)))
