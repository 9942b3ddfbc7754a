"""The school covariates of the levers' models, as one numeric matrix (no intercept column).

| column | from | group |
|---|---|---|
| ``ips_sd`` | (IPS - national mean) / national sd | ``ips`` |
| ``household_equipment_rate`` | school context, 0-1 | ``household_equipment`` |
| ``teacher_ent_training_rate`` | school context, 0-1 | ``teacher_training`` |
| ``prive`` | secteur = prive | ``secteur`` |
| ``REP``, ``REP+`` | éducation prioritaire (hors EP and unknown = 0) | ``education_prioritaire`` |
| ``rural``, ``intermediaire`` | rural/urban class (urbain and unknown = 0) | ``rurality`` |
| ``ecole``, ``lycee`` | level (collège = 0) | ``level`` |
| ``calendar_B``, ``calendar_C``, ``calendar_other`` | holiday zone (A = 0; Corse and overseas = other) | ``calendar`` |

Schools without IPS (DEPP publishes 'NS' for small écoles) or without context values are left out: the
returned mask says which rows are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FACTOR_GROUPS = {
    "ips": ["ips_sd"],
    "household_equipment": ["household_equipment_rate"],
    "teacher_training": ["teacher_ent_training_rate"],
    "secteur": ["prive"],
    "education_prioritaire": ["REP", "REP+"],
    "rurality": ["rural", "intermediaire"],
    "level": ["ecole", "lycee"],
    "calendar": ["calendar_B", "calendar_C", "calendar_other"],
}
# What explains a gap in adoption (the decomposition's groups); the calendar only serves the event study.
CONTEXT_GROUPS = tuple(g for g in FACTOR_GROUPS if g != "calendar")
# Lever name -> the covariate whose coefficient is its effect (logit per unit of rate).
LEVER_COLUMNS = {"household_equipment": "household_equipment_rate", "teacher_training": "teacher_ent_training_rate"}
REQUIRED = ["ips", "household_equipment_rate", "teacher_ent_training_rate", "level", "secteur"]


@dataclass(frozen=True)
class IpsScale:
    """The national IPS mean and sd that put IPS on the ``ips_sd`` scale."""

    mean: float
    sd: float


def covariates(schools: pd.DataFrame, ips: IpsScale, groups: tuple[str, ...] = CONTEXT_GROUPS) -> tuple[pd.DataFrame, np.ndarray]:
    """(covariate matrix of the kept schools, boolean mask of kept rows of ``schools``) for ``groups``."""
    keep = schools[REQUIRED].notna().all(axis=1).to_numpy()
    s = schools.loc[keep]
    ep = s["education_prioritaire"].fillna("inconnu")
    rural_urban = s["rural_urban"].fillna("urbain")
    zone = s["zone"].fillna("other") if "zone" in s else pd.Series("A", index=s.index)
    columns = {
        "ips_sd": (s["ips"].astype(float) - ips.mean) / ips.sd,
        "household_equipment_rate": s["household_equipment_rate"].astype(float),
        "teacher_ent_training_rate": s["teacher_ent_training_rate"].astype(float),
        "prive": s["secteur"].eq("prive"),
        "REP": ep.eq("REP"),
        "REP+": ep.eq("REP+"),
        "rural": rural_urban.eq("rural"),
        "intermediaire": rural_urban.eq("intermediaire"),
        "ecole": s["level"].eq("ecole"),
        "lycee": s["level"].eq("lycee"),
        "calendar_B": zone.eq("B"),
        "calendar_C": zone.eq("C"),
        "calendar_other": ~zone.isin(["A", "B", "C"]),
    }
    wanted = [c for g in groups for c in FACTOR_GROUPS[g]]
    return pd.DataFrame({c: columns[c].astype(float).to_numpy() for c in wanted}, index=s.index), keep


def drop_constant(x: pd.DataFrame) -> pd.DataFrame:
    """Columns that vary among these rows (a dummy nobody has cannot be estimated)."""
    return x.loc[:, x.nunique() > 1]


def logit_rate(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Empirical logit of k successes out of n: log((k + 1/2) / (n - k + 1/2))."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    return np.log((k + 0.5) / (n - k + 0.5))
