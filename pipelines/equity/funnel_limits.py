"""Funnel plot for proportions: z-scores, control limits (exact and over-dispersed), flags.

Unit ``i`` (school) has ``k_i`` events out of ``n_i`` (rate ``p_i = k_i/n_i``). The target
``theta0`` defaults to the pooled rate ``sum k / sum n``. Limits are computed at 95 % and
99.8 % (two-sided; tail probabilities 0.025 and 0.001).

(a) Exact binomial limits -- Spiegelhalter (2005), Stat Med 24:1185-1202, appendix A.1.1
------------------------------------------------------------------------------------------
For a tail probability ``p``, ``r_p`` is the smallest ``r`` with ``F(r) >= p`` where ``F`` is the
Binomial(n, theta0) cdf (``scipy.stats.binom.ppf``); the recommended interpolation gives a
smooth limit::

    alpha_p = (F(r_p) - p) / (F(r_p) - F(r_p - 1)),     limit_p = (r_p - alpha_p) / n

(clipped to [0, 1]).

(b) Over-dispersion -- Spiegelhalter (2005), section 6; FunnelPlotR (nhs-r-community)
-------------------------------------------------------------------------------------
On a transformed scale ``T`` (default ``scale="arcsine"``: ``T(p) = asin(sqrt(p))``,
``s_i = 1/(2 sqrt(n_i))`` as FunnelPlotR's ``data_type="PR"``; or ``scale="identity"``:
``T(p) = p``, ``s_i = sqrt(theta0 (1 - theta0) / n_i)``, Spiegelhalter's normal approximation)::

    z_i   = (T(p_i) - T(theta0)) / s_i                      unadjusted z-score
    zw_i  = z_i winsorised at the q and 1 - q quantiles (default q = 10 % each tail,
            R quantile type 7 = numpy "linear")
    phi   = (1/I) sum_i zw_i^2                               multiplicative over-dispersion
    tau2  = max(0, (I phi - (I - 1)) / (sum w_i - sum w_i^2 / sum w_i)),  w_i = 1/s_i^2
            (DerSimonian-Laird-type additive between-unit variance; 0 if I phi <= I - 1)

    multiplicative limits: T^-1( T(theta0) -/+ z_p sqrt(max(phi, 1)) s )
    additive limits:       T^-1( T(theta0) -/+ z_p sqrt(s^2 + tau2) )

with ``z_p = Phi^-1(0.975)`` or ``Phi^-1(0.999)``. ``phi`` is only used to widen the limits
(``max(phi, 1)``), as Spiegelhalter recommends adjusting only for over-dispersion. The
adjusted z-scores are ``z / sqrt(max(phi, 1))`` and ``(T(p) - T(theta0)) / sqrt(s^2 + tau2)``.

Flags: ``"haut"`` if ``p_i`` is above the upper limit, ``"bas"`` if below the lower limit,
``None`` otherwise (a rate exactly on a limit is not flagged, as FunnelPlotR's
``outliers_func``). The default flag uses the additive (random-effects) limits at 99.8 %,
FunnelPlotR's default; ``FunnelResult.flags(method, level)`` gives any other combination.

Differences from FunnelPlotR (documented, tested)
-------------------------------------------------
* FunnelPlotR back-transforms ``sin(angle)^2`` without clipping the angle, so for small n a
  lower limit whose angle is negative "bounces" back above 0; here angles are clipped to
  [0, pi/2] (lower limit 0, upper limit 1), which is the textbook inverse.
* FunnelPlotR hard-codes z = 1.959964 and 3.090232; exact normal quantiles are used here.
* FunnelPlotR offers only the additive adjustment; the multiplicative one is Spiegelhalter's.

References
----------
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
Statistics in Medicine 24:1185-1202. doi:10.1002/sim.1970
Spiegelhalter, D. J. (2005). Handling over-dispersion of performance indicators.
Qual Saf Health Care 14:347-351.
DerSimonian, R. & Laird, N. (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
Mainey, C. et al. FunnelPlotR (R package), ``R/od_adjustment.R``, ``R/calculate_limits.R``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from ._validation import as_binomial_counts, as_counts

__all__ = ["ControlLimits", "FunnelCurve", "FunnelResult", "funnel_flag", "funnel_limits"]

LEVELS = (0.95, 0.998)
Method = Literal["exact", "multiplicative", "additive"]
Scale = Literal["arcsine", "identity"]


@dataclass(frozen=True)
class ControlLimits:
    """Lower/upper control limits (on the rate scale) at 95 % and 99.8 %."""

    lower_95: np.ndarray
    upper_95: np.ndarray
    lower_998: np.ndarray
    upper_998: np.ndarray

    def at(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` at ``level`` (0.95 or 0.998)."""
        if np.isclose(level, 0.95):
            return self.lower_95, self.upper_95
        if np.isclose(level, 0.998):
            return self.lower_998, self.upper_998
        raise ValueError(f"level must be 0.95 or 0.998, got {level}")


