"""Sessions of the adopters of one chunk and the service of each ACCESS event.

Sessions come grouped by account (all sessions of an account are contiguous, accounts in the order of
``Accounts``); the first session of every adopter is drawn over school days only ("every adopter gets
at least one session in term time"), the others over all days. A day is drawn by inverse CDF over the
zone's day weights from the account's first possible day, an hour by inverse CDF over the profile's hour
weights (school day or weekend), the rest of the hour uniformly; local wall-clock time is converted to UTC
with the time zone's offset of that local hour.

ACCESS events come grouped by session in the same order. Each adopter draws its set of services; across
the account's ACCESS events, taken from a random rotation, the first ``s`` (``s`` = size of the set) are
the services of the set (so each is visited at least once) and the others are drawn from the set with
VISIT_WEIGHT (alias method).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.formats.entcore import CHANNELS
from pipelines.synth.accounts import N_PROFILES, Accounts
from pipelines.synth.calendar import MODEL_PROFILES, ZoneTables
from pipelines.synth.chunk_model import ChunkModel
from pipelines.synth.usage_model import (
    ACCESS_EXTRA_MEAN,
    ACTIVE_MONTHS,
    MOBILE_CONCENTRATION,
    MODEL_SERVICES,
    OTHER_CHANNEL_SHARE,
    SESSIONS_GAMMA_SHAPE,
    VISIT_WEIGHT,
)

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
_MOBILE, _OTHER, _WEB = CHANNELS.index("mobile_app"), CHANNELS.index("other"), CHANNELS.index("web")


@dataclass(frozen=True)
class Sessions:
    """One entry per session, grouped by account."""

    account: np.ndarray  # int64 index into Accounts
    local_hour: np.ndarray  # int64: day * 24 + hour, local wall clock
    start_us: np.ndarray  # int64: UTC epoch microseconds
    channel: np.ndarray  # int8: index in CHANNELS
    n_access: np.ndarray  # int64: ACCESS events of the session
    access_service: np.ndarray  # int8, one per ACCESS event grouped by session: index in MODEL_SERVICES
    account_first: np.ndarray  # int64: index of each adopter's first session (adopters in account order)


SESSION_TAIL_US = 3 * US_PER_HOUR  # room for a session's events after its start


@dataclass(frozen=True)
class SessionDays:
    """The first draws of ``draw_sessions``: sessions per adopter and the window day of each session."""

    adopters: np.ndarray  # int64 index into Accounts of each adopter
    count: np.ndarray  # int64: sessions per adopter
    starts: np.ndarray  # int64: index of each adopter's first session
    day: np.ndarray  # int64: window day of each session (local calendar)


def draw_session_days(acc: Accounts, m: ChunkModel, tables: ZoneTables, rng: np.random.Generator) -> SessionDays:
    """How many sessions each adopter has and on which days (the rest of a session is drawn after)."""
    adopters = np.flatnonzero(acc.adopter)
    sp = acc.school_profile[adopters]
    profile = sp % N_PROFILES
    first_day = acc.first_day[adopters]
    rate = rng.gamma(SESSIONS_GAMMA_SHAPE, m.sessions_per_month.reshape(-1)[sp] / SESSIONS_GAMMA_SHAPE)
    remaining = 1.0 - tables.cdf_days[profile, first_day]
    count = 1 + rng.poisson(rate * ACTIVE_MONTHS * remaining)
    starts = np.cumsum(count) - count
    n = int(count.sum())

    # Day: group = profile over all days, or profile + 4 (school days only) for the first session.
    group = np.repeat(profile, count)
    group[starts] += N_PROFILES
    lo = tables.cdf_days[group, np.repeat(first_day, count)]
    x = group + lo + rng.random(n) * (1.0 - lo)
    day = np.minimum(np.searchsorted(tables.flat_days, x, side="right") - group * tables.n_days, tables.n_days - 1)
    return SessionDays(adopters, count, starts, day)


def draw_sessions(acc: Accounts, m: ChunkModel, tables: ZoneTables, rng: np.random.Generator) -> Sessions:
    days = draw_session_days(acc, m, tables, rng)
    adopters, count, starts, day = days.adopters, days.count, days.starts, days.day
    sp = acc.school_profile[adopters]
    profile = sp % N_PROFILES
    n = len(day)
    # Hour: group = 2 * profile + weekend.
    hgroup = 2 * np.repeat(profile, count) + tables.weekend[day]
    hour = np.minimum(np.searchsorted(tables.flat_hours, hgroup + rng.random(n), side="right") - hgroup * 24, 23)
    local_hour = day * 24 + hour
    local_us = (tables.epoch_day0 * 24 + local_hour) * US_PER_HOUR + rng.integers(0, US_PER_HOUR, n)
    start_us = local_us - tables.utc_offset_us[local_hour]
    # Overseas schools: a session starting in the window on the local clock but outside it on the
    # Paris clock (the product's weeks and school years) moves one day inside; its events follow it.
    lo, hi = tables.paris_window_us
    start_us = np.where(start_us < lo, start_us + US_PER_DAY, start_us)
    start_us = np.where(start_us >= hi - SESSION_TAIL_US, start_us - US_PER_DAY, start_us)

    share = m.mobile_share.reshape(-1)[sp]
    propensity = np.repeat(rng.beta(MOBILE_CONCENTRATION * share, MOBILE_CONCENTRATION * (1 - share)), count)
    v = rng.random(n)
    channel = np.where(v < propensity, _MOBILE, np.where(v >= 1 - OTHER_CHANNEL_SHARE * (1 - propensity), _OTHER, _WEB))

    n_access, access_service = _access_events(sp, profile, count, starts, m, rng)
    return Sessions(
        account=np.repeat(adopters, count),
        local_hour=local_hour,
        start_us=start_us,
        channel=channel.astype(np.int8),
        n_access=n_access,
        access_service=access_service,
        account_first=starts,
    )


def _alias(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table of a discrete distribution: draw ``j = floor(u·k)``, keep ``j`` if the
    fractional part of ``u·k`` is below ``prob[j]``, else take ``alias[j]``."""
    k = len(weights)
    scaled = weights * k / weights.sum()
    prob, alias = np.ones(k), np.arange(k)
    small = [j for j in range(k) if scaled[j] < 1.0]
    large = [j for j in range(k) if scaled[j] >= 1.0]
    while small and large:
        j, big = small.pop(), large.pop()
        prob[j], alias[j] = scaled[j], big
        scaled[big] -= 1.0 - scaled[j]
        (small if scaled[big] < 1.0 else large).append(big)
    return prob, alias


