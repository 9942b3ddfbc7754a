"""The rows of ``equity_summary``: every equity measure of every group of schools
(period × profile × scope × level), computed with the pure functions of ``pipelines.equity``.

Unit: the school; weight ``w``: its loaded accounts of the profile in the period; outcome ``y``: its
active rate. Ranked measures (SII/RII, concentration indices, Q5 - Q1) rank schools by IPS with the
population-weighted ridit computed within the group itself (scope × level), and leave out the schools
without an IPS (counted in ``n_schools_without_ips``). Distribution measures (mean, Gini, Atkinson, CV,
Theil) and the gaps by secteur / EP / rural-urban use every school of the group. The Theil T is
decomposed between / within académies for the nation and between / within départements for an académie.
Gaps are differences of weighted means: privé - public, REP or REP+ - hors EP (schools of unknown EP
left out), rural - urbain (intermédiaire and unknown left out); each side needs ``MIN_SCHOOLS`` schools.

Intervals (``ci_low``, ``ci_high``): 95 % Wald intervals as the functions give them: SII / RII from the
quasi-binomial (logit) or WLS (linear) model covariance, concentration indices from the convenient
regression, Q5 - Q1 from the linearised variance of the two quintile means (schools as units); the
other measures have none.

A measure is written only when it is computed on at least ``MIN_SCHOOLS`` schools with a positive total
weight, and only when its value is finite: a degenerate group (all rates equal, mean 0, a single rank,
a gap side with too few schools) simply has no row for the measures it cannot support.

SII / RII (logit and linear) pass the fit guards of ``pipelines.equity.fit_guard`` as well: at least 10
ranked schools and 4 on each side of the weighted median IPS, no separation or near-separation of the
logit fit, an interval inside the measure's range (docs/equity_fit_guards.md). A refused fit is counted
in the failures as ``<measure>_<reason>`` (e.g. ``rii_near_separation``), never written.
"""

import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from pipelines.equity import (
    FitRefused,
    SeparationError,
    atkinson,
    coefficient_of_variation,
    concentration_index_with_se,
    gini,
    group_gap,
    quintile_gap,
    rank_support,
    ridit,
    sii_rii,
    sii_rii_refusal,
    theil_decomposition,
    theil_t,
)

MIN_SCHOOLS = 5
LEVELS = ("ecole", "college", "lycee")
# Theil decomposition: between / within académies nationally, between / within départements in an académie.
THEIL_GROUPS = {"nation": "academie_code", "academie": "departement_code"}
# name -> (column, high group, low group): the gap is mean(high) - mean(low).
GAPS = {
    "gap_secteur": ("secteur", {"prive"}, {"public"}),
    "gap_ep": ("education_prioritaire", {"REP", "REP+"}, {"hors_ep"}),
    "gap_rural_urbain": ("rural_urban", {"rural"}, {"urbain"}),
}
KEYS = ["period_type", "period", "profile", "scope", "scope_code", "level"]
COLUMNS = KEYS + ["measure", "value", "ci_low", "ci_high", "n_schools", "weight_total", "n_schools_without_ips"]
# What a degenerate group makes the measures raise; anything else is a bug and propagates.
DEGENERATE = (ValueError, ArithmeticError, np.linalg.LinAlgError)


def _finite(x) -> bool:
    return x is not None and bool(np.isfinite(x))


class _Collector:
    """Accumulates the measure rows of one group; drops what is not finite or rests on too few schools."""

    def __init__(self, only: frozenset[str] | None = None) -> None:
        self.rows: list[dict] = []
        self.failed: dict[str, int] = {}
        self.only = only

    def add(self, measure: str, weights: np.ndarray, compute: Callable[[], tuple], without_ips: int = 0) -> None:
        """``compute()`` returns ``(value, ci_low, ci_high)`` (or ``(value,)``) on the schools of ``weights``."""
        if self.only is not None and measure not in self.only:
            return
        weight = float(weights.sum())
        if len(weights) < MIN_SCHOOLS or weight <= 0:
            return
        failure = measure
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")  # statsmodels' warnings on degenerate fits; results are checked below
                value, *ci = compute()
        except FitRefused as refused:
            value, ci, failure = None, [], f"{measure}_{refused.reason}"
        except SeparationError:
            value, ci, failure = None, [], f"{measure}_separated"
        except DEGENERATE:
            value, ci = None, []
        if not _finite(value):
            self.failed[failure] = self.failed.get(failure, 0) + 1
            return
        low, high = (ci + [None, None])[:2]
        if not (_finite(low) and _finite(high)):
            low = high = None
        self.rows.append({"measure": measure, "value": float(value), "ci_low": low, "ci_high": high,
                          "n_schools": len(weights), "weight_total": int(round(weight)),
                          "n_schools_without_ips": without_ips})


