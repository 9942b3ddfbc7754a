"""Small-cell suppression: the one rule every published figure follows (docs/design.md, privacy rules).

A rate k / n is published only if n >= 11 and k >= 3 and n - k >= 3; otherwise it reads
"secret statistique". ``publishable_sql`` gives the same rule as a SQL expression.
"""

from __future__ import annotations

MIN_DENOMINATOR = 11
MIN_CELL = 3


def publishable(n, k) -> bool:
    """True when the rate k / n may be published."""
    if n is None or k is None:
        return False
    return n >= MIN_DENOMINATOR and k >= MIN_CELL and n - k >= MIN_CELL


def publishable_sql(n: str, k: str) -> str:
    """SQL boolean of the rule for columns/expressions ``n`` and ``k`` (NULL counts are not publishable)."""
    return f"coalesce(({n}) >= {MIN_DENOMINATOR} AND ({k}) >= {MIN_CELL} AND ({n}) - ({k}) >= {MIN_CELL}, false)"