def _service_set_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per service set (bitmask over MODEL_SERVICES): its size, its members in order, and an alias table
    (probabilities, services) over its members for draws weighted by VISIT_WEIGHT."""
    n_services = len(MODEL_SERVICES)
    size = np.zeros(2**n_services, dtype=np.int64)
    members = np.zeros((2**n_services, n_services), dtype=np.int8)
    prob = np.ones((2**n_services, n_services))
    alias = np.zeros((2**n_services, n_services), dtype=np.int8)
    for mask in range(1, 2**n_services):
        inside = [k for k in range(n_services) if mask >> k & 1]
        size[mask] = len(inside)
        members[mask, : len(inside)] = inside
        p, a = _alias(np.asarray(VISIT_WEIGHT)[inside])
        prob[mask, : len(inside)] = p
        alias[mask, : len(inside)] = np.asarray(inside)[a]
    return size, members, prob, alias


SET_SIZE, SET_MEMBERS, SET_ALIAS_PROB, SET_ALIAS = _service_set_tables()


def _access_events(
    sp: np.ndarray, profile: np.ndarray, count: np.ndarray, starts: np.ndarray, m: ChunkModel, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """ACCESS events per session and the service of each (grouped by session)."""
    n_services = len(MODEL_SERVICES)
    member = rng.random((len(sp), n_services)) < m.reach.reshape(-1, n_services)[sp]
    service_set = member @ (1 << np.arange(n_services))
    size = SET_SIZE[service_set]
    extra_mean = np.array([ACCESS_EXTRA_MEAN[p] for p in MODEL_PROFILES])[profile]
    n_access = np.where(np.repeat(size > 0, count), 1 + rng.poisson(np.repeat(extra_mean, count)), 0)
    per_account = np.add.reduceat(n_access, starts) if len(starts) else n_access
    deficit = np.maximum(size - per_account, 0)
    n_access[starts] += deficit
    per_account += deficit

    owner = np.repeat(np.arange(len(sp)), per_account)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(per_account) - per_account, per_account)
    rotation = np.floor(rng.random(len(sp)) * per_account).astype(np.int64)
    position = (rank + rotation[owner]) % np.maximum(per_account[owner], 1)
    owner_set = service_set[owner]
    mandatory = position < SET_SIZE[owner_set]
    scaled = rng.random(len(owner)) * SET_SIZE[owner_set]
    column = scaled.astype(np.int64)
    keep = scaled - column < SET_ALIAS_PROB[owner_set, column]
    drawn = np.where(keep, SET_MEMBERS[owner_set, column], SET_ALIAS[owner_set, column])
    service = np.where(mandatory, SET_MEMBERS[owner_set, np.minimum(position, n_services - 1)], drawn)
    return n_access, service.astype(np.int8)
