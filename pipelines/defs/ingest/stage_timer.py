"""Wall-clock seconds spent in each ingest stage, summed over the files of a run (benchmarks/ingest.py
prints them). Cheap: one perf_counter pair per SQL statement, no effect on what is ingested."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

SECONDS: defaultdict[str, float] = defaultdict(float)


@contextmanager
def stage(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        SECONDS[name] += time.perf_counter() - started


def reset() -> None:
    SECONDS.clear()


def run(con, name: str, sql: str, params=None):
    """``con.execute(sql, params)``, its time counted under ``name``."""
    with stage(name):
        return con.execute(sql, params) if params is not None else con.execute(sql)