def group_measures(schools: pd.DataFrame, theil_key: str,
                   only: frozenset[str] | None = None) -> tuple[list[dict], dict[str, int]]:
    """Every measure of one group of schools (columns ``loaded``, ``active_rate``, ``ips``, ``secteur``,
    ``education_prioritaire``, ``rural_urban`` and ``theil_key``), or those in ``only``; returns (rows,
    failures by measure)."""
    out = _Collector(only)
    keep = schools["loaded"].to_numpy(float) > 0
    y = schools["active_rate"].to_numpy(float)[keep]
    w = schools["loaded"].to_numpy(float)[keep]
    column = {c: schools[c].to_numpy(object)[keep] for c in ("secteur", "education_prioritaire", "rural_urban", theil_key)}
    ips = schools["ips"].to_numpy(float)[keep]

    out.add("mean_rate", w, lambda: (float(np.dot(w, y) / w.sum()),))
    out.add("gini", w, lambda: (gini(y, w),))
    out.add("atkinson_0.5", w, lambda: (atkinson(y, w, 0.5),))
    out.add("cv", w, lambda: (coefficient_of_variation(y, w),))
    out.add("theil_t", w, lambda: (theil_t(y, w),))
    groups = np.array(["inconnu" if pd.isna(g) else g for g in column[theil_key]], dtype=object)
    theil = _once(lambda: theil_decomposition(y, w, groups))
    out.add("theil_total", w, lambda: (theil().total,))
    out.add("theil_between", w, lambda: (theil().between,))
    out.add("theil_within", w, lambda: (theil().within,))
    out.add("theil_between_share", w, lambda: (theil().between / theil().total if theil().total > 0 else None,))

    ranked = ~np.isnan(ips)
    without_ips = int((~ranked).sum())
    yr, wr, rank = y[ranked], w[ranked], ips[ranked]
    support = _once(lambda: rank_support(ridit(rank, wr)))
    logit = _once(lambda: sii_rii(yr, wr, rank, "logit"))
    linear = _once(lambda: sii_rii(yr, wr, rank, "linear"))
    out.add("sii", wr, lambda: _guarded(logit, support, "sii"), without_ips)
    out.add("rii", wr, lambda: _guarded(logit, support, "rii"), without_ips)
    out.add("sii_linear", wr, lambda: _guarded(linear, support, "sii"), without_ips)
    for kind, name in (("relative", "ci_relative"), ("absolute", "ci_absolute"),
                       ("wagstaff", "ci_wagstaff"), ("erreygers", "ci_erreygers")):
        out.add(name, wr, lambda kind=kind: _ci(concentration_index_with_se(yr, wr, rank, kind)), without_ips)
    quintiles = _once(lambda: quintile_gap(yr, wr, rank))
    out.add("q5_q1_gap", wr, lambda: (quintiles().difference, quintiles().difference_lower,
                                       quintiles().difference_upper), without_ips)
    out.add("q5_q1_ratio", wr, lambda: (quintiles().ratio,), without_ips)

    for name, (key, high, low) in GAPS.items():
        side = np.array(["high" if v in high else "low" if v in low else "" for v in column[key]], dtype=object)
        if min((side == "high").sum(), (side == "low").sum()) < MIN_SCHOOLS:
            continue
        compared = side != ""
        yc, wc, labels = y[compared], w[compared], side[compared]
        out.add(name, wc, lambda yc=yc, wc=wc, labels=labels: (group_gap(yc, wc, labels, "high", "low").difference,))
    return out.rows, out.failed


def _once(fit: Callable):
    """Memoise a fit that several measures read (and that may raise for all of them)."""
    cache: list = []

    def get():
        if not cache:
            cache.append(fit())
        return cache[0]

    return get


def _guarded(fit: Callable, support: Callable, measure: str) -> tuple[float, float, float]:
    """(value, low, high) of the SII or RII of ``fit()``, or ``FitRefused`` when the fit guards refuse it."""
    if (reason := sii_rii_refusal(fit(), support(), measure)) is not None:
        raise FitRefused(reason)
    result = fit()
    return (result.sii, result.sii_lower, result.sii_upper) if measure == "sii" else (
        result.rii, result.rii_lower, result.rii_upper)


def _ci(estimate) -> tuple[float, float, float]:
    return estimate.estimate, estimate.lower, estimate.upper


def _groups(period_rates: pd.DataFrame) -> Iterator[tuple[str, str, str, pd.DataFrame]]:
    """(scope, scope_code, level, schools) of one period × profile: nation then each académie, all levels then each."""
    scopes = [("nation", "FR", period_rates)]
    scopes += [("academie", code, part) for code, part in period_rates.groupby("academie_code", sort=True)]
    for scope, code, part in scopes:
        if len(part) < MIN_SCHOOLS:
            continue
        yield scope, code, "all", part
        for level in LEVELS:
            subset = part[part["level"] == level]
            if len(subset) >= MIN_SCHOOLS:
                yield scope, code, level, subset


def summary_rows(rates: pd.DataFrame, only: frozenset[str] | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """``equity_summary`` rows for the school rates of ``school_rates.sql`` (every measure, or those in
    ``only``); also the failures by measure (degenerate groups whose measure was not written)."""
    rows, failed = [], {}
    for (period_type, period, profile), period_rates in rates.groupby(["period_type", "period", "profile"], sort=False):
        for scope, code, level, schools in _groups(period_rates):
            measures, failures = group_measures(schools, THEIL_GROUPS[scope], only)
            keys = dict(zip(KEYS, (period_type, period, profile, scope, code, level)))
            rows += [keys | m for m in measures]
            for name, count in failures.items():
                failed[name] = failed.get(name, 0) + count
    return pd.DataFrame(rows, columns=COLUMNS), failed
