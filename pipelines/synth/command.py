"""``ent-equity synth``: generate synthetic ENT logs into the landing zone, and their ground truth.

Loads the national ``schools`` reference table (built in an in-memory DuckDB from the reference files),
calls ``pipelines.synth.generator.generate`` and prints a summary with the generation rate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typing import TYPE_CHECKING

import duckdb

from pipelines.defs.reference.schools import build_schools
from pipelines.paths import ENV_VAR, landing_dir, reference_dir, truth_dir
from pipelines.synth.calendar import CALENDARS

if TYPE_CHECKING:
    import polars as pl
# The generator and its model (scipy, polars) are imported when the command runs: every ``ent-equity``
# command, ``run`` included, builds this parser.

SYNTH_DESCRIPTION = (
    "Generate a synthetic school year of ENT usage for a sample of real schools (all 30 académies): "
    "accounts, events as canonical Parquet and entcore JSON lines, school context and mediation "
    "workshops, written to DATA_DIR/landing/ for `ent-equity run` to ingest, and the generator's true "
    "rates and effects to DATA_DIR/truth/ (to check what the pipeline recovers; never ingested). "
    "Demo data: run the pipeline with ENT_DEMO=1 (the public demo pseudonymization key)."
)
DEFAULT_SEED = 20251
DEFAULT_SCHOOLS = 600
DEFAULT_ENTCORE_SCHOOLS = 6


def _positive_arg(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive whole number") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("expected a positive whole number")
    return n


def _schools_arg(value: str) -> int | None:
    return None if value == "all" else _positive_arg(value)


def _until_arg(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a date YYYY-MM-DD") from None


def _effect_arg(value: str) -> tuple[str, float]:
    name, sep, number = value.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("expected NAME=VALUE, e.g. workshop=0.3")
    try:
        size = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number after {name}=, got {number!r}") from None
    from pipelines.synth.adoption_model import parent_coefficients

    try:
        parent_coefficients({name.strip(): size})
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return name.strip(), size


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``synth`` subcommand (its handler is ``args.func``)."""
    parser = subparsers.add_parser(
        "synth",
        help="generate synthetic ENT logs (landing/) and their ground truth (truth/)",
        description=SYNTH_DESCRIPTION,
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--schools",
        type=_schools_arg,
        default=DEFAULT_SCHOOLS,
        help=f"schools to sample across the 30 académies, in proportion to their schools above the floor "
        f"(--min-per-academie), or 'all' (default {DEFAULT_SCHOOLS})",
    )
    parser.add_argument(
        "--min-per-academie",
        type=_positive_arg,
        help="sampling floor: at least this many schools in each académie (default 3)",
    )
    parser.add_argument(
        "--until",
        type=_until_arg,
        metavar="YYYY-MM-DD",
        help="write the school year as exported at the end of that day: accounts, activations, events and "
        "workshops up to then (default: the whole year)",
    )
    parser.add_argument("--school-year", default="2025-2026", choices=sorted(CALENDARS), help="school year")
    parser.add_argument(
        "--entcore-schools",
        type=int,
        default=DEFAULT_ENTCORE_SCHOOLS,
        help=f"sampled schools whose events are written as entcore JSON lines (default {DEFAULT_ENTCORE_SCHOOLS})",
    )
    parser.add_argument(
        "--effect",
        type=_effect_arg,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="plant another parent effect (logit), repeatable: workshop, teacher_training, household_equipment, "
        "ips, prive, REP, REP+, rural, intermediaire (0 allowed; workshop >= 0); written to truth/parameters.json",
    )
    parser.add_argument("--data-dir", type=Path, help=f"data folder (default: ${ENV_VAR} or ./data)")
    parser.set_defaults(func=run)
    return parser


@contextmanager
def _data_dir(path: Path | None) -> Iterator[None]:
    """Point pipelines.paths at ``path`` for the duration of the command."""
    if path is None:
        yield
        return
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(path)
    try:
        yield
    finally:
        if previous is None:
            del os.environ[ENV_VAR]
        else:
            os.environ[ENV_VAR] = previous


def load_schools(reference: Path) -> pl.DataFrame:
    """The national ``schools`` reference table, built in an in-memory DuckDB."""
    con = duckdb.connect()
    build_schools(con, reference)
    return con.cursor().sql("SELECT * FROM schools").pl()


def run(args: argparse.Namespace) -> int:
    from pipelines.synth.generator import generate
    from pipelines.synth.sampling import MIN_PER_ACADEMIE

    with _data_dir(args.data_dir):
        reference, landing, truth = reference_dir(), landing_dir(), truth_dir()
        if not reference.is_dir():
            print(f"synth: no reference data in {reference} (copy the reference files there first)")
            return 2
        schools = load_schools(reference)
        summary = generate(
            schools,
            landing,
            truth,
            seed=args.seed,
            n_schools=args.schools,
            school_year=args.school_year,
            entcore_schools=args.entcore_schools,
            effects=dict(args.effect),
            min_per_academie=args.min_per_academie or MIN_PER_ACADEMIE,
            until=args.until,
            progress=lambda line: print(f"synth: {line}", flush=True),
        )
    s = summary
    print(
        f"synth: {s['schools']} schools in {s['academies']} académies ({s['entcore_schools']} in entcore form), "
        f"{s['accounts']:,} accounts ({s['active_accounts']:,} active), {s['sessions']:,} sessions"
    )
    print(
        f"synth: {s['events']:,} events ({s['canonical_events']:,} canonical Parquet + {s['entcore_events']:,} "
        f"entcore JSON lines) in {s['seconds']:.1f} s = {s['events_per_second']:,} events/s"
    )
    print(f"synth: landing {landing}, truth {truth}")
    return 0