@dataclass(frozen=True)
class FunnelCurve:
    """Limits over a grid of denominators ``n``, for drawing the funnel."""

    n: np.ndarray
    exact: ControlLimits
    multiplicative: ControlLimits
    additive: ControlLimits


@dataclass(frozen=True)
class FunnelResult:
    """Per-unit funnel statistics, over-dispersion estimates, limits, flags and the curve."""

    target: float
    scale: str
    rate: np.ndarray
    z: np.ndarray
    winsorized_z: np.ndarray
    z_multiplicative: np.ndarray
    z_additive: np.ndarray
    phi: float
    tau2: float
    exact: ControlLimits
    multiplicative: ControlLimits
    additive: ControlLimits
    flag: np.ndarray
    flag_method: str
    flag_level: float
    curve: FunnelCurve

    def limits(self, method: Method) -> ControlLimits:
        """Per-unit limits of ``method`` ('exact', 'multiplicative' or 'additive')."""
        if method not in ("exact", "multiplicative", "additive"):
            raise ValueError(f"method must be 'exact', 'multiplicative' or 'additive', got {method!r}")
        return getattr(self, method)

    def flags(self, method: Method = "additive", level: float = 0.998) -> np.ndarray:
        """'haut' / 'bas' / None per unit against the limits of ``method`` at ``level``."""
        lower, upper = self.limits(method).at(level)
        return funnel_flag(self.rate, lower, upper)


def funnel_flag(rate: Any, lower: Any, upper: Any) -> np.ndarray:
    """``"haut"`` where ``rate > upper``, ``"bas"`` where ``rate < lower``, else ``None`` (object array)."""
    p = np.asarray(rate, dtype=float)
    lo = np.broadcast_to(np.asarray(lower, dtype=float), p.shape)
    hi = np.broadcast_to(np.asarray(upper, dtype=float), p.shape)
    out = np.full(p.shape, None, dtype=object)
    out[p > hi] = "haut"
    out[p < lo] = "bas"
    return out


def _exact_binomial_limit(n: np.ndarray, theta: float, p: float) -> np.ndarray:
    """Spiegelhalter (2005) interpolated binomial quantile ``(r_p - alpha_p) / n``."""
    r = stats.binom.ppf(p, n, theta)
    f_r = stats.binom.cdf(r, n, theta)
    f_prev = stats.binom.cdf(r - 1, n, theta)  # 0 when r = 0
    alpha = (f_r - p) / (f_r - f_prev)
    return np.clip((r - alpha) / n, 0.0, 1.0)


def _transform(p: np.ndarray | float, scale: str) -> np.ndarray:
    return np.arcsin(np.sqrt(p)) if scale == "arcsine" else np.asarray(p, dtype=float)


def _inverse(x: np.ndarray, scale: str) -> np.ndarray:
    if scale == "arcsine":
        return np.sin(np.clip(x, 0.0, np.pi / 2.0)) ** 2
    return np.clip(x, 0.0, 1.0)


def _sd(n: np.ndarray, theta: float, scale: str) -> np.ndarray:
    if scale == "arcsine":
        return 1.0 / (2.0 * np.sqrt(n))
    return np.sqrt(theta * (1.0 - theta) / n)


