"""Event-layer benchmark: landing files -> lake -> dbt event models -> adoption tables (issue #14).

Prints, each measure in a fresh child process (wall seconds, CPU seconds of the process and of the
processes it waited for, peak RSS):
- throughput on DuckDB, landing -> adoption_school: for each of --sizes (millions of events over a
  school year, 2 000 collèges and lycées), the ingest of the landing folder (events and their accounts
  snapshot) into the lake, the periods, the dimension export, then `dbt build` of the weekly models
  (every week) and of the period models, in the way the pipeline runs them (dbt tests excluded: their
  cost is not the models'); events/s = events / wall time of the whole;
- peak RSS of the same event layer for a national week: --week-events millions of events in one ISO week
  (2025-11-03) over every school of the reference (~43 k), only that week computed (target <= 8 GB);
- the Spark target: `dbt build` of the same models (tests excluded) on a local Spark session
  (`spark_session` target, --spark-master, driver memory --spark-memory, the JVM's default JIT) over the
  lake and dimensions of the --spark-events throughput run (built first when it is not in --sizes).

    uv run python benchmarks/event_layer.py [--sizes 1,10] [--week-events 100] [--spark-events 50]
        [--memory-limit 6GB] [--workdir DIR]

--week-events 0 or --spark-events 0 skips that measure. Events are made by DuckDB (benchmarks/harness.py),
not by the demo generator. Targets on 2 cores (docs/scale/dbt_engines.md, section 6): landing ->
adoption >= 1 M events/s, peak RSS <= 8 GB for a 100 M-event week.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
from harness import REPO, REFERENCE, cores, fresh_warehouse, make_events, measure, report

NATIONAL_WEEK = "2025-11-03"
MAKE_ACCOUNTS = """
COPY (SELECT DISTINCT user_id, uai, profile, NULL AS created_at, DATE '2025-09-10' AS activated_at
      FROM read_parquet('{events}'))
