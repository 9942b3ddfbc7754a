"""How active accounts use the ENT: services (reach), intensity, channel, authentication, session shape.

- Reach: each active account has a set of services, one Bernoulli draw per service with probability
  ``expit(logit(base[profile][level group][service]) + slope[service]·z_ips)`` (slope for families only).
  Every service of the set is visited at least once over the year, so the true reach of a service among a
  school's active accounts is exactly that probability.
- Intensity: sessions per month of an active account ~ Gamma(shape, mean[profile][level]); over the
  school year an account gets ``1 + Poisson(rate · ACTIVE_MONTHS · share of the year's calendar weight
  left after it starts)`` sessions.
- Channel: a session is mobile_app with the account's propensity ~ Beta with mean = the school's mobile
  share; a non-app session is "other" with a small probability, else web.
- A session is one LOGIN (service connexion) followed by ``1 + Poisson(extra)`` ACCESS events (none if
  the account's service set is empty), the first a few seconds after the login, then spaced by a few
  seconds plus an exponential gap.
Sources are named next to each table; anything else is an assumption, no source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.special import expit, logit

from pipelines.synth.adoption_model import Adoption, solve_intercept
from pipelines.synth.calendar import MODEL_PROFILES
from pipelines.formats.entcore import SERVICES
from pipelines.synth.school_frame import by_level

# Services an account can use (canonical names, "connexion" excluded: that is the LOGIN).
MODEL_SERVICES = tuple(s for s in SERVICES if s != "connexion")

# Probability that an active account uses a service during the year, per profile and level group, in
# MODEL_SERVICES order. Parents in secondary: vie scolaire (notes, absences) and cahier de textes dominate,
# then messaging; blog and documents minor (ENT_USAGE_FIGURES "service mix for parents"; MBN Strasbourg
# 2020: absences and notes first, then messaging). Primary: blog and cahier (carnet) de liaison dominate
# (ENT_USAGE_FIGURES, qualitative). "The most used service for every profile is still the cahier de
# textes" (EVALuENT 2016). Exact values: assumption.
REACH_BASE = {
    "parent": {
        "secondaire": (0.80, 0.85, 0.70, 0.40, 0.06, 0.10, 0.05, 0.25, 0.15, 0.05),
        "ecole": (0.03, 0.10, 0.35, 0.30, 0.70, 0.12, 0.60, 0.35, 0.15, 0.05),
    },
    "eleve": {
        "secondaire": (0.70, 0.40, 0.85, 0.45, 0.10, 0.35, 0.02, 0.20, 0.20, 0.15),
        "ecole": (0.02, 0.02, 0.50, 0.25, 0.60, 0.30, 0.10, 0.15, 0.10, 0.20),
    },
    "enseignant": {
        "secondaire": (0.85, 0.90, 0.95, 0.85, 0.15, 0.60, 0.05, 0.45, 0.40, 0.25),
        "ecole": (0.05, 0.20, 0.60, 0.80, 0.75, 0.55, 0.65, 0.50, 0.40, 0.20),
    },
    "personnel": {
        "secondaire": (0.30, 0.85, 0.25, 0.85, 0.10, 0.45, 0.05, 0.55, 0.45, 0.20),
        "ecole": (0.02, 0.20, 0.25, 0.85, 0.30, 0.45, 0.30, 0.55, 0.45, 0.20),
    },
}
# Logit slope per sd of IPS for families (parents, pupils): "the features families ignore" are ignored more
# in disadvantaged schools (assumption, no source; consistent with the equipment gap of DEPP 2020).
REACH_IPS_SLOPE = {"messagerie": 0.25, "documents": 0.30, "actualites": 0.15, "agenda": 0.15, "blog": 0.10}
FAMILY_PROFILES = ("parent", "eleve")

# Relative weight of a service for the visits beyond the first one to each service of the set. Cahier de
# textes first (EVALuENT 2016), vie scolaire and notes next (MBN Strasbourg 2020), then messaging; the
# values are an assumption.
VISIT_WEIGHT = (2.5, 2.5, 3.0, 2.0, 1.5, 1.0, 1.5, 1.0, 0.7, 0.5)

# Mean sessions per month of an active account, per profile and level. "≈ 10.9 visits per active visitor
# per month" (CDC 2011), "fewer than 10 visits per user per month, with large gaps between profiles" and
# "teachers connect most often" (ENTmip 2012-13) -> teachers > pupils > parents; far fewer connections on
# parents' accounts in primary (lavoixdesparents 2012); parents visit "notably in collèges" (ludomag 2013).
# Values: assumption.
SESSIONS_PER_MONTH = {
    "parent": {"ecole": 3.5, "college": 8.0, "lycee": 6.5},
    "eleve": {"ecole": 4.0, "college": 10.0, "lycee": 12.0},
    "enseignant": {"ecole": 12.0, "college": 22.0, "lycee": 22.0},
    "personnel": {"ecole": 10.0, "college": 15.0, "lycee": 15.0},
}
SESSIONS_GAMMA_SHAPE = 1.2  # heterogeneity between accounts (assumption)
ACTIVE_MONTHS = 10  # September to June (ENTmip counts "Sept-June, summer excluded")

# Share of sessions from the mobile app: "mobile access for 78 % of pupils, 68 % of parents, 61 % of
# teachers" (EVALuENT 2016, second degree), read as a share of sessions and applied to every level;
# personnel: assumption. Families in low-IPS schools lean more on the phone (assumption, consistent with
# "64 % of low-income households own a computer vs 92 %", DEPP 2020): logit slope per sd of IPS below.
MOBILE_SHARE_TARGET = {"parent": 0.68, "eleve": 0.78, "enseignant": 0.61, "personnel": 0.35}
MOBILE_IPS_SLOPE = -0.15
MOBILE_SCHOOL_SD = 0.2  # school random effect on the logit (assumption)
MOBILE_CONCENTRATION = 3.0  # Beta(c·p, c·(1-p)) per account: people stick to the app or the web (assumption)
OTHER_CHANNEL_SHARE = 0.02  # of non-app sessions: unrecognised clients (assumption)

# Authentication method of an account (educonnect, franceconnect, ent_local), per profile and level group.
# Assumption, no source. Staff log in with académie credentials, which the canonical vocabulary has no
# value for: they count as ent_local.
AUTH_SHARES = {
    "parent": {"secondaire": (0.55, 0.25, 0.20), "ecole": (0.45, 0.20, 0.35)},
    "eleve": {"secondaire": (0.90, 0.0, 0.10), "ecole": (0.40, 0.0, 0.60)},
    "enseignant": {"secondaire": (0.0, 0.0, 1.0), "ecole": (0.0, 0.0, 1.0)},
    "personnel": {"secondaire": (0.0, 0.0, 1.0), "ecole": (0.0, 0.0, 1.0)},
}

# Session shape (assumption, no source): ACCESS events per session = 1 + Poisson(extra) ("visits got
# longer", MBN Strasbourg 2020, for the ordering teachers > pupils > parents); the first ACCESS comes
# FIRST_ACCESS_DELAY_S after the LOGIN, the next ones MIN_GAP_S + Exp(MEAN_GAP_S) apart.
ACCESS_EXTRA_MEAN = {"parent": 0.9, "eleve": 1.1, "enseignant": 1.6, "personnel": 1.4}
FIRST_ACCESS_DELAY_S = (2, 20)
MIN_GAP_S, MEAN_GAP_S = 5, 70

# Accounts (assumption, no source): most are loaded before the rentrée, a few later (new arrivals).
# Activation happens the day of the first session or a few days before (60 % same day, else a geometric
# lag); accounts activated but never active get an activation date skewed towards the start of the year.
LATE_ARRIVAL_SHARE = 0.04
SAME_DAY_ACTIVATION = 0.6
ACTIVATION_LAG_MEAN_DAYS = 10


def level_group(level: np.ndarray) -> np.ndarray:
    return np.where(level == "ecole", "ecole", "secondaire")


@dataclass(frozen=True)
class Usage:
    """Per school (rows of the frame) × profile (× service) true usage parameters."""

    reach: np.ndarray  # (n_schools, 4, 10)
    mobile_share: np.ndarray  # (n_schools, 4)
    sessions_per_month: np.ndarray  # (n_schools, 4): mean of the Gamma
    auth_shares: np.ndarray  # (n_schools, 4, 3)
    mobile_intercepts: dict[str, float]


def fit_usage(frame: pl.DataFrame, adoption: Adoption, rng: np.random.Generator) -> Usage:
    """Reach, mobile share (intercepts solved on the whole frame), intensity and auth shares per school."""
    n = frame.height
    level = frame["level"].to_numpy()
    group = level_group(level)
    z = frame["z_ips"].to_numpy()
    reach = np.empty((n, len(MODEL_PROFILES), len(MODEL_SERVICES)))
    mobile = np.empty((n, len(MODEL_PROFILES)))
    intensity = np.empty((n, len(MODEL_PROFILES)))
    auth = np.empty((n, len(MODEL_PROFILES), 3))
    intercepts = {}
    school_noise = rng.normal(0, MOBILE_SCHOOL_SD, n)
    for j, profile in enumerate(MODEL_PROFILES):
        base = np.where((group == "ecole")[:, None], REACH_BASE[profile]["ecole"], REACH_BASE[profile]["secondaire"])
        slope = np.array([REACH_IPS_SLOPE.get(s, 0.0) for s in MODEL_SERVICES]) * (profile in FAMILY_PROFILES)
        reach[:, j, :] = expit(logit(base) + slope * z[:, None])
        intensity[:, j] = by_level(level, SESSIONS_PER_MONTH[profile])
        auth[:, j, :] = np.where((group == "ecole")[:, None], AUTH_SHARES[profile]["ecole"], AUTH_SHARES[profile]["secondaire"])
        offset = MOBILE_IPS_SLOPE * z * (profile in FAMILY_PROFILES) + school_noise
        sessions = frame[f"loaded_{profile}"].to_numpy() * adoption.p_year[:, j] * intensity[:, j]
        intercepts[profile] = solve_intercept(offset, sessions, MOBILE_SHARE_TARGET[profile])
        mobile[:, j] = expit(intercepts[profile] + offset)
    return Usage(reach, mobile, intensity, auth, intercepts)


def usage_parameters(usage: Usage) -> dict:
    """Every usage assumption and fitted constant, for truth/parameters.json."""
    return {
        "services": list(MODEL_SERVICES),
        "reach_base": REACH_BASE,
        "reach_ips_slope_families": REACH_IPS_SLOPE,
        "visit_weight": dict(zip(MODEL_SERVICES, VISIT_WEIGHT)),
        "sessions_per_month_mean": SESSIONS_PER_MONTH,
        "sessions_gamma_shape": SESSIONS_GAMMA_SHAPE,
        "active_months": ACTIVE_MONTHS,
        "mobile_share_target_sessions": MOBILE_SHARE_TARGET,
        "mobile_ips_slope_families": MOBILE_IPS_SLOPE,
        "mobile_school_sd": MOBILE_SCHOOL_SD,
        "mobile_intercepts": usage.mobile_intercepts,
        "mobile_account_beta_concentration": MOBILE_CONCENTRATION,
        "other_channel_share_of_non_app_sessions": OTHER_CHANNEL_SHARE,
        "auth_shares_educonnect_franceconnect_ent_local": AUTH_SHARES,
        "access_per_session": {"one_plus_poisson_mean": ACCESS_EXTRA_MEAN},
        "first_access_delay_seconds": list(FIRST_ACCESS_DELAY_S),
        "gap_seconds": {"min": MIN_GAP_S, "exponential_mean": MEAN_GAP_S},
        "late_arrival_share": LATE_ARRIVAL_SHARE,
        "same_day_activation": SAME_DAY_ACTIVATION,
        "activation_lag_mean_days": ACTIVATION_LAG_MEAN_DAYS,
    }
