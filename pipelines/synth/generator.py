"""The synthetic ENT log generator: core function.

``generate`` takes the national schools table (the ``schools`` reference table as a polars DataFrame),
calibrates the model on all of it, samples schools, and writes, académie by académie and chunk by chunk,
the landing files and the ground truth described in ``writers`` and ``truth``. Same seed and arguments ->
byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from pipelines.synth.accounts import N_PROFILES, Accounts, activation_days, draw_accounts
from pipelines.synth.adoption_model import Adoption, adoption_parameters, fit_adoption
from pipelines.synth.calendar import (
    DEFAULT_TIME_ZONE,
    MODEL_PROFILES,
    TIME_ZONE_OF_ACADEMIE,
    ZONE_OF_ACADEMIE,
    SchoolYearCalendar,
    ZoneTables,
    calendar_for,
    calendar_parameters,
    zone_tables,
)
from pipelines.synth.chunk_model import ChunkModel, expected_events
from pipelines.synth.events import build_events, canonical_table, entcore_frame, time_order
from pipelines.synth.ids import strings_from_matrix, uuid4_matrix
from pipelines.synth.sampling import CHUNK_EVENTS, MIN_PER_ACADEMIE, chunk_rows, sample_schools
from pipelines.synth.school_frame import (
    ACCOUNT_RATIOS,
    EQUIPMENT_MODEL,
    RANDOM_EFFECTS_SD,
    STREAM_CHUNKS,
    STREAM_ENTCORE,
    STREAM_SAMPLE,
    STREAM_SCHOOLS,
    TRAINING_MODEL,
    WORKSHOP_MODEL,
    build_school_frame,
    ips_standardization,
    rng_for,
)
from pipelines.synth.sessions import US_PER_DAY, Sessions, draw_sessions
from pipelines.synth.truth import schools_truth, write_parameters
from pipelines.synth.usage_model import Usage, fit_usage, usage_parameters
from pipelines.synth.writers import (
    CanonicalParquet,
    CsvAppender,
    accounts_path,
    canonical_path,
    context_path,
    entcore_events_path,
    open_output,
    remove_previous_outputs,
    structures_path,
    workshops_path,
    write_csv,
)


@dataclass
class _Run:
    """What one generation carries from chunk to chunk."""

    frame: pl.DataFrame
    adoption: Adoption
    usage: Usage
    cal: SchoolYearCalendar
    seed: int
    school_year: str
    rows: np.ndarray  # sampled frame rows
    structure_of_row: dict[int, str]  # entcore schools: frame row -> entcore structure id
    activated: np.ndarray = field(init=False)  # (sampled schools, 4) realized counts
    active: np.ndarray = field(init=False)
    totals: dict[str, int] = field(
        default_factory=lambda: {"accounts": 0, "sessions": 0, "canonical_events": 0, "entcore_events": 0}
    )

    def __post_init__(self) -> None:
        self.activated = np.zeros((len(self.rows), N_PROFILES), dtype=np.int64)
        self.active = np.zeros((len(self.rows), N_PROFILES), dtype=np.int64)

    @property
    def events(self) -> int:
        return self.totals["canonical_events"] + self.totals["entcore_events"]


def generate(
    schools: pl.DataFrame,
    landing: Path,
    truth: Path,
    seed: int = 20251,
    n_schools: int | None = 300,
    school_year: str = "2025-2026",
    entcore_schools: int = 6,
    progress: Callable[[str], None] | None = None,
    effects: Mapping[str, float] | None = None,
) -> dict:
    """Generate synthetic ENT logs for ``n_schools`` sampled schools (None = all) and return a summary.

    ``schools`` must hold the national table (the model is calibrated on all of its rows) with columns
    uai, name, level, secteur, academie_code, departement_code, ips, headcount, rural_urban,
    education_prioritaire. ``effects`` plants other parent coefficients (lever name or coefficient key ->
    logit value, see ``adoption_model.parent_coefficients``); they are written to ``parameters.json``.
    """
    started = time.perf_counter()
    landing, truth = Path(landing), Path(truth)
    cal = calendar_for(school_year)
    frame = build_school_frame(schools, cal, seed)
    adoption = fit_adoption(frame, effects)
    usage = fit_usage(frame, adoption, rng_for(seed, STREAM_SCHOOLS, 1))
    rows = sample_schools(frame, n_schools, rng_for(seed, STREAM_SAMPLE))
    entcore_rng = rng_for(seed, STREAM_ENTCORE)
    entcore_rows = np.sort(entcore_rng.choice(rows, size=min(entcore_schools, len(rows)), replace=False))
    structure_ids = strings_from_matrix(uuid4_matrix(entcore_rng, len(entcore_rows))).to_pylist()
    run = _Run(frame, adoption, usage, cal, seed, school_year, rows, dict(zip(entcore_rows.tolist(), structure_ids)))

    remove_previous_outputs(landing, truth)
    expected = expected_events(frame, adoption, usage)
    academie_of_row = frame["academie_code"].to_numpy()[rows]
    entcore_output = open_output(entcore_events_path(landing, school_year)) if len(entcore_rows) else nullcontext()
    with CsvAppender(accounts_path(landing, school_year)) as accounts_csv, entcore_output as entcore_file:
        for ac_index, code in enumerate(sorted(set(frame["academie_code"].to_list()))):
            ac_rows = rows[academie_of_row == code]
            if not len(ac_rows):
                continue
            tables = zone_tables(cal, ZONE_OF_ACADEMIE[code], TIME_ZONE_OF_ACADEMIE.get(code, DEFAULT_TIME_ZONE))
            with CanonicalParquet(canonical_path(landing, school_year, code)) as parquet:
                session_number = 0
                for chunk_index, chunk in enumerate(chunk_rows(ac_rows, expected[ac_rows])):
                    rng = rng_for(seed, STREAM_CHUNKS, ac_index, chunk_index)
                    session_number += _generate_chunk(
                        run, code, chunk, tables, rng, session_number, parquet, accounts_csv, entcore_file
                    )
            if progress:
                progress(f"académie {code}: {len(ac_rows)} schools, {run.events:,} events so far")
    if len(entcore_rows):
        structures = {"structure_id": structure_ids, "uai": frame["uai"].gather(entcore_rows), "name": frame["name"].gather(entcore_rows)}
        write_csv(pl.DataFrame(structures), structures_path(landing))

    _write_context(frame, cal, rows, landing)
    truth.mkdir(parents=True, exist_ok=True)
    schools_truth(frame, adoption, usage, cal, rows, np.isin(rows, entcore_rows), run.activated, run.active).write_parquet(
        truth / "schools_truth.parquet"
    )
    write_parameters(truth / "parameters.json", _parameters(run, n_schools))
    seconds = time.perf_counter() - started
    return {
        "schools": len(rows),
        "academies": len(set(academie_of_row.tolist())),
        "entcore_schools": len(entcore_rows),
        **run.totals,
        "active_accounts": int(run.active.sum()),
        "events": run.events,
        "seconds": round(seconds, 2),
        "events_per_second": round(run.events / seconds) if seconds else 0,
    }


def _generate_chunk(
    run: _Run,
    academie_code: str,
    chunk: np.ndarray,
    tables: ZoneTables,
    rng: np.random.Generator,
    first_session_number: int,
    parquet: CanonicalParquet,
    accounts_csv: CsvAppender,
    entcore_file: BinaryIO | None,
) -> int:
    """Accounts, sessions and events of one chunk of schools; returns the canonical sessions written."""
    m = ChunkModel.slice(run.frame, run.adoption, run.usage, chunk, np.isin(chunk, list(run.structure_of_row)))
    acc = draw_accounts(m, tables, run.cal, rng)
    ses = draw_sessions(acc, m, tables, rng)
    accounts_csv.write(_accounts_frame(acc, ses, m, tables, rng))

    order = time_order(ses)
    in_entcore = m.entcore[acc.school[ses.account[order]]]
    canonical = build_events(ses, order[~in_entcore], rng)
    id_prefix = f"{run.school_year[:4]}-{academie_code}"
    parquet.write(canonical_table(canonical, ses, acc, m.uai, id_prefix, first_session_number))
    run.totals["canonical_events"] += len(canonical.position)
    if in_entcore.any():
        entcore = build_events(ses, order[in_entcore], rng)
        structure_ids = [run.structure_of_row.get(r, "") for r in chunk.tolist()]
        entcore_frame(entcore, ses, acc, structure_ids, rng).write_ndjson(entcore_file)
        run.totals["entcore_events"] += len(entcore.position)

    at = np.searchsorted(run.rows, chunk)
    run.activated[at] = np.bincount(acc.school_profile, acc.activated, m.loaded.size).reshape(-1, N_PROFILES)
    run.active[at] = np.bincount(acc.school_profile, acc.adopter, m.loaded.size).reshape(-1, N_PROFILES)
    run.totals["accounts"] += len(acc.adopter)
    run.totals["sessions"] += len(ses.start_us)
    return len(canonical.sel)


def _accounts_frame(acc: Accounts, ses: Sessions, m: ChunkModel, tables: ZoneTables, rng: np.random.Generator) -> pl.DataFrame:
    """The accounts export rows of one chunk (activation dates need each adopter's first session)."""
    first = ses.account_first
    if len(first):
        first_local_day = np.minimum.reduceat(ses.local_hour, first) // 24
        first_utc_day = np.minimum.reduceat(ses.start_us, first) // US_PER_DAY - tables.epoch_day0
    else:
        first_local_day = first_utc_day = first
    activation = activation_days(acc, first_local_day, first_utc_day, tables, rng)
    day0 = tables.epoch_day0
    return pl.DataFrame(
        {
            "user_id": pl.from_arrow(strings_from_matrix(acc.user_id)),
            "uai": pl.Series(m.uai, dtype=pl.String).gather(acc.school),
            "profile": pl.Series(MODEL_PROFILES, dtype=pl.String).gather(acc.profile),
            "created_at": _dates(day0 + acc.created_day),
            "activated_at": _dates(day0 + activation, acc.activated),
        }
    )


def _dates(epoch_days: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """A polars Date series from days since 1970-01-01 (NULL where not ``valid``)."""
    dates = pl.Series(epoch_days.astype(np.int32)).cast(pl.Date)
    return dates if valid is None else pl.select(pl.when(pl.Series(valid)).then(dates)).to_series()


def _write_context(frame: pl.DataFrame, cal: SchoolYearCalendar, rows: np.ndarray, landing: Path) -> None:
    sampled = frame[rows]
    write_csv(sampled.select("uai", "teacher_ent_training_rate", "household_equipment_rate"), context_path(landing))
    held = sampled.filter(pl.col("workshop_day").is_not_null())
    day0 = (cal.window_start - dt.date(1970, 1, 1)).days
    write_csv(
        held.select(
            "uai",
            _dates(day0 + held["workshop_day"].to_numpy()).alias("workshop_date"),
            pl.col("workshop_participants").alias("participants"),
        ),
        workshops_path(landing),
    )


def _parameters(run: _Run, n_schools: int | None) -> dict:
    """Everything needed to understand and reproduce the run (truth/parameters.json)."""
    frame = run.frame
    return {
        "seed": run.seed,
        "school_year": run.school_year,
        "schools_requested": n_schools if n_schools is not None else "all",
        "schools_sampled": len(run.rows),
        "entcore_schools": frame["uai"].gather(sorted(run.structure_of_row)).to_list(),
        "sampling": {"min_per_academie": MIN_PER_ACADEMIE, "chunk_events": CHUNK_EVENTS},
        "ips_standardization": ips_standardization(frame),
        "school_frame": {
            "account_ratios": ACCOUNT_RATIOS,
            "equipment_model": EQUIPMENT_MODEL,
            "training_model": TRAINING_MODEL,
            "workshop_model": WORKSHOP_MODEL,
            "random_effects_sd": RANDOM_EFFECTS_SD,
        },
        "academie_effects": dict(frame.select("academie_code", "academie_effect").unique().sort("academie_code").iter_rows()),
        "adoption": adoption_parameters(run.adoption),
        "usage": usage_parameters(run.usage),
        "calendar": calendar_parameters(run.cal),
    }