TO '{path}' (HEADER, DELIMITER ';')
"""


def _dbt_env(workdir: Path, target: str, memory_limit: str) -> dict:
    """The environment of a dbt run on ``target`` over workdir's warehouse and lake (profiles.yml)."""
    return os.environ | {
        "ENT_DBT_TARGET": target, "ENT_DBT_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        "ENT_LAKE_DIR": str(workdir / "lake"), "ENT_DUCKDB_MEMORY_LIMIT": memory_limit,
        "ENT_DBT_SPARK_WAREHOUSE": str(workdir / "spark-warehouse"),
        "DBT_TARGET_PATH": str(workdir / f"dbt-target-{target}"), "DBT_LOG_PATH": str(workdir / "dbt-logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def _dbt_args(select: str, dbt_vars: dict) -> list[str]:
    import json

    from pipelines.defs.event_models.project import DBT_PROJECT_DIR, base_vars

    return ["build", "--quiet", "--select", select, "--exclude-resource-type", "test", "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR), "--vars", json.dumps(base_vars() | dbt_vars)]


def child_duckdb(landing: str, workdir: str, first_week: str, last_week: str, memory_limit: str) -> None:
    """Landing -> adoption_school on DuckDB in this process (dbt through its Python entry point, so that
    the process's RSS and CPU cover it)."""
    import datetime as dt

    from dbt.cli.main import dbtRunner

    from pipelines.sql_files import load_sql
    from pipelines.defs.ingest.ingest_file import ingest_landing
    from pipelines.defs.ingest.partitions import FIRST_WEEK
    from pipelines.defs.ingest.pseudonymize import make_pseudonymizer
    from pipelines.lake.dimensions import export_dimensions

    work = Path(workdir)
    stages: dict[str, float] = {}
    started = time.perf_counter()
    mark = started

    def stage(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name], mark = now - mark, now

    with duckdb.connect(str(work / "warehouse.duckdb")) as con:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        outcomes = ingest_landing(con, Path(landing), make_pseudonymizer(b"benchmark-key-benchmark-key-1234", False),
                                  dt.date(2025, 9, 1), lake_root=work / "lake")
        events = sum(o.rows_stored for o in outcomes if o.format == "canonical_parquet")
        stage("ingest to the lake")
        con.execute(load_sql("pipelines.defs.indicators", "periods"), {"first_day": FIRST_WEEK})
        export_dimensions(con, work / "lake")  # every dimension: both selections run
        stage("periods + dimension export")
    os.environ.update(_dbt_env(work, "duckdb", memory_limit))
    for name, select, dbt_vars in (("dbt weekly models", "tag:weekly", {"first_week": first_week, "last_week": last_week}),
                                   ("dbt period models", "tag:periods", {"from_day": FIRST_WEEK})):
        result = dbtRunner().invoke(_dbt_args(select, dbt_vars))
        if not result.success:
            raise SystemExit(f"{name} failed: {result.exception}")
        stage(name)
    report(started, events=events, stages=stages)


def child_spark(workdir: str, master: str, driver_memory: str) -> None:
    """`dbt build` of every event model on a local Spark session over workdir's lake (a dbt subprocess:
    its CPU counts as the waited-for children's; the driver JVM it starts is not waited for, so neither
    its CPU nor its RSS is in the figures: wall time only)."""
    import subprocess

    from pipelines.defs.event_models.project import DBT_EXECUTABLE

    work = Path(workdir)
    shutil.rmtree(work / "spark-warehouse", ignore_errors=True)
    env = _dbt_env(work, "spark_session", "80%") | {
        "ENT_SPARK_MASTER": master, "ENT_SPARK_DRIVER_MEMORY": driver_memory, "ENT_SPARK_JAVA_OPTIONS": ""}
    started = time.perf_counter()
    done = subprocess.run([DBT_EXECUTABLE, *_dbt_args("tag:weekly tag:periods", {})], env=env, cwd=work,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"dbt on Spark failed:\n{(done.stdout + done.stderr)[-4000:]}")
    report(started, children=True, tail=[line for line in done.stdout.splitlines() if " OK " in line or "Finished" in line])


def _landing(con, workdir: Path, name: str, n: int, **events) -> Path:
    """A landing folder with ``n`` canonical events and the accounts snapshot of their users."""
    landing = workdir / name
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir(parents=True)
    make_events(con, n, landing / "events.parquet", **events)
    con.execute(MAKE_ACCOUNTS.format(events=landing / "events.parquet", path=landing / "accounts.csv"))
    return landing


def _duckdb_run(con: duckdb.DuckDBPyConnection, run: Path, label: str, n: int, first_week: str, last_week: str, memory_limit: str,
                **events) -> dict:
    run.mkdir(parents=True, exist_ok=True)
    landing = _landing(con, run, "landing", n, **events)
    fresh_warehouse(run)
    result = measure(__file__, "duckdb", str(landing), str(run), first_week, last_week, memory_limit)
    shutil.rmtree(landing)
    with duckdb.connect(str(run / "warehouse.duckdb"), read_only=True) as warehouse:
        tables = {t: warehouse.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("sessions", "adoption_school", "feature_reach_school")}
    assert result["events"] == n, f"{label}: {result['events']} events stored, expected {n}"
    print(f"{label:<34} {result['seconds']:>8.1f} {n / result['seconds']:>12,.0f} {result['peak_rss_gb']:>7.2f} GB "
          f"{result['cpu_seconds']:>10.1f}")
    for stage, seconds in result["stages"].items():
        print(f"{'':>4}{stage:<30} {seconds:>8.1f} s")
    print(f"{'':>4}rows: " + ", ".join(f"{t} {v:,}" for t, v in tables.items()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,50", help="millions of events over a school year, comma-separated")
    parser.add_argument("--week-events", type=int, default=100, help="millions of events in the national week (0: skip)")
    parser.add_argument("--spark-events", type=int, default=50, help="millions of events for the Spark run (0: skip)")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit of the ingest and of dbt-duckdb")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--spark-memory", default="8g", help="spark.driver.memory")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {"duckdb": child_duckdb, "spark": child_spark}[args.child[0]](*args.child[1:])
        return

    from pipelines.defs.reference.schools import build_schools

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ent_event_bench_"))
    print(f"workdir {workdir}; DuckDB memory_limit {args.memory_limit}; {cores()} cores; "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'measure':<34} {'wall s':>8} {'events/s':>12} {'peak RSS':>10} {'CPU s':>10}")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with duckdb.connect() as con:
        build_schools(con, REFERENCE)
        for millions in sizes + ([args.spark_events] if args.spark_events and args.spark_events not in sizes else []):
            _duckdb_run(con, workdir / f"year-{millions}m", f"{millions}M, a year, DuckDB", millions * 1_000_000, "2025-09-01", "2026-08-24",
                        args.memory_limit)
        if args.week_events:
            result = _duckdb_run(con, workdir / "week", f"{args.week_events}M, national week, DuckDB",
                                 args.week_events * 1_000_000, NATIONAL_WEEK, NATIONAL_WEEK, args.memory_limit,
                                 schools=50_000, school_filter="true", first_instant=f"{NATIONAL_WEEK} 06:00:00+00",
                                 span_us=5 * 86_400_000_000)
            print(f"{'':>4}peak RSS {result['peak_rss_gb']:.2f} GB (target <= 8 GB); load average "
                  f"{os.getloadavg()[0]:.1f}")
            shutil.rmtree(workdir / "week")
    if args.spark_events:
        n = args.spark_events * 1_000_000
        result = measure(__file__, "spark", str(workdir / f"year-{args.spark_events}m"), args.spark_master,
                         args.spark_memory)
        print(f"{f'{args.spark_events}M, a year, Spark ({args.spark_master})':<34} {result['seconds']:>8.1f} "
              f"{n / result['seconds']:>12,.0f} {'(JVM not measured)':>21}")
        for line in result["tail"]:
            print(f"{'':>4}{line.strip()}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if not args.workdir:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    os.chdir(REPO)
    main()