def _limit_set(n: np.ndarray, theta: float, scale: str, phi_used: float, tau2: float):
    t0 = _transform(theta, scale)
    s = _sd(n, theta, scale)
    exact, mult, add = {}, {}, {}
    for level, tag in zip(LEVELS, ("95", "998")):
        tail = (1.0 - level) / 2.0
        zq = stats.norm.ppf(1.0 - tail)
        exact[f"lower_{tag}"] = _exact_binomial_limit(n, theta, tail)
        exact[f"upper_{tag}"] = _exact_binomial_limit(n, theta, 1.0 - tail)
        half_m = zq * np.sqrt(phi_used) * s
        mult[f"lower_{tag}"] = _inverse(t0 - half_m, scale)
        mult[f"upper_{tag}"] = _inverse(t0 + half_m, scale)
        half_a = zq * np.sqrt(s**2 + tau2)
        add[f"lower_{tag}"] = _inverse(t0 - half_a, scale)
        add[f"upper_{tag}"] = _inverse(t0 + half_a, scale)
    return ControlLimits(**exact), ControlLimits(**mult), ControlLimits(**add)


def funnel_limits(
    k: Any,
    n: Any,
    target: float | None = None,
    *,
    scale: Scale = "arcsine",
    winsorize: float = 0.1,
    flag_method: Method = "additive",
    flag_level: float = 0.998,
    n_grid: Any = None,
    grid_points: int = 100,
) -> FunnelResult:
    """Funnel-plot statistics for proportions ``k/n`` (see module docstring for formulas).

    Parameters
    ----------
    k, n : array-like of int
        Events and denominators per unit (0 <= k <= n, n >= 1).
    target : float, optional
        Centre line ``theta0`` in (0, 1); default the pooled rate ``sum(k)/sum(n)``.
    scale : {"arcsine", "identity"}
        Scale of the z-scores and of the over-dispersion adjustment.
    winsorize : float
        Fraction winsorised in each tail before estimating ``phi`` (0 <= q < 0.5; default 0.1).
    flag_method, flag_level
        Limits used for ``FunnelResult.flag`` (default additive, 99.8 %).
    n_grid : array-like of int, optional
        Denominators at which to compute the funnel curve; default ``grid_points`` values
        spaced geometrically from min(n) to max(n).
    """
    kk, nn = as_binomial_counts(k, n)
    if scale not in ("arcsine", "identity"):
        raise ValueError(f"scale must be 'arcsine' or 'identity', got {scale!r}")
    if not 0.0 <= float(winsorize) < 0.5:
        raise ValueError(f"winsorize must be in [0, 0.5), got {winsorize}")
    theta = float(kk.sum() / nn.sum()) if target is None else float(target)
    if not 0.0 < theta < 1.0:
        raise ValueError(f"the target rate must be strictly between 0 and 1, got {theta}")
    if flag_method not in ("exact", "multiplicative", "additive"):
        raise ValueError(f"flag_method must be 'exact', 'multiplicative' or 'additive', got {flag_method!r}")

    rate = kk / nn
    t0 = _transform(theta, scale)
    s = _sd(nn, theta, scale)
    z = (_transform(rate, scale) - t0) / s
    lo, hi = np.quantile(z, [winsorize, 1.0 - winsorize])
    zw = np.clip(z, lo, hi)
    units = len(z)
    phi = float(np.mean(zw**2))
    w = 1.0 / s**2
    if units * phi <= units - 1:
        tau2 = 0.0
    else:
        tau2 = float(max(0.0, (units * phi - (units - 1)) / (w.sum() - (w**2).sum() / w.sum())))
    phi_used = max(phi, 1.0)

    exact, mult, add = _limit_set(nn, theta, scale, phi_used, tau2)

    if n_grid is None:
        grid = np.unique(np.round(np.geomspace(nn.min(), nn.max(), int(grid_points))))
    else:
        grid = as_counts(n_grid, "n_grid")
        if (grid < 1).any():
            raise ValueError("n_grid values must be at least 1")
    curve = FunnelCurve(grid, *_limit_set(grid, theta, scale, phi_used, tau2))
    by_method = {"exact": exact, "multiplicative": mult, "additive": add}
    flag_lower, flag_upper = by_method[flag_method].at(flag_level)

    return FunnelResult(
        target=theta,
        scale=scale,
        rate=rate,
        z=z,
        winsorized_z=zw,
        z_multiplicative=z / np.sqrt(phi_used),
        z_additive=(_transform(rate, scale) - t0) / np.sqrt(s**2 + tau2),
        phi=phi,
        tau2=tau2,
        exact=exact,
        multiplicative=mult,
        additive=add,
        flag=funnel_flag(rate, flag_lower, flag_upper),
        flag_method=flag_method,
        flag_level=float(flag_level),
        curve=curve,
    )
