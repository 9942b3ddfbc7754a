"""Publish benchmark (issue #14: the publish is the slowest stage of the demo): ``publish_serving`` on a copy
of a warehouse, printing the wall and CPU seconds of the whole and of its main parts (a part nested in
another is counted in both: the exact audit runs inside ``suppress`` and ``clear_release``), and the load
average before and after. The warehouse is copied into a temporary folder, deleted at the end; the source
is never written. ``ENT_DATA_DIR`` must point at the data dir whose ``reference/`` folder the warehouse
was built with.

    ENT_DATA_DIR=/path/to/data uv run python benchmarks/publish.py [--warehouse PATH] [--keep-serving PATH]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.defs.publication import publish
from pipelines.disclosure import cell_suppression, release

PARTS = {
    publish: ("clear_release", "suppress", "published_flags", "published_equity", "publish_levers",
              "_write_reference"),
    release: ("audit_family", "apply_rules", "build_blocks", "audit_block", "_share_fates", "_frames"),
    cell_suppression: ("recoverable_columns", "build_cells"),
}


def _timed(function, name: str, wall: collections.Counter, cpu: collections.Counter, calls: collections.Counter):
    def run(*args, **kwargs):
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            wall[name] += time.perf_counter() - started
            cpu[name] += time.process_time() - cpu_started
            calls[name] += 1
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path,
                        default=Path(os.environ.get("ENT_DATA_DIR", "data")) / "warehouse" / "observatoire.duckdb")
    parser.add_argument("--keep-serving", type=Path, help="copy the serving file built here")
    args = parser.parse_args()
    wall, cpu, calls = collections.Counter(), collections.Counter(), collections.Counter()
    modules = (publish, release, cell_suppression)
    for module, names in PARTS.items():
        for name in names:
            timed = _timed(getattr(module, name), name, wall, cpu, calls)
            for m in modules:  # the name as every module imported it
                if getattr(m, name, None) is getattr(module, name) and m is not module:
                    setattr(m, name, timed)
            setattr(module, name, timed)
    with tempfile.TemporaryDirectory(prefix="publish-bench-") as tmp:
        copy = Path(tmp) / "warehouse.duckdb"
        shutil.copyfile(args.warehouse, copy)
        target = Path(tmp) / "serving" / "serving.duckdb"
        con = duckdb.connect(str(copy))
        load = os.getloadavg()
        started, cpu_started = time.perf_counter(), time.process_time()
        publish.publish_serving(con, target)
        total, total_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        con.close()
        if args.keep_serving:
            shutil.copyfile(target, args.keep_serving)
    print(f"publish_serving: wall {total:.1f} s, CPU {total_cpu:.1f} s "
          f"(load before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores)")
    for name, seconds in wall.most_common():
        print(f"  {name:20s} {calls[name]:5d} calls  wall {seconds:6.1f} s  CPU {cpu[name]:6.1f} s")


if __name__ == "__main__":
    main()
