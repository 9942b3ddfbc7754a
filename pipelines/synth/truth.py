"""Ground truth of a generation, written to ``truth/`` (beside the landing zone, never read by ingestion).

``parameters.json``: the seed, the sample, every model coefficient and assumption (school frame,
adoption, usage, calendar), the académie random effects, the solved intercepts and the targets.

``schools_truth.parquet``: one row per sampled school and profile (parent, eleve, enseignant,
personnel) with
- the school's attributes and context: ``uai``, ``academie_code``, ``departement_code``, ``level``,
  ``secteur``, ``education_prioritaire``, ``rural_urban``, ``ips`` (published, NULL if 'NS'),
  ``ips_model`` (imputed), ``ips_imputed``, ``z_ips``, ``household_equipment_rate``,
  ``teacher_ent_training_rate``, ``workshop_date``, ``workshop_participants``, ``academie_effect``,
  ``school_effect``, ``school_part`` (the school-level linear predictor S), ``events_format``
  ('canonical' or 'entcore'), ``sampling_weight`` (schools of the académie / sampled schools of the
  académie: weight a school by ``sampling_weight × loaded`` for a national estimate, since the sample
  over-represents small académies);
- the realized counts: ``loaded``, ``activated``, ``active`` (≥ 1 session over the school year), as of
  the last day observed (``observed_until`` in parameters.json: with ``synth --until`` they are counts so far,
  and ``active`` is then below Binomial(loaded, p_active_year));
- the true probabilities: ``p_activated``, ``p_active_without_workshop``, ``p_active_with_workshop``
  (after the workshop date; equal to the former except for parents), ``p_active_year`` (the
  school-year probability: with the workshop bump where one is held; ``active`` ~ Binomial(loaded,
  p_active_year)), ``reach_<service>`` (probability that an active account uses the service during the
  year, exactly), ``mobile_share`` (expected share of sessions from the mobile app),
  ``sessions_per_month_mean``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.synth.adoption_model import Adoption
from pipelines.synth.calendar import MODEL_PROFILES, SchoolYearCalendar
from pipelines.synth.usage_model import MODEL_SERVICES, Usage

SCHOOL_COLUMNS = (
    "uai", "academie_code", "departement_code", "level", "secteur", "education_prioritaire", "rural_urban",
    "ips", "ips_model", "ips_imputed", "z_ips", "household_equipment_rate", "teacher_ent_training_rate",
    "workshop_participants", "academie_effect", "school_effect",
)


def schools_truth(
    frame: pl.DataFrame,
    adoption: Adoption,
    usage: Usage,
    cal: SchoolYearCalendar,
    rows: np.ndarray,
    entcore: np.ndarray,
    loaded: np.ndarray,
    activated: np.ndarray,
    active: np.ndarray,
) -> pl.DataFrame:
    """The per school × profile truth table for the sampled ``rows`` (realized counts aligned to rows: the
    accounts loaded, activated and active by the last day observed)."""
    n_profiles = len(MODEL_PROFILES)
    schools = frame.with_columns(pl.len().over("academie_code").alias("academie_schools"))[rows].select(
        *SCHOOL_COLUMNS,
        (pl.lit(cal.window_start) + pl.duration(days=pl.col("workshop_day"))).alias("workshop_date"),
        pl.Series("school_part", adoption.school_part[rows]),
        pl.Series("events_format", np.where(entcore, "entcore", "canonical")),
        (pl.col("academie_schools") / pl.len().over("academie_code")).alias("sampling_weight"),
    )
    per_profile = lambda values: values.reshape(-1)  # noqa: E731 (school-major, profile-minor)
    table = pl.DataFrame(
        {
            "profile": np.tile(np.array(MODEL_PROFILES), len(rows)),
            "loaded": per_profile(loaded),
            "activated": per_profile(activated),
            "active": per_profile(active),
            "p_activated": per_profile(adoption.p_activated[rows]),
            "p_active_without_workshop": per_profile(adoption.p_without_workshop[rows]),
            "p_active_with_workshop": per_profile(adoption.p_with_workshop[rows]),
            "p_active_year": per_profile(adoption.p_year[rows]),
            **{f"reach_{s}": per_profile(usage.reach[rows][:, :, k]) for k, s in enumerate(MODEL_SERVICES)},
            "mobile_share": per_profile(usage.mobile_share[rows]),
            "sessions_per_month_mean": per_profile(usage.sessions_per_month[rows]),
        }
    )
    return pl.concat([schools.select(pl.all().gather(np.repeat(np.arange(len(rows)), n_profiles))), table], how="horizontal")


def write_parameters(path: Path, parameters: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(parameters, indent=2, sort_keys=True, ensure_ascii=False, default=_plain) + "\n", encoding="utf-8")


def _plain(value: object) -> object:
    """JSON for numpy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
