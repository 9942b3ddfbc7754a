"""Accounts of one chunk: who is loaded, activated, active, and when.

One uniform ``u`` per account decides its fate against the school's true probabilities
(``p_without_workshop <= p_year <= p_activated``):
- ``u < p_without_workshop``: adopter from the start (sessions from the day after creation);
- ``p_without_workshop <= u < p_year``: adopter from the school's workshop day (parents of workshop
  schools only: "extra accounts become adopters from that date");
- ``p_year <= u < p_activated``: activated but never active;
- otherwise never activated.
The number of adopters of a school and profile is therefore Binomial(loaded, p_year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.synth.calendar import SchoolYearCalendar, ZoneTables
from pipelines.synth.chunk_model import ChunkModel
from pipelines.synth.ids import uuid4_matrix
from pipelines.synth.usage_model import ACTIVATION_LAG_MEAN_DAYS, LATE_ARRIVAL_SHARE, SAME_DAY_ACTIVATION

N_PROFILES = 4


@dataclass(frozen=True)
class Accounts:
    """One entry per loaded account, grouped by school then profile."""

    school_profile: np.ndarray  # int64: school * 4 + profile (chunk-local school index)
    user_id: np.ndarray  # (n, 36) uint8: UUID text
    created_day: np.ndarray  # int64, window day (negative: before 1 September)
    adopter: np.ndarray  # bool: at least one session over the year
    from_workshop: np.ndarray  # bool: adopter only from the school's workshop day
    activated: np.ndarray  # bool (adopters included)
    first_day: np.ndarray  # int64: earliest day a session may fall on (adopters)
    auth: np.ndarray  # int8: index in AUTH_METHODS

    @property
    def school(self) -> np.ndarray:
        return self.school_profile // N_PROFILES

    @property
    def profile(self) -> np.ndarray:
        return self.school_profile % N_PROFILES


def draw_accounts(m: ChunkModel, tables: ZoneTables, cal: SchoolYearCalendar, rng: np.random.Generator) -> Accounts:
    sp = np.repeat(np.arange(m.loaded.size), m.loaded.reshape(-1))
    n = len(sp)
    user_id = uuid4_matrix(rng, n)
    lo, hi = (cal.day_index(d) for d in cal.initial_load)
    created = rng.integers(lo, hi + 1, n)
    late = np.flatnonzero(rng.random(n) < LATE_ARRIVAL_SHARE)
    created[late] = tables.late_creation_days[rng.integers(0, len(tables.late_creation_days), len(late))]

    u = rng.random(n)
    adopter = u < m.p_year.reshape(-1)[sp]
    from_start = u < m.p_without_workshop.reshape(-1)[sp]
    activated = u < m.p_activated.reshape(-1)[sp]
    first_day = np.maximum(created + 1, 0)
    from_workshop = adopter & ~from_start
    first_day[from_workshop] = np.maximum(first_day[from_workshop], m.workshop_day[sp[from_workshop] // N_PROFILES])

    cum_auth = np.cumsum(m.auth_shares.reshape(-1, 3), axis=1)[sp]
    v = rng.random(n)
    auth = ((v[:, None] >= cum_auth[:, :2]).sum(axis=1)).astype(np.int8)
    return Accounts(sp, user_id, created, adopter, from_workshop, activated, first_day, auth)


def activation_days(
    acc: Accounts,
    first_session_local_day: np.ndarray,
    first_session_utc_day: np.ndarray,
    tables: ZoneTables,
    rng: np.random.Generator,
) -> np.ndarray:
    """Activation day per account (int64; meaningful where ``acc.activated``).

    Adopters: the day of their first session or a few days before, never before creation (nor before the
    workshop for workshop adopters) and never after the local or UTC calendar date of the first event.
    Activated non-adopters: between creation and the last school day, skewed towards the start.
    """
    n = len(acc.adopter)
    lag = np.where(rng.random(n) < SAME_DAY_ACTIVATION, 0, rng.geometric(1 / ACTIVATION_LAG_MEAN_DAYS, n))
    days = np.empty(n, dtype=np.int64)
    ad = acc.adopter
    upper = np.minimum(first_session_local_day, first_session_utc_day)
    lower = np.where(acc.from_workshop[ad], acc.first_day[ad], acc.created_day[ad])
    days[ad] = np.minimum(np.maximum(upper - lag[ad], lower), upper)
    idle = ~ad
    span = np.maximum(tables.last_school_day - acc.created_day[idle], 0)
    days[idle] = acc.created_day[idle] + np.floor(rng.random(idle.sum()) ** 2 * span).astype(np.int64)
    return days
