"""Simulated parent panels shared by the levers' recovery tests: several seeds and planted sizes other than
the defaults (zero included), drawn once per test session by ``pipelines.synth.parent_panel``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import polars as pl

from pipelines.levers.design import FACTOR_GROUPS, IpsScale, covariates
from pipelines.synth.command import load_schools
from pipelines.synth.parent_panel import ParentPanel, simulate_parent_panel
from tests.conftest import REFERENCE_DIR

# Nine académies over zones A, B, C, Corse and La Réunion (two with éducation prioritaire known) stand in
# for the national table: the model is calibrated on them, in a second instead of several.
ACADEMIES = ("01", "08", "10", "14", "16", "24", "27", "28", "70")
SCHOOLS = 260
# Planted effects (logit) of each run; every other coefficient keeps its default.
PLANTED = (
    {"workshop": 0.0, "teacher_training": 1.5},
    {"workshop": 0.3, "household_equipment": 0.0},
    {"workshop": 1.0, "teacher_training": 0.0, "household_equipment": 4.0},
)
SEEDS = (11, 12, 13, 14)


@dataclass(frozen=True, eq=False)  # hashed by identity (cached results per run)
class Run:
    seed: int
    planted: dict[str, float]
    data: ParentPanel

    @property
    def ips(self) -> IpsScale:
        return IpsScale(self.data.ips_standardization["mean"], self.data.ips_standardization["sd"])

    def coefficient(self, key: str) -> float:
        return self.data.coefficients[key]

    def event_study_covariates(self) -> pd.DataFrame:
        x, keep = covariates(self.data.schools, self.ips, tuple(FACTOR_GROUPS))
        return x.set_axis(pd.Index(self.data.schools.loc[keep, "uai"]))

    def true_points(self, uai: pd.Index) -> float:
        """Mean over the workshop schools among ``uai`` of the true school-year lift, in points."""
        t = self.data.truth
        t = t[t["held"] & t["uai"].isin(uai)]
        return 100 * float((t["p_with_workshop"] - t["p_without_workshop"]).mean())


@lru_cache(maxsize=1)
def national() -> pl.DataFrame:
    return load_schools(REFERENCE_DIR).filter(pl.col("academie_code").is_in(ACADEMIES))


@lru_cache(maxsize=1)
def runs() -> tuple[Run, ...]:
    return tuple(Run(seed, planted, simulate_parent_panel(national(), seed, SCHOOLS, planted))
                 for planted in PLANTED for seed in SEEDS)
