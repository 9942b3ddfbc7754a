"""The adoption model: per school and profile, the true probability that a loaded account is active over
the school year (at least one session) and that it is activated.

Parents (logit scale)::

    logit p = alpha_parent + level_parent[level] + S + workshop · (after the workshop date)
    S = b_ips·z_ips + b_equipment·(equipment - mean) + b_training·(training - mean) + b_prive·prive
        + b_REP·REP + b_REP+·REP+ + b_rural·rural + b_intermediaire·intermediaire
        + academie_effect + school_effect

Other profiles: ``logit p = alpha_p + level_p[level] + share_p · S`` (a weaker share of the school-level
effects, no workshop effect). Each ``alpha`` is solved (scipy brentq) so that the national mean over ALL
schools given, weighted by loaded accounts of the profile, equals the target. For parents the target
applies to the school-year probability, i.e. with the workshop bump in the schools that hold one.

Activation (activated ⊇ active): ``p_activated = p_active + (1 - p_active) · q_p``, with ``q_p`` solved so
that the national activation rate equals the target.

Every coefficient is an assumption unless a source is named next to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.optimize import brentq
from scipy.special import expit

from pipelines.synth.calendar import MODEL_PROFILES

# Share of loaded accounts active over the school year: "teachers 72 %, heads 67 %, pupils 31 %, parents
# 40 %" (Eduscol national survey, 29 académies, via monlycee.net). Personnel takes the heads' 67 %.
ACTIVE_TARGET = {"parent": 0.40, "eleve": 0.31, "enseignant": 0.72, "personnel": 0.67}

# Share of loaded accounts ever activated. "One third of accounts were never activated" (ENTmip 2012-13)
# for parents and pupils; teachers and personnel: assumption, no source.
ACTIVATION_TARGET = {"parent": 2 / 3, "eleve": 2 / 3, "enseignant": 0.95, "personnel": 0.90}

PARENT_COEFFICIENTS = {
    # Direct socio-economic gradient per sd of IPS (assumption; sources are qualitative: parent connection
    # is "très inégal", Radio France 2023; 27 % vs 15 % report connection difficulties, DEPP 2020).
    "z_ips": 0.30,
    # Per unit of household equipment rate (assumption: turns the 64 % vs 92 % equipment gap, DEPP 2020 via
    # Capgemini, into ≈ 0.7 logit between the extreme deciles). Centred on the national mean.
    "household_equipment_rate": 2.5,
    # Per unit of teacher ENT training rate, centred (assumption, no source).
    "teacher_ent_training_rate": 0.8,
    "prive": 0.20,  # assumption, no source
    "REP": -0.15,  # on top of the IPS gradient (assumption, no source)
    "REP+": -0.30,  # assumption, no source
    # "The gap is worse in rural areas" (France Bleu 2020); sizes: assumption. NULL class -> 0.
    "rural": -0.10,
    "intermediaire": -0.05,
    # Logit bump for parents after a mediation workshop in their school (assumption, no source).
    "workshop": 0.60,
}

# Names accepted by ``ent-equity synth --effect NAME=VALUE`` for the planted parent coefficients: the
# levers' names (as in the ``lever_effects`` table) and every key of PARENT_COEFFICIENTS.
EFFECT_ALIASES = {
    "workshop": "workshop",
    "teacher_training": "teacher_ent_training_rate",
    "household_equipment": "household_equipment_rate",
    "ips": "z_ips",
    **{key: key for key in PARENT_COEFFICIENTS},
}


def parent_coefficients(effects: Mapping[str, float] | None = None) -> dict[str, float]:
    """PARENT_COEFFICIENTS with the planted ``effects`` (lever names or coefficient keys) in place.

    The workshop effect must be >= 0: the generator plants it as parents who become adopters from the
    workshop day, which cannot take adopters away."""
    coefficients = dict(PARENT_COEFFICIENTS)
    for name, value in (effects or {}).items():
        if name not in EFFECT_ALIASES:
            raise ValueError(f"unknown effect {name!r}; known: {', '.join(sorted(EFFECT_ALIASES))}")
        if not np.isfinite(value):
            raise ValueError(f"effect {name} must be a finite number, not {value!r}")
        coefficients[EFFECT_ALIASES[name]] = float(value)
    if coefficients["workshop"] < 0:
        raise ValueError("the workshop effect must be >= 0 (workshops recruit adopters; they cannot remove any)")
    return coefficients


# Level effects (logit, collège = 0). Parents: primary logs show "far fewer [connections] on parents'
# accounts" (lavoixdesparents 2012) and parents visit "notably in collèges" (ludomag 2013); lycée below
# collège (older pupils, assumption). Other profiles: assumption, no source.
LEVEL_EFFECT = {
    "parent": {"ecole": -0.9, "college": 0.0, "lycee": -0.35},
    "eleve": {"ecole": 0.0, "college": 0.0, "lycee": 0.2},
    "enseignant": {"ecole": -0.2, "college": 0.0, "lycee": 0.0},
    "personnel": {"ecole": -0.3, "college": 0.0, "lycee": 0.0},
}

# Share of the school-level part S that reaches each profile (assumption, no source).
SCHOOL_EFFECT_SHARE = {"parent": 1.0, "eleve": 0.5, "enseignant": 0.4, "personnel": 0.3}


@dataclass(frozen=True)
class Adoption:
    """Per school (rows of the frame) × profile (MODEL_PROFILES order) probabilities, and fitted constants."""

    p_without_workshop: np.ndarray  # (n_schools, 4)
    p_with_workshop: np.ndarray  # (n_schools, 4): equals p_without_workshop except parents
    p_year: np.ndarray  # (n_schools, 4): true probability of being active over the school year
    p_activated: np.ndarray  # (n_schools, 4)
    school_part: np.ndarray  # (n_schools,): S
    intercepts: dict[str, float]
    activation_q: dict[str, float]
    centring: dict[str, float]
    coefficients: dict[str, float] = field(default_factory=lambda: dict(PARENT_COEFFICIENTS))


def _school_part(frame: pl.DataFrame, centring: dict[str, float], c: Mapping[str, float]) -> np.ndarray:
    col = lambda name: frame[name].to_numpy()  # noqa: E731
    ep = col("education_prioritaire")
    ru = frame["rural_urban"].fill_null("inconnu").to_numpy()
    return (
        c["z_ips"] * col("z_ips")
        + c["household_equipment_rate"] * (col("household_equipment_rate") - centring["household_equipment_rate"])
        + c["teacher_ent_training_rate"] * (col("teacher_ent_training_rate") - centring["teacher_ent_training_rate"])
        + c["prive"] * (col("secteur") == "prive")
        + c["REP"] * (ep == "REP")
        + c["REP+"] * (ep == "REP+")
        + c["rural"] * (ru == "rural")
        + c["intermediaire"] * (ru == "intermediaire")
        + col("academie_effect")
        + col("school_effect")
    )


def solve_intercept(offset: np.ndarray, weight: np.ndarray, target: float) -> float:
    """alpha such that sum(weight · expit(alpha + offset)) / sum(weight) == target."""
    total = weight.sum()
    return float(brentq(lambda a: float(weight @ expit(a + offset)) / total - target, -20.0, 20.0, xtol=1e-12))


def fit_adoption(frame: pl.DataFrame, effects: Mapping[str, float] | None = None) -> Adoption:
    """Solve the intercepts on the whole frame and return every school's true probabilities.

    ``effects`` overrides planted parent coefficients (see ``parent_coefficients``)."""
    coefficients = parent_coefficients(effects)
    workshop = coefficients["workshop"]
    centring = {
        "household_equipment_rate": float(frame["household_equipment_rate"].mean()),
        "teacher_ent_training_rate": float(frame["teacher_ent_training_rate"].mean()),
    }
    s = _school_part(frame, centring, coefficients)
    level = frame["level"].to_numpy()
    held = frame["workshop_day"].is_not_null().to_numpy()
    n = frame.height
    without, with_ws, year, activated = (np.empty((n, len(MODEL_PROFILES))) for _ in range(4))
    intercepts, q = {}, {}
    for j, profile in enumerate(MODEL_PROFILES):
        offset = np.select([level == lv for lv in LEVEL_EFFECT[profile]], list(LEVEL_EFFECT[profile].values()))
        offset = offset + SCHOOL_EFFECT_SHARE[profile] * s
        bump = workshop * held if profile == "parent" else np.zeros(n)
        weight = frame[f"loaded_{profile}"].to_numpy().astype(float)
        alpha = solve_intercept(offset + bump, weight, ACTIVE_TARGET[profile])
        without[:, j] = expit(alpha + offset)
        with_ws[:, j] = expit(alpha + offset + workshop * (profile == "parent"))
        year[:, j] = expit(alpha + offset + bump)
        mean_active = float(weight @ year[:, j]) / weight.sum()
        q[profile] = (ACTIVATION_TARGET[profile] - mean_active) / (1 - mean_active)
        activated[:, j] = year[:, j] + (1 - year[:, j]) * q[profile]
        intercepts[profile] = alpha
    return Adoption(without, with_ws, year, activated, s, intercepts, q, centring, coefficients)


def adoption_parameters(adoption: Adoption) -> dict:
    """Coefficients, targets and fitted constants for truth/parameters.json."""
    return {
        "active_target": ACTIVE_TARGET,
        "activation_target": ACTIVATION_TARGET,
        "parent_coefficients": adoption.coefficients,
        # The levers' planted effects under the names of the lever_effects table (logit, parents).
        "planted_effects": {lever: adoption.coefficients[key] for lever, key in EFFECT_ALIASES.items()
                            if lever in ("workshop", "teacher_training", "household_equipment")},
        "level_effect": LEVEL_EFFECT,
        "school_effect_share": SCHOOL_EFFECT_SHARE,
        "centring": adoption.centring,
        "intercepts": adoption.intercepts,
        "activation_q": adoption.activation_q,
    }
