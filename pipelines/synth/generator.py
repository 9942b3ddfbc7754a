"""The synthetic ENT log generator: core function.

``generate`` takes the national schools table (the ``schools`` reference table as a polars DataFrame),
calibrates the model on all of it, samples schools, and writes, académie by académie and chunk by chunk,
the landing files and the ground truth described in ``writers`` and ``truth``. Same seed and arguments ->
byte-identical files.

``until`` observes the school year as exported on that day (the demo's first trimester, docs/design.md
"Demo data"): the year is modelled whole, then only what exists by the end of ``until`` on the Paris clock is
written: accounts created by then, activation dates up to then, events before the next Paris midnight,
workshops already held. The truth's realized counts are the observed ones.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

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
    min_per_academie: int
    until_day: int  # last observed window day (the window's last day when the whole year is written)
    cutoff_us: int  # UTC epoch µs of the Paris midnight after ``until_day``: no event at or after it
    loaded: np.ndarray = field(init=False)  # (sampled schools, 4) realized counts, as of until_day
    activated: np.ndarray = field(init=False)
    active: np.ndarray = field(init=False)
    totals: dict[str, int] = field(
        default_factory=lambda: {"accounts": 0, "sessions": 0, "canonical_events": 0, "entcore_events": 0}
    )

    def __post_init__(self) -> None:
        self.loaded = np.zeros((len(self.rows), N_PROFILES), dtype=np.int64)
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
    min_per_academie: int = MIN_PER_ACADEMIE,
    until: dt.date | None = None,
) -> dict:
    """Generate synthetic ENT logs for ``n_schools`` sampled schools (None = all) and return a summary.

    ``schools`` must hold the national table (the model is calibrated on all of its rows) with columns
    uai, name, level, secteur, academie_code, departement_code, ips, headcount, rural_urban,
    education_prioritaire. ``effects`` plants other parent coefficients (lever name or coefficient key ->
    logit value, see ``adoption_model.parent_coefficients``); they are written to ``parameters.json``.
    ``min_per_academie`` is the sampling floor per académie; ``until`` the last day observed (module docstring).
    """
    started = time.perf_counter()
    landing, truth = Path(landing), Path(truth)
    cal = calendar_for(school_year)
    until_day, cutoff_us = observation_end(cal, until)
    frame = build_school_frame(schools, cal, seed)
    adoption = fit_adoption(frame, effects)
    usage = fit_usage(frame, adoption, rng_for(seed, STREAM_SCHOOLS, 1))
    rows = sample_schools(frame, n_schools, rng_for(seed, STREAM_SAMPLE), min_per_academie)
    entcore_rng = rng_for(seed, STREAM_ENTCORE)
    entcore_rows = np.sort(entcore_rng.choice(rows, size=min(entcore_schools, len(rows)), replace=False))
    structure_ids = strings_from_matrix(uuid4_matrix(entcore_rng, len(entcore_rows))).to_pylist()
    run = _Run(frame, adoption, usage, cal, seed, school_year, rows, dict(zip(entcore_rows.tolist(), structure_ids)),
               min_per_academie, until_day, cutoff_us)

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

    _write_context(frame, cal, rows, landing, until_day)
    truth.mkdir(parents=True, exist_ok=True)
    schools_truth(frame, adoption, usage, cal, rows, np.isin(rows, entcore_rows), run.loaded, run.activated, run.active).write_parquet(
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
    exists = acc.created_day <= run.until_day
    accounts, activated = _accounts_frame(acc, ses, m, tables, rng, exists, run.until_day)
    accounts_csv.write(accounts)

    observed = ses.start_us < run.cutoff_us
    order = time_order(ses)
    order = order[observed[order]]
    in_entcore = m.entcore[acc.school[ses.account[order]]]
    canonical = build_events(ses, order[~in_entcore], rng).before(run.cutoff_us)
    id_prefix = f"{run.school_year[:4]}-{academie_code}"
    parquet.write(canonical_table(canonical, ses, acc, m.uai, id_prefix, first_session_number))
    run.totals["canonical_events"] += len(canonical.position)
    if in_entcore.any():
        entcore = build_events(ses, order[in_entcore], rng).before(run.cutoff_us)
        structure_ids = [run.structure_of_row.get(r, "") for r in chunk.tolist()]
        entcore_frame(entcore, ses, acc, structure_ids, rng).write_ndjson(entcore_file)
        run.totals["entcore_events"] += len(entcore.position)

    at = np.searchsorted(run.rows, chunk)
    active = np.zeros(len(acc.adopter), dtype=bool)
    active[ses.account[observed]] = True
    run.loaded[at] = np.bincount(acc.school_profile, exists, m.loaded.size).reshape(-1, N_PROFILES)
    run.activated[at] = np.bincount(acc.school_profile, activated, m.loaded.size).reshape(-1, N_PROFILES)
    run.active[at] = np.bincount(acc.school_profile, active, m.loaded.size).reshape(-1, N_PROFILES)
    run.totals["accounts"] += accounts.height
    run.totals["sessions"] += int(observed.sum())
    return len(canonical.sel)


def _accounts_frame(
    acc: Accounts, ses: Sessions, m: ChunkModel, tables: ZoneTables, rng: np.random.Generator, exists: np.ndarray,
    until_day: int,
) -> tuple[pl.DataFrame, np.ndarray]:
    """The accounts export rows of one chunk as of ``until_day``: those that ``exist`` by then (activation
    dates need each adopter's first session); and which accounts are activated by then."""
    first = ses.account_first
    if len(first):
        first_local_day = np.minimum.reduceat(ses.local_hour, first) // 24
        first_utc_day = np.minimum.reduceat(ses.start_us, first) // US_PER_DAY - tables.epoch_day0
    else:
        first_local_day = first_utc_day = first
    activation = activation_days(acc, first_local_day, first_utc_day, tables, rng)
    activated = acc.activated & (activation <= until_day)
    day0 = tables.epoch_day0
    frame = pl.DataFrame(
        {
            "user_id": pl.from_arrow(strings_from_matrix(acc.user_id)),
            "uai": pl.Series(m.uai, dtype=pl.String).gather(acc.school),
            "profile": pl.Series(MODEL_PROFILES, dtype=pl.String).gather(acc.profile),
            "created_at": _dates(day0 + acc.created_day),
            "activated_at": _dates(day0 + activation, activated),
        }
    )
    return (frame if exists.all() else frame.filter(pl.Series(exists))), activated


def _dates(epoch_days: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """A polars Date series from days since 1970-01-01 (NULL where not ``valid``)."""
    dates = pl.Series(epoch_days.astype(np.int32)).cast(pl.Date)
    return dates if valid is None else pl.select(pl.when(pl.Series(valid)).then(dates)).to_series()


def _write_context(frame: pl.DataFrame, cal: SchoolYearCalendar, rows: np.ndarray, landing: Path, until_day: int) -> None:
    sampled = frame[rows]
    write_csv(sampled.select("uai", "teacher_ent_training_rate", "household_equipment_rate"), context_path(landing))
    held = sampled.filter(pl.col("workshop_day") <= until_day)
    day0 = (cal.window_start - dt.date(1970, 1, 1)).days
    write_csv(
        held.select(
            "uai",
            _dates(day0 + held["workshop_day"].to_numpy()).alias("workshop_date"),
            pl.col("workshop_participants").alias("participants"),
        ),
        workshops_path(landing),
    )


def observation_end(cal: SchoolYearCalendar, until: dt.date | None) -> tuple[int, int]:
    """(last observed window day, UTC epoch µs of the Paris midnight after it) for ``until`` (None: the
    whole window)."""
    if until is None:
        until = cal.window_end
    if not cal.window_start <= until <= cal.window_end:
        raise ValueError(f"--until {until} is outside the {cal.school_year} window "
                         f"({cal.window_start} to {cal.window_end})")
    next_midnight = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo("Europe/Paris"))
    return cal.day_index(until), int(next_midnight.timestamp()) * 1_000_000


def _parameters(run: _Run, n_schools: int | None) -> dict:
    """Everything needed to understand and reproduce the run (truth/parameters.json)."""
    frame = run.frame
    return {
        "seed": run.seed,
        "school_year": run.school_year,
        "schools_requested": n_schools if n_schools is not None else "all",
        "schools_sampled": len(run.rows),
        "entcore_schools": frame["uai"].gather(sorted(run.structure_of_row)).to_list(),
        "sampling": {"min_per_academie": run.min_per_academie, "chunk_events": CHUNK_EVENTS},
        "observed_until": (run.cal.window_start + dt.timedelta(days=run.until_day)).isoformat(),
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
