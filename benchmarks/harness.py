"""Shared pieces of the benchmark scripts: synthetic events made by DuckDB, a fresh warehouse, and one
measure per fresh child process that prints wall time, CPU time and peak RSS as a JSON line.

Events are made by DuckDB (real UAIs, ~80 events per account in sessions of three), not by the demo
generator, so that building 100 M rows takes seconds."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "data" / "reference"
# A school year of timestamps from 1 September 2025 (about 359 days), in microseconds.
YEAR_US = 31_000_000_000_000

# Events come in sessions of EVENTS_PER_SESSION, as in the demo (a LOGIN then about two ACCESS,
# pipelines/synth/usage_model.py): the session starts at a random instant of the span, its events follow
# one to three minutes apart on one channel. Spread one by one over the span, nearly every event was a
# session of its own (2 M events gave 1.99 M sessions, now about 0.68 M), so the session and period
# models ran on about three times the sessions of real data per event.
EVENTS_PER_SESSION = 3
MAKE_EVENTS = """
COPY (
    WITH s AS (SELECT uai, row_number() OVER (ORDER BY uai) - 1 AS i FROM schools WHERE {school_filter} LIMIT {schools})
    SELECT
        'E-' || r.i AS event_id,
        TIMESTAMPTZ '{first_instant}' + to_microseconds((hash(r.i // {per_session}, 1) % {span_us})::BIGINT
                                                        + ((r.i % {per_session}) * (60 + hash(r.i, 4) % 120) * 1000000)::BIGINT) AS occurred_at,
        s.uai,
        'user-' || (r.i // 80) AS user_id,
        ['parent', 'eleve', 'enseignant'][1 + ((r.i // 80) % 3)::BIGINT] AS profile,
        CASE WHEN r.i % {per_session} = 0 THEN 'connexion'
             ELSE ['notes', 'vie_scolaire', 'cahier_de_textes', 'messagerie', 'blog'][1 + (hash(r.i, 2) % 5)::BIGINT] END AS service,
        CASE WHEN r.i % {per_session} = 0 THEN 'LOGIN' ELSE 'ACCESS' END AS event_type,
        ['web', 'mobile_app'][1 + (hash(r.i // {per_session}, 3) % 2)::BIGINT] AS channel,
        NULL::VARCHAR AS auth_method
    FROM range({n}) r(i) JOIN s ON s.i = (r.i // 80) % {school_count}
) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
"""


def make_events(con, n: int, path: Path, schools: int = 2000, school_filter: str = "level <> 'ecole'",
                first_instant: str = "2025-09-01 06:00:00+00", span_us: int = YEAR_US) -> None:
    """Write ``n`` canonical events to ``path`` (Parquet), over the first ``schools`` schools (or all, if
    fewer) of the ``schools`` table of ``con`` that pass ``school_filter``, spread over ``span_us`` from
    ``first_instant``, in sessions of EVENTS_PER_SESSION (80 events per account: an account's sessions
    are 80 / 3 random instants of the span)."""
    # The school count as a literal: with it as a subquery in the join condition, DuckDB plans a blockwise
    # nested-loop join of every event with every school (2 M events x 2 000 schools: 27 s; a 100 M-event
    # week over 43 k schools never finished).
    school_count = con.execute(f"SELECT least(count(*), {int(schools)}) FROM schools WHERE {school_filter}").fetchall()[0][0]
    con.execute(MAKE_EVENTS.format(n=n, path=path, schools=schools, school_filter=school_filter, school_count=school_count,
                                   first_instant=first_instant, span_us=span_us, per_session=EVENTS_PER_SESSION))


def fresh_warehouse(workdir: Path) -> None:
    """An empty warehouse (schema and schools) at workdir/warehouse.duckdb, with an empty lake."""
    import duckdb

    from pipelines.defs.ingest.ingest_file import ensure_schema
    from pipelines.defs.reference.schools import build_schools

    (workdir / "warehouse.duckdb").unlink(missing_ok=True)
    shutil.rmtree(workdir / "lake", ignore_errors=True)  # a warehouse and its lake go together
    with duckdb.connect(str(workdir / "warehouse.duckdb")) as con:
        build_schools(con, REFERENCE)
        ensure_schema(con, workdir / "lake")


def report(started: float, **figures) -> None:
    """Print this (child) process's measure as a JSON line: ``figures``, wall seconds since ``started``,
    CPU seconds (user + system of the whole process, imports included) and peak RSS; with
    ``children=True``, also those of the child processes it waited for (their largest peak RSS)."""
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
    if figures.pop("children", False):
        waited = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, rss = cpu + waited.ru_utime + waited.ru_stime, max(rss, waited.ru_maxrss)
    print(json.dumps(figures | {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_gb": rss / 1024 / 1024}))


def measure(script: str, *args: str, env: dict | None = None) -> dict:
    """Run ``script --child args...`` in a fresh process; its last output line, parsed."""
    out = subprocess.run([sys.executable, script, "--child", *args], check=False, capture_output=True,
                         text=True, cwd=REPO, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{script} --child {' '.join(args)} failed:\n{(out.stdout + out.stderr)[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cores() -> int:
    return Path("/proc/cpuinfo").read_text().count("processor")
