"""Input checks shared by every equity measure (internal).

All measures take plain 1-D arrays (numpy arrays, lists, pandas Series) and raise
``ValueError`` with a message naming the offending argument when the input is unusable:
different lengths, NaN or infinite values, negative weights, a total weight of zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def as_float_array(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array; reject empty, non-numeric, NaN and infinite values."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN ({int(np.isnan(arr).sum())} value(s))")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains infinite values")
    return arr


def as_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    """Return non-negative weights of length ``n`` with a positive total."""
    w = as_float_array(weights, name)
    check_same_length(n, **{name: w})
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative ({int((w < 0).sum())} negative value(s))")
    if w.sum() <= 0:
        raise ValueError(f"{name} sum to zero: at least one unit needs a positive weight")
    return w


def as_labels(values: Any, n: int, name: str = "groups") -> np.ndarray:
    """Return group labels as a 1-D array of length ``n`` without missing values."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    check_same_length(n, **{name: arr})
    if pd.isna(pd.Series(arr, dtype=object)).any():
        raise ValueError(f"{name} contains missing values")
    return arr


def as_counts(values: Any, name: str) -> np.ndarray:
    """Return a 1-D float array of non-negative whole numbers (event or account counts)."""
    arr = as_float_array(values, name)
    if (arr < 0).any():
        raise ValueError(f"{name} must be non-negative")
    if not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold whole numbers (counts)")
    return arr


def as_binomial_counts(k: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    """Successes ``k`` and trials ``n`` per unit: whole, same length, n >= 1 and k <= n."""
    kk = as_counts(k, "k")
    nn = as_counts(n, "n")
    check_same_length(len(kk), n=nn)
    if (nn < 1).any():
        raise ValueError("n must be at least 1 for every unit")
    if (kk > nn).any():
        raise ValueError("k must not exceed n")
    return kk, nn


def check_same_length(expected: int, /, **arrays: np.ndarray) -> None:
    """Raise if any of ``arrays`` does not have length ``expected``."""
    for name, arr in arrays.items():
        if len(arr) != expected:
            raise ValueError(f"{name} has length {len(arr)}, expected {expected} (one value per unit)")


def check_bounds(y: np.ndarray, lower: float, upper: float, name: str = "y") -> tuple[float, float]:
    """Check ``lower < upper`` and that every ``y`` lies in ``[lower, upper]``."""
    lower, upper = float(lower), float(upper)
    if not (np.isfinite(lower) and np.isfinite(upper)) or lower >= upper:
        raise ValueError(f"bounds must satisfy lower < upper, got lower={lower}, upper={upper}")
    if (y < lower).any() or (y > upper).any():
        raise ValueError(f"{name} has values outside the bounds [{lower}, {upper}]")
    return lower, upper


def check_conf_level(conf_level: float) -> float:
    """Check a confidence level is strictly between 0 and 1."""
    conf_level = float(conf_level)
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    return conf_level
