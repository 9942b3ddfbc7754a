"""Ingest benchmark: prints events/s and peak RSS of the full ingest against baselines.

For 1 M, 10 M and 50 M synthetic events in canonical Parquet it measures, each in a fresh process:
- the full ingest (sniff, hash, validate, pseudonymize, deduplicate, write to the warehouse),
- a bare DuckDB read + aggregate of the same file (the floor for any DuckDB-based ingest),
- a pandas baseline (read + the same aggregate) at 1 M and 10 M,
and the entcore JSON-lines ingest rate at 1 M and 10 M. For each ingest it also prints the wall time of
each stage (pipelines/defs/ingest/stage_timer.py), and for every measure its CPU time (user + system of
the measured process): on a machine shared with other work, wall time alone overstates the cost.

    uv run python benchmarks/ingest.py [--sizes 1,10,50] [--memory-limit 3GB] [--workdir DIR]

Events are made by DuckDB (benchmarks/harness.py: real UAIs, ~80 events per account in sessions of three, a year of
timestamps), not by the demo generator, so that building 50 M rows takes seconds. Targets on 2 cores (issue #14): ingest >= 3 M
events/s and within 5x of the bare DuckDB figure, entcore JSON lines >= 0.5 M lines/s, peak RSS <= 8 GB
for a 100 M-event week.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from harness import REFERENCE, cores, fresh_warehouse, make_events, measure, report

MAKE_ENTCORE = """
COPY (
    SELECT "_id", "event-type", module, "date", "userId", profil, structures, ua, "deviceType"
    FROM (
        SELECT event_id AS "_id", event_type AS "event-type",
               CASE service WHEN 'connexion' THEN 'Auth' WHEN 'notes' THEN 'Competences' WHEN 'vie_scolaire' THEN 'Presences'
                            WHEN 'cahier_de_textes' THEN 'Homeworks' WHEN 'messagerie' THEN 'Conversation' ELSE 'Blog' END AS module,
               epoch_ms(occurred_at) AS "date", user_id AS "userId",
               CASE profile WHEN 'parent' THEN 'Relative' WHEN 'eleve' THEN 'Student' ELSE 'Teacher' END AS profil,
               ['struct-' || uai] AS structures,
               CASE channel WHEN 'web' THEN 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0'
                            ELSE 'ONE Pocket/4.6.2 (Android 14; SM-A546B) okhttp/4.12.0' END AS ua,
               'Desktop' AS "deviceType"
        FROM read_parquet('{source}')
    )
) TO '{path}' (FORMAT json)
"""


def child(kind: str, path: str, workdir: str, memory_limit: str) -> None:
    """Run one measurement in this (fresh) process and print a JSON line."""
    import datetime as dt

    import duckdb

    started = time.perf_counter()
    stages: dict[str, float] = {}
    if kind == "duckdb":
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{memory_limit}'")
        rows = con.execute(
            f"SELECT sum(n) FROM (SELECT uai, profile, service, count(*) AS n, count(DISTINCT user_id) "
            f"FROM read_parquet('{path}') GROUP BY ALL)").fetchall()[0][0]
    elif kind == "pandas":
        import pandas as pd

        frame = pd.read_parquet(path)
        grouped = frame.groupby(["uai", "profile", "service"]).agg(n=("event_id", "size"), u=("user_id", "nunique"))
        rows = int(grouped["n"].sum())
    else:  # full ingest, canonical Parquet or entcore JSON lines
        from pipelines.defs.ingest.ingest_file import ingest_landing
        from pipelines.defs.ingest.pseudonymize import make_pseudonymizer
        from pipelines.defs.ingest.stage_timer import SECONDS, reset

        con = duckdb.connect(f"{workdir}/warehouse.duckdb")
        con.execute(f"SET memory_limit = '{memory_limit}'")
        reset()
        started = time.perf_counter()  # schools are built by the parent, not timed
        outcomes = ingest_landing(con, Path(path), make_pseudonymizer(b"benchmark-key-benchmark-key-1234", False),
                                  dt.date(2025, 9, 1), lake_root=Path(workdir) / "lake")
        rows = sum(o.rows_stored for o in outcomes if o.format in {"canonical_parquet", "entcore_jsonl"})
        stages = dict(SECONDS)
    report(started, rows=int(rows), stages=stages)


def _measure(kind: str, path: Path, workdir: Path, memory_limit: str) -> dict:
    return measure(__file__, kind, str(path), str(workdir), memory_limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,50", help="millions of events, comma-separated")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit of every measured process")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    import duckdb

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ent_bench_"))
    print(f"workdir {workdir}; DuckDB memory_limit {args.memory_limit}; {cores()} cores")
    print(f"{'events':>8} {'measure':<32} {'seconds':>8} {'events/s':>12} {'peak RSS':>9} {'process CPU s':>14}")
    with duckdb.connect() as con:
        from pipelines.defs.reference.schools import build_schools

        build_schools(con, REFERENCE)
        for millions in [int(s) for s in args.sizes.split(",")]:
            n = millions * 1_000_000
            landing = workdir / f"landing_{millions}m"
            shutil.rmtree(landing, ignore_errors=True)
            landing.mkdir(parents=True)
            parquet = landing / "events.parquet"
            make_events(con, n, parquet)
            results = {}
            fresh_warehouse(workdir)
            results["full ingest (canonical Parquet)"] = _measure("ingest", landing, workdir, args.memory_limit)
            results["bare DuckDB read + aggregate"] = _measure("duckdb", parquet, workdir, args.memory_limit)
            if millions <= 10:
                results["pandas read + aggregate"] = _measure("pandas", parquet, workdir, args.memory_limit)
                jsonl = workdir / f"entcore_{millions}m"
                shutil.rmtree(jsonl, ignore_errors=True)
                jsonl.mkdir()
                con.execute(MAKE_ENTCORE.format(source=parquet, path=jsonl / "events.jsonl"))
                con.execute(
                    f"COPY (SELECT DISTINCT 'struct-' || uai AS structure_id, uai FROM read_parquet('{parquet}')) "
                    f"TO '{jsonl / 'structures.csv'}' (HEADER, DELIMITER ';')")
                fresh_warehouse(workdir)
                results["full ingest (entcore JSONL)"] = _measure("ingest", jsonl, workdir, args.memory_limit)
                shutil.rmtree(jsonl)
            for name, r in results.items():
                assert r["rows"] == n, f"{name}: {r['rows']} rows, expected {n}"
                print(f"{millions:>7}M {name:<32} {r['seconds']:>8.2f} {n / r['seconds']:>12,.0f} "
                      f"{r['peak_rss_gb']:>7.2f} GB {r['cpu_seconds']:>14.2f}")
                for stage, seconds in sorted(r.get("stages", {}).items(), key=lambda kv: -kv[1]):
                    print(f"{'':>9}   {stage:<40} {seconds:>6.2f} s")
            full, bare = results["full ingest (canonical Parquet)"], results["bare DuckDB read + aggregate"]
            print(f"{millions:>7}M full ingest / bare DuckDB time: {full['seconds'] / bare['seconds']:.2f}x")
            shutil.rmtree(landing)
    if not args.workdir:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
