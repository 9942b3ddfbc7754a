"""Re-run benchmark (issue #14: "a no-op re-run under 10 s"): `ent-equity run` on a fresh demo data dir
(90 schools), then again with nothing new, then after one new landing file, each as its own process
(start-up included), and once more with nothing new but without the asset graph's snapshot (as after a
code change: the Dagster definitions are built, docs/rerun.md). Prints wall time, the process's CPU time
and the load average of each, and which jobs ran. Everything lives in a temporary folder (data dir and
Dagster instance), deleted at the end.

    uv run python benchmarks/rerun.py [--schools 90] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
ENT_EQUITY = [sys.executable, "-m", "pipelines.cli"]


def timed(label: str, args: list[str], env: dict, cwd: Path) -> str:
    """Run one command; print its wall and CPU seconds, the load before it and the jobs that ran."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"{label}: exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    ran = re.findall(r"^(\w+_job) run \w+", done.stdout, flags=re.M)
    print(f"{label:<28} {wall:7.1f} s wall {cpu:7.1f} s CPU  load {load:4.1f}  jobs run: {', '.join(ran) or 'none'}",
          flush=True)
    return done.stdout


def late_delivery(landing: Path) -> Path:
    """One new landing file: a thousand events of one week of an existing export under new event ids."""
    source = sorted((landing / "canonical").glob("*.parquet"))[0]
    target = landing / "canonical" / "late_delivery.parquet"
    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT * REPLACE (event_id || '-late' AS event_id) FROM read_parquet('{source}')
                              WHERE date_trunc('week', occurred_at::TIMESTAMP) =
                                    (SELECT max(date_trunc('week', occurred_at::TIMESTAMP)) FROM read_parquet('{source}'))
                              LIMIT 1000) TO '{target}' (FORMAT parquet)""")
    return target


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=90)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ent_rerun_"))
    data, home = tmp / "data", tmp / "dagster"
    data.mkdir()
    home.mkdir()
    (data / "reference").symlink_to(ROOT / "data" / "reference", target_is_directory=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")  # the project's instance settings, in tmp
    env = os.environ | {"ENT_DATA_DIR": str(data), "ENT_DEMO": "1", "DAGSTER_HOME": str(home),
                        "PYTHONPATH": str(ROOT)}
    env.pop("ENT_PSEUDONYMIZATION_KEY", None)
    print(f"re-run benchmark: {args.schools} schools, {os.cpu_count()} cores, in {tmp}", flush=True)
    try:
        timed("synth", [*ENT_EQUITY, "synth", "--schools", str(args.schools)], env, home)
        timed("first run", [*ENT_EQUITY, "run"], env, home)
        serving = data / "serving" / "observatoire_serving.duckdb"
        published = sha(serving)
        out = timed("no-op re-run", [*ENT_EQUITY, "run"], env, home)
        print(f"  serving copy unchanged: {sha(serving) == published}; "
              f"{'says nothing changed' if 'nothing changed' in out else 'did NOT say nothing changed'}")
        timed("no-op re-run (again)", [*ENT_EQUITY, "run"], env, home)
        (home / ".dagster" / "asset_graph.json").unlink()  # as after a code change: the definitions are built
        timed("no-op re-run, no snapshot", [*ENT_EQUITY, "run"], env, home)
        late_delivery(data / "landing")
        out = timed("re-run after 1 new file", [*ENT_EQUITY, "run"], env, home)
        weeks = re.search(r"^weeks (\S+) to (\S+)", out, flags=re.M)
        print(f"  weeks re-run: {' to '.join(weeks.groups()) if weeks else 'none'}; "
              f"serving copy republished: {sha(serving) != published}")
        timed("no-op re-run after it", [*ENT_EQUITY, "run"], env, home)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
