"""Per-school inputs of the synthetic model, for every school of the national table.

Everything here is drawn for ALL schools given (not only the sampled ones), in UAI order, from the
seed, so that a school gets the same context and random effects whatever the sample size, and the
national calibration of ``adoption_model`` runs on the whole country.

Columns added to the ``schools`` table:
- ``ips_model``: the school's IPS; a NULL IPS ('NS', small écoles) is imputed by the mean IPS of the
  same département and level, else of the département, else national (``ips_imputed`` says so).
- ``z_ips``: ``(ips_model - mean) / sd`` over all schools given (unweighted).
- ``zone`` and ``time_zone`` from the académie (see ``calendar``).
- ``loaded_<profile>``: provisioned accounts per profile (see ACCOUNT_RATIOS).
- ``household_equipment_rate``, ``teacher_ent_training_rate``: context values (3 decimals, as published
  in ``landing/context/school_context.csv``; the model uses the rounded values).
- ``workshop_day`` (window day index, NULL when no workshop), ``workshop_participants``.
- ``academie_effect``, ``school_effect``: random intercepts of the adoption model (logit scale).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.special import expit

from pipelines.synth.calendar import (
    DEFAULT_TIME_ZONE,
    MODEL_PROFILES,
    TIME_ZONE_OF_ACADEMIE,
    ZONE_OF_ACADEMIE,
    SchoolYearCalendar,
    school_day_mask,
)

# Random streams (spawn keys of the seed) used by the whole generator.
STREAM_SCHOOLS, STREAM_ACADEMIES, STREAM_SAMPLE, STREAM_ENTCORE, STREAM_CHUNKS = 1, 2, 3, 4, 10


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """An independent random generator for one stream (and sub-stream) of the seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


# Accounts per school. Parents: "Parents ≈ 60 % of potential ENT users, pupils 34 %" (ENTmip 2012-13)
# gives ≈ 1.76 parent accounts per pupil account: two guardians for most pupils -> 1.7 per pupil.
# Pupils: in écoles only elementary pupils (CP-CM2, 5 of 8 levels) get an account -> 0.6 × headcount
# (assumption, no source); every secondary pupil has one. Teachers: one per ~22 pupils in écoles and per
# ~13 pupils in collèges/lycées (assumption, orders of magnitude of French pupil/teacher ratios, no source
# in ENT_USAGE_FIGURES.md). Personnel (head, CPE, secretariat, vie scolaire): 1 in an école, 2 + 1 per 150
# pupils in secondary (assumption, no source).
ACCOUNT_RATIOS = {
    "parent_per_pupil": 1.7,
    "pupil_accounts_per_pupil": {"ecole": 0.6, "college": 1.0, "lycee": 1.0},
    "pupils_per_teacher": {"ecole": 22.0, "college": 13.0, "lycee": 13.0},
    "personnel": {"ecole": (1, 0.0), "college": (2, 1 / 150), "lycee": (2, 1 / 150)},  # (base, per pupil)
}

# Household equipment rate (share of households with a computer and a connection) per school:
# logit = a + b·z_ips + rural + N(0, sd). "64 % of low-income households own a computer vs 92 % of
# high-income ones" (DEPP 2020 via Capgemini) read as the schools at z_ips = -1.5 and +1.5 (about the bottom
# and top deciles); "the gap is worse in rural areas" (France Bleu 2020) -> a rural penalty (size:
# assumption). The noise sd is an assumption.
EQUIPMENT_MODEL = {"intercept": 1.55, "z_ips": 0.59, "rural": -0.15, "noise_sd": 0.2}

# Share of a school's teachers trained to the ENT: Beta(a, b) (assumption, no source).
TRAINING_MODEL = {"beta_a": 3.0, "beta_b": 3.0}

# Mediation workshops for families (assumption, no source): a school holds one with probability
# expit(intercept + z_ips·b + REP/REP+ terms) (targeted at disadvantaged schools), on a school day of the
# calendar's workshop period; participants = base + Poisson(mean).
WORKSHOP_MODEL = {"intercept": -2.6, "z_ips": -0.5, "REP": 0.6, "REP+": 0.9, "participants_base": 4, "participants_mean": 8.0}

# Random intercepts of the adoption model (logit scale, assumption, no source).
RANDOM_EFFECTS_SD = {"academie": 0.25, "school": 0.35}


def _impute_ips(schools: pl.DataFrame) -> pl.DataFrame:
    return schools.with_columns(
        pl.col("ips").is_null().alias("ips_imputed"),
        pl.col("ips")
        .fill_null(pl.col("ips").mean().over("departement_code", "level"))
        .fill_null(pl.col("ips").mean().over("departement_code"))
        .fill_null(pl.col("ips").mean())
        .alias("ips_model"),
    )


