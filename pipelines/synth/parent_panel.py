"""A fast parent-only run of the generator's model, without files, for the levers' recovery tests and power
benchmark.

Same model and draws as ``generator.generate`` for the parents (school frame, calibration on the whole
table, sampling, accounts, session days), but only parent accounts are drawn, nothing is written and nothing is
ingested: what comes back is what the levers' functions read from the warehouse, plus the truth.

- ``schools``: one row per sampled school with the attributes and context the warehouse holds (``ips`` NULL
  where DEPP publishes 'NS'), ``workshop_date`` (NaT if none), ``loaded`` parent accounts and ``active``
  (parents active at least once over the school year);
- ``panel``: school × ISO week (Monday, from the first week of the window to the last): ``active_to_date``,
  parent accounts active at least once from the start of the school year to the end of that week, ``loaded``
  and ``valid`` (always true: the model plants no data gap);
- ``truth``: per school, the true school-year probabilities without and with the workshop.

Weeks are read on the school's local calendar (the warehouse reads them on the Paris clock: overseas
schools can differ by a day at a week's edge).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd
import polars as pl

from pipelines.synth.accounts import draw_accounts
from pipelines.synth.adoption_model import fit_adoption
from pipelines.synth.calendar import DEFAULT_TIME_ZONE, TIME_ZONE_OF_ACADEMIE, ZONE_OF_ACADEMIE, calendar_for, zone_tables
from pipelines.synth.chunk_model import ChunkModel
from pipelines.synth.sampling import sample_schools
from pipelines.synth.school_frame import STREAM_CHUNKS, STREAM_SAMPLE, STREAM_SCHOOLS, build_school_frame, rng_for
from pipelines.synth.sessions import draw_session_days
from pipelines.synth.usage_model import fit_usage

SCHOOL_COLUMNS = ["uai", "academie_code", "departement_code", "level", "secteur", "education_prioritaire",
                  "rural_urban", "ips", "household_equipment_rate", "teacher_ent_training_rate", "zone"]


@dataclasses.dataclass(frozen=True)
class ParentPanel:
    schools: pd.DataFrame
    panel: pd.DataFrame
    truth: pd.DataFrame
    ips_standardization: dict[str, float]
    coefficients: dict[str, float]
    academie_effects: dict[str, float]


def simulate_parent_panel(national: pl.DataFrame, seed: int, n_schools: int | None,
                          effects: Mapping[str, float] | None = None, school_year: str = "2025-2026") -> ParentPanel:
    """Draw the parents of ``n_schools`` sampled schools of the national table ``national`` (see module doc)."""
    cal = calendar_for(school_year)
    frame = build_school_frame(national, cal, seed)
    adoption = fit_adoption(frame, effects)
    usage = fit_usage(frame, adoption, rng_for(seed, STREAM_SCHOOLS, 1))
    rows = sample_schools(frame, n_schools, rng_for(seed, STREAM_SAMPLE))
    parents_only = np.array([1, 0, 0, 0])
    first_week_day = -cal.window_start.weekday()  # window day of the Monday of the first week
    n_weeks = (cal.n_days - first_week_day + 6) // 7
    adopters_by_week = np.zeros((len(rows), n_weeks), dtype=np.int64)
    academie = frame["academie_code"].to_numpy()[rows]
    for ac_index, code in enumerate(sorted(set(academie.tolist()))):
        at = np.flatnonzero(academie == code)
        tables = zone_tables(cal, ZONE_OF_ACADEMIE[code], TIME_ZONE_OF_ACADEMIE.get(code, DEFAULT_TIME_ZONE))
        m = ChunkModel.slice(frame, adoption, usage, rows[at], np.zeros(len(at), dtype=bool))
        m = dataclasses.replace(m, loaded=m.loaded * parents_only)
        rng = rng_for(seed, STREAM_CHUNKS, ac_index, 0)
        acc = draw_accounts(m, tables, cal, rng)
        days = draw_session_days(acc, m, tables, rng)
        if not len(days.starts):
            continue
        first_day = np.minimum.reduceat(days.day, days.starts)
        school = acc.school[days.adopters]  # chunk-local school of each adopter
        week = (first_day - first_week_day) // 7
        np.add.at(adopters_by_week, (at[school], week), 1)

    sampled = frame[rows]
    loaded = sampled["loaded_parent"].to_numpy()
    week_start = pd.Timestamp(cal.window_start + dt.timedelta(days=int(first_week_day)))
    weeks = pd.date_range(week_start, periods=n_weeks, freq="7D")
    to_date = np.cumsum(adopters_by_week, axis=1)
    panel = pd.DataFrame({
        "uai": np.repeat(sampled["uai"].to_numpy(), n_weeks),
        "week_start": np.tile(weeks.to_numpy(), len(rows)),
        "active_to_date": to_date.reshape(-1),
        "loaded": np.repeat(loaded, n_weeks),
        "valid": True,
    })
    workshop = pd.Series(pd.to_datetime(cal.window_start) + pd.to_timedelta(sampled["workshop_day"].to_numpy(), unit="D"))
    schools = sampled.select(SCHOOL_COLUMNS).to_pandas().assign(
        workshop_date=workshop.where(sampled["workshop_day"].is_not_null().to_numpy()).to_numpy(),
        loaded=loaded, active=to_date[:, -1])
    truth = pd.DataFrame({
        "uai": schools["uai"],
        "p_without_workshop": adoption.p_without_workshop[rows, 0],
        "p_with_workshop": adoption.p_with_workshop[rows, 0],
        "held": sampled["workshop_day"].is_not_null().to_numpy(),
    })
    stand = {"mean": float(frame["ips_model"].mean()), "sd": float(frame["ips_model"].std(ddof=0))}
    effects_by_academie = dict(frame.select("academie_code", "academie_effect").unique().iter_rows())
    return ParentPanel(schools, panel, truth, stand, adoption.coefficients, effects_by_academie)
