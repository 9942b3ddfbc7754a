"""The true parameters of the schools of one chunk, sliced from the national model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.synth.adoption_model import Adoption
from pipelines.synth.calendar import MODEL_PROFILES
from pipelines.synth.usage_model import ACTIVE_MONTHS, Usage


@dataclass(frozen=True)
class ChunkModel:
    """Arrays per chunk school (in chunk order) × profile (MODEL_PROFILES order) × service."""

    uai: list[str]
    entcore: np.ndarray  # (S,) bool: this school's events are written in entcore form
    loaded: np.ndarray  # (S, 4) int64
    p_without_workshop: np.ndarray  # (S, 4)
    p_year: np.ndarray  # (S, 4)
    p_activated: np.ndarray  # (S, 4)
    workshop_day: np.ndarray  # (S,) int64, -1 when the school holds no workshop
    reach: np.ndarray  # (S, 4, 10)
    mobile_share: np.ndarray  # (S, 4)
    sessions_per_month: np.ndarray  # (S, 4)
    auth_shares: np.ndarray  # (S, 4, 3)

    @staticmethod
    def slice(frame: pl.DataFrame, adoption: Adoption, usage: Usage, rows: np.ndarray, entcore: np.ndarray) -> ChunkModel:
        part = frame[rows]
        return ChunkModel(
            uai=part["uai"].to_list(),
            entcore=entcore,
            loaded=np.stack([part[f"loaded_{p}"].to_numpy() for p in MODEL_PROFILES], axis=1),
            p_without_workshop=adoption.p_without_workshop[rows],
            p_year=adoption.p_year[rows],
            p_activated=adoption.p_activated[rows],
            workshop_day=part["workshop_day"].fill_null(-1).to_numpy(),
            reach=usage.reach[rows],
            mobile_share=usage.mobile_share[rows],
            sessions_per_month=usage.sessions_per_month[rows],
            auth_shares=usage.auth_shares[rows],
        )


# Rough events per session (a LOGIN and about two ACCESS), to size chunks only.
EVENTS_PER_SESSION_ESTIMATE = 3.0


def expected_events(frame: pl.DataFrame, adoption: Adoption, usage: Usage) -> np.ndarray:
    """Rough expected events per school of the frame (used to cut chunks)."""
    loaded = np.stack([frame[f"loaded_{p}"].to_numpy() for p in MODEL_PROFILES], axis=1)
    sessions = loaded * adoption.p_year * (1 + ACTIVE_MONTHS * usage.sessions_per_month)
    return sessions.sum(axis=1) * EVENTS_PER_SESSION_ESTIMATE
