"""Power of the workshop event study, from simulation: for a planted workshop effect (logit), the share of
runs whose 95 % interval of the end-of-year effect excludes zero, against the number of schools that held a
workshop; with the coverage of the planted value and the naive comparison's mean error beside it.

Each run draws a fresh sample (its own seed) from the generator's model through
``pipelines.synth.parent_panel`` (parents only, no files), on the schools of a few académies (the model is
calibrated on them), then runs ``pipelines.levers.workshop_did`` on the logit scale.

    uv run python benchmarks/levers_power.py [--effect 0.1 --effect 0.3] [--schools 40 80 160 320] [--runs 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.levers import workshop_did as did
from pipelines.levers.design import FACTOR_GROUPS, IpsScale, covariates
from pipelines.levers.naive_comparison import naive_difference
from pipelines.synth.command import load_schools
from pipelines.synth.parent_panel import simulate_parent_panel
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"
ACADEMIES = ("01", "08", "10", "14", "16", "24", "27", "28", "70")


def one_run(national: pl.DataFrame, seed: int, n_schools: int, effect: float) -> tuple[int, float, float, float, float]:
    """(workshop schools, estimate, ci_low, ci_high, naive estimate) of one simulated sample."""
    data = simulate_parent_panel(national, seed, n_schools, {"workshop": effect})
    x, keep = covariates(data.schools, IpsScale(data.ips_standardization["mean"], data.ips_standardization["sd"]),
                        tuple(FACTOR_GROUPS))
    x = x.set_axis(data.schools.loc[keep, "uai"].to_numpy())
    estimate = did.end_of_year_effect(did.group_time_effects(data.panel, data.schools, x, "logit", event_times=()))
    return estimate.n_schools, estimate.estimate, estimate.ci_low, estimate.ci_high, naive_difference(data.schools, "logit")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--effect", type=float, action="append", help="planted workshop effect, logit (repeatable)")
    parser.add_argument("--schools", type=int, nargs="+", default=[40, 80, 160, 320], help="schools sampled per run")
    parser.add_argument("--runs", type=int, default=20, help="runs per point")
    parser.add_argument("--seed", type=int, default=1000, help="first seed")
    args = parser.parse_args()
    effects = args.effect or [0.1, 0.3]
    national = load_schools(REFERENCE_DIR).filter(pl.col("academie_code").is_in(ACADEMIES))
    started = time.perf_counter()
    print(f"académies {', '.join(ACADEMIES)}; {args.runs} runs per point; 95 % intervals (logit, end of year)")
    print("effect | schools | workshop schools (mean, min-max) | power (excludes 0) | coverage | mean estimate | "
          "mean half-width | naive mean error")
    for effect in effects:
        for n_schools in args.schools:
            rows = np.array([one_run(national, args.seed + k, n_schools, effect) for k in range(args.runs)])
            ok = np.isfinite(rows[:, 1])
            n, est, low, high, naive = rows[ok].T
            print(f"{effect:6.2f} | {n_schools:7d} | {n.mean():5.1f} ({int(n.min())}-{int(n.max())}) | "
                  f"{np.mean(low > 0):.2f} | {np.mean((low <= effect) & (effect <= high)):.2f} | {est.mean():.3f} | "
                  f"{np.mean((high - low) / 2):.3f} | {np.nanmean(naive - effect):+.3f}"
                  + ("" if ok.all() else f" ({(~ok).sum()} runs without a usable cohort)"), flush=True)
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
