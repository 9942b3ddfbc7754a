"""CPU time of the Theil bootstrap intervals (``theil.theil_decomposition_ci``, 999 resamples).

    .venv/bin/python benchmarks/theil.py [--schools 300 1430 5000] [--groups 6] [--repeats 5]
    .venv/bin/python benchmarks/theil.py --periods 16 [--reference data/reference]

Without ``--periods``: one interval by group size, rates Beta(2, 5), weights 20–800 accounts, random
départements; 1,430 schools is a national académie's mean.

With ``--periods N``: what a national publish spends in ``derived.theil_intervals`` (one bootstrap per
académie × period × profile × level, 'all' levels included) for a school year of N summary periods (the
school year, 3 trimesters and N − 4 months), on the fake warehouse of every school of the reference data
(``pipelines/synth/fake_warehouse.py``, ~43,000 schools) and the two profiles whose school figures are
published (parent, eleve). Every school with figures is taken as published: the publish suppresses some,
so this is an upper bound of the bootstraps' cost. Prints CPU and wall of ``theil_intervals`` with the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.equity.theil import theil_decomposition_ci  # noqa: E402

FAMILY_PROFILES = ("parent", "eleve")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def one_interval(schools: list[int], n_groups: int, repeats: int) -> None:
    rng = np.random.default_rng(1)
    for n in schools:
        y, w = rng.beta(2, 5, n), rng.integers(20, 800, n).astype(float)
        groups = rng.integers(0, n_groups, n).astype(str)
        theil_decomposition_ci(y, w, groups)  # warm-up
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(repeats):
            theil_decomposition_ci(y, w, groups)
        print(f"{n:>6,} schools, {n_groups} groups: {(time.process_time() - cpu) / repeats:.4f} s CPU, "
              f"{(time.perf_counter() - wall) / repeats:.4f} s wall per interval (load {_load()})")


def national_rates(periods: int, reference: Path):
    """School rates shaped like ``derived.published_school_rates`` for every school of the fake warehouse."""
    import duckdb

    from pipelines.defs.publication.derived import SUMMARY_PERIOD_TYPES
    from pipelines.synth.fake_warehouse import build_fake_warehouse

    if periods < 4 or periods > 16:
        raise SystemExit("--periods: 4 (the school year and its 3 trimesters) to 16 (and 12 months)")
    con = duckdb.connect()
    started = time.perf_counter()
    n = build_fake_warehouse(con, reference, weeks=0, months=periods - 4, trimesters=3,
                             profiles=FAMILY_PROFILES, with_equity=False, with_reach=False)
    types = ", ".join(f"'{t}'" for t in SUMMARY_PERIOD_TYPES)
    rates = con.sql(f"""
        SELECT a.period_type, a.period, p.period_start, a.profile, a.uai, s.academie_code, s.departement_code,
               s.level, s.secteur, s.education_prioritaire, s.rural_urban, s.ips,
               NULL::INTEGER AS national_ips_quintile, a.loaded, a.active, a.active / a.loaded AS active_rate
        FROM adoption_school a JOIN schools s USING (uai) JOIN periods p USING (period_type, period)
        WHERE a.loaded > 0 AND a.period_type IN ({types})
        ORDER BY p.period_start, a.period_type, a.period, a.profile, a.uai
    """).df()
    print(f"fake warehouse: {n:,} schools, {len(rates):,} school rates over {rates.period.nunique()} periods "
          f"in {time.perf_counter() - started:.1f} s")
    return rates


def national(periods: int, reference: Path, repeats: int) -> None:
    from pipelines.defs.equity.summary_measures import summary_rows
    from pipelines.defs.publication.derived import THEIL_MEASURES, theil_intervals

    rates = national_rates(periods, reference)
    frame, _ = summary_rows(rates, frozenset(THEIL_MEASURES))
    academie = frame[frame["scope"] == "academie"]
    groups = academie.groupby(["period_type", "period", "profile", "scope_code", "level"]).ngroups
    print(f"{groups:,} bootstraps (académie × period × profile × level), {len(academie):,} Theil rows")
    for _ in range(repeats):
        before = _load()
        cpu, wall = time.process_time(), time.perf_counter()
        out = theil_intervals(frame, rates)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        shown = out.loc[academie.index, "ci_low"].notna().sum()
        print(f"theil_intervals, {periods} periods: {cpu:.1f} s CPU, {wall:.1f} s wall "
              f"({cpu / groups * 1000:.1f} ms CPU a bootstrap; {shown:,} of {len(academie):,} intervals shown; "
              f"load {before} -> {_load()})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, nargs="+", default=[300, 1430, 5000])
    parser.add_argument("--groups", type=int, default=6, help="départements of the académie")
    parser.add_argument("--repeats", type=int, default=None, help="5 per interval, 1 national run")
    parser.add_argument("--periods", type=int, help="national publish of a school year of this many periods")
    parser.add_argument("--reference", type=Path, default=REPO / "data" / "reference")
    args = parser.parse_args(argv)
    if args.periods is None:
        one_interval(args.schools, args.groups, args.repeats or 5)
    else:
        national(args.periods, args.reference, args.repeats or 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