def by_level(level: np.ndarray, table: dict[str, float]) -> np.ndarray:
    """Per-school value of a per-level table."""
    return np.select([level == lv for lv in table], list(table.values()), default=np.nan)


def _loaded_accounts(level: np.ndarray, headcount: np.ndarray) -> dict[str, np.ndarray]:
    r = ACCOUNT_RATIOS
    personnel_base = by_level(level, {lv: base for lv, (base, _) in r["personnel"].items()})
    personnel_per_pupil = by_level(level, {lv: per for lv, (_, per) in r["personnel"].items()})
    return {
        "parent": np.maximum(np.rint(headcount * r["parent_per_pupil"]), 1),
        "eleve": np.maximum(np.rint(headcount * by_level(level, r["pupil_accounts_per_pupil"])), 1),
        "enseignant": np.maximum(np.rint(headcount / by_level(level, r["pupils_per_teacher"])), 1),
        "personnel": personnel_base + np.rint(headcount * personnel_per_pupil),
    }


def _workshop_days(cal: SchoolYearCalendar, zone: np.ndarray, held: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Window day of each school's workshop (-1 if none): a uniform school day of the workshop period."""
    lo, hi = (cal.day_index(d) for d in cal.workshop_period)
    day = np.full(len(zone), -1, dtype=np.int64)
    for z in np.unique(zone):
        candidates = np.flatnonzero(school_day_mask(cal, z)[lo : hi + 1]) + lo
        rows = (zone == z) & held
        day[rows] = candidates[(u[rows] * len(candidates)).astype(np.int64)]
    return day


def build_school_frame(schools: pl.DataFrame, cal: SchoolYearCalendar, seed: int) -> pl.DataFrame:
    """The national schools table with everything the model needs per school (see module docstring)."""
    frame = _impute_ips(schools.sort("uai"))
    n = frame.height
    rng = rng_for(seed, STREAM_SCHOOLS)
    ips = frame["ips_model"].to_numpy()
    z_ips = (ips - ips.mean()) / ips.std()
    level = frame["level"].to_numpy()
    rural = (frame["rural_urban"] == "rural").fill_null(False).to_numpy()
    ep = frame["education_prioritaire"].to_numpy()
    zone = np.array([ZONE_OF_ACADEMIE[c] for c in frame["academie_code"].to_list()])

    eq = EQUIPMENT_MODEL
    equipment = expit(eq["intercept"] + eq["z_ips"] * z_ips + eq["rural"] * rural + rng.normal(0, eq["noise_sd"], n))
    training = rng.beta(TRAINING_MODEL["beta_a"], TRAINING_MODEL["beta_b"], n)
    ws = WORKSHOP_MODEL
    p_workshop = expit(ws["intercept"] + ws["z_ips"] * z_ips + ws["REP"] * (ep == "REP") + ws["REP+"] * (ep == "REP+"))
    held = rng.random(n) < p_workshop
    workshop_day = _workshop_days(cal, zone, held, rng.random(n))
    participants = ws["participants_base"] + rng.poisson(ws["participants_mean"], n)
    school_effect = rng.normal(0, RANDOM_EFFECTS_SD["school"], n)

    academies = sorted(set(frame["academie_code"].to_list()))
    academie_effect = dict(
        zip(academies, rng_for(seed, STREAM_ACADEMIES).normal(0, RANDOM_EFFECTS_SD["academie"], len(academies)))
    )
    loaded = _loaded_accounts(level, frame["headcount"].to_numpy().astype(float))
    return frame.with_columns(
        pl.Series("z_ips", z_ips),
        pl.Series("zone", zone),
        pl.col("academie_code").replace_strict(TIME_ZONE_OF_ACADEMIE, default=DEFAULT_TIME_ZONE).alias("time_zone"),
        *(pl.Series(f"loaded_{p}", loaded[p].astype(np.int64)) for p in MODEL_PROFILES),
        pl.Series("household_equipment_rate", np.round(equipment, 3)),
        pl.Series("teacher_ent_training_rate", np.round(training, 3)),
        pl.when(pl.Series(held)).then(pl.Series(workshop_day)).alias("workshop_day"),
        pl.when(pl.Series(held)).then(pl.Series(participants)).alias("workshop_participants"),
        pl.col("academie_code").replace_strict(academie_effect, return_dtype=pl.Float64).alias("academie_effect"),
        pl.Series("school_effect", school_effect),
    )


def ips_standardization(frame: pl.DataFrame) -> dict[str, float]:
    """Mean and sd used for z_ips (saved in parameters.json)."""
    ips = frame["ips_model"].to_numpy()
    return {"mean": float(ips.mean()), "sd": float(ips.std())}
