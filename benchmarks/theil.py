"""CPU time of one Theil bootstrap interval (``theil.theil_decomposition_ci``, 999 resamples) by group size.

    .venv/bin/python benchmarks/theil.py [--schools 300 1430 5000] [--groups 6] [--repeats 5]

The publication computes one per académie × period × profile × level (``derived.theil_intervals``); 1,430
schools is a national académie's mean. Rates Beta(2, 5), weights 20–800 accounts, random départements.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.equity.theil import theil_decomposition_ci  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, nargs="+", default=[300, 1430, 5000])
    parser.add_argument("--groups", type=int, default=6, help="départements of the académie")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(1)
    for n in args.schools:
        y, w = rng.beta(2, 5, n), rng.integers(20, 800, n).astype(float)
        groups = rng.integers(0, args.groups, n).astype(str)
        theil_decomposition_ci(y, w, groups)  # warm-up
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.repeats):
            theil_decomposition_ci(y, w, groups)
        print(f"{n:>6,} schools, {args.groups} groups: {(time.process_time() - cpu) / args.repeats:.4f} s CPU, "
              f"{(time.perf_counter() - wall) / args.repeats:.4f} s wall per interval")
    return 0


if __name__ == "__main__":
    sys.exit(main())
