"""Events of a set of sessions: one LOGIN (service connexion) then the session's ACCESS events, as a
canonical Arrow table or as entcore event-store documents.

Sessions are put in time order (local day, hour and minute of their start; radix sorts on small
integer keys) and each session's events follow its LOGIN, ``FIRST_ACCESS_DELAY_S`` then
``MIN_GAP_S + Exp(MEAN_GAP_S)`` seconds apart. Rows of a file are therefore ordered by session start
(to the minute), and by time within a session.

Identifiers: ``session_id`` = ``S-<first year>-<académie>-<10-digit counter>`` (counter per académie file
and year), ``event_id`` = the session id with ``E`` for ``S`` and ``-<2-digit position in the session>``;
both are stable for a seed and unique across the landing zone. entcore documents carry a random UUID
``_id`` and ``sessionId`` instead, as entcore does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from pipelines.formats.entcore import (
    AUTH_METHODS,
    CHANNELS,
    EVENT_TYPES,
    LOGIN_MODULE,
    PROFILE_TO_PROFIL,
    PROFILES,
    SERVICE_TO_MODULES,
    SERVICES,
    USER_AGENTS,
)
from pipelines.synth.accounts import Accounts
from pipelines.synth.calendar import MODEL_PROFILES
from pipelines.synth.ids import counter_matrix, strings_from_list, strings_from_matrix, uuid4_matrix
from pipelines.synth.sessions import Sessions
from pipelines.synth.usage_model import FIRST_ACCESS_DELAY_S, MEAN_GAP_S, MIN_GAP_S, MODEL_SERVICES

assert PROFILES[: len(MODEL_PROFILES)] == MODEL_PROFILES and SERVICES[1:] == MODEL_SERVICES
assert SERVICE_TO_MODULES["connexion"] == (LOGIN_MODULE,)

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
SESSION_COUNTER_DIGITS = 10

CANONICAL_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("uai", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("profile", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("service", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("event_type", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("channel", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("auth_method", pa.dictionary(pa.int8(), pa.string()), nullable=True),
        pa.field("session_id", pa.string(), nullable=False),
    ]
)


def time_order(ses: Sessions) -> np.ndarray:
    """Session indices sorted by local start minute (stable; two radix sorts on 16-bit keys). Every
    modelled time zone is a whole number of hours from UTC, so the UTC minute is the local minute."""
    minute = ((ses.start_us % 3_600_000_000) // US_PER_MINUTE).astype(np.int16)
    by_minute = np.argsort(minute, kind="stable")
    return by_minute[np.argsort(ses.local_hour[by_minute].astype(np.int16), kind="stable")]


@dataclass(frozen=True)
class Events:
    """Events of the sessions ``sel`` (in that order): per session ``1 + n_access`` rows."""

    sel: np.ndarray  # session indices
    per_session: np.ndarray  # events per selected session
    session: np.ndarray  # per event: index into ``sel``
    position: np.ndarray  # 0 = LOGIN, k = k-th ACCESS
    service: np.ndarray  # int8 index in SERVICES
    time_us: np.ndarray  # UTC epoch microseconds

    def repeat(self, per_session_values: np.ndarray) -> np.ndarray:
        """Spread one value (or row) per selected session over its events."""
        return np.take(per_session_values, self.session, axis=0)

    def before(self, cutoff_us: int) -> Events:
        """The events before ``cutoff_us`` (a log exported at that instant). A session's events are in time
        order from its LOGIN, so each selected session that started before the cutoff keeps a prefix."""
        keep = self.time_us < cutoff_us
        if keep.all():
            return self
        session = self.session[keep]
        per_session = np.bincount(session, minlength=len(self.sel))
        return Events(self.sel, per_session, session, self.position[keep], self.service[keep], self.time_us[keep])


def build_events(ses: Sessions, sel: np.ndarray, rng: np.random.Generator) -> Events:
    per_session = 1 + ses.n_access[sel]
    first_event = np.cumsum(per_session) - per_session
    n = int(per_session.sum())
    session = np.repeat(np.arange(len(sel)), per_session)
    position = np.arange(n) - first_event[session]
    # The k-th ACCESS of a session is the (k-1)-th of its ACCESS events (grouped by session in ``ses``);
    # a LOGIN points one before its session's first ACCESS (index -1 at worst: the padding, never used).
    access_first = np.cumsum(ses.n_access) - ses.n_access
    access = access_first[sel][session] + position - 1
    padded = np.append(ses.access_service, np.int8(0))
    service = np.where(position > 0, padded[access] + 1, 0).astype(np.int8)

    delay = rng.integers(FIRST_ACCESS_DELAY_S[0] * US_PER_SECOND, FIRST_ACCESS_DELAY_S[1] * US_PER_SECOND, n)
    gap = MIN_GAP_S * US_PER_SECOND + (rng.exponential(MEAN_GAP_S * US_PER_SECOND, n)).astype(np.int64)
    step = np.where(position == 1, delay, gap)
    step[first_event] = 0
    elapsed = np.cumsum(step)
    time_us = ses.start_us[sel][session] + elapsed - elapsed[first_event][session]
    return Events(sel, per_session, session, position, service, time_us)


def _dictionary(indices: np.ndarray, values: tuple[str, ...] | list[str], valid: np.ndarray | None = None) -> pa.Array:
    """A dictionary-encoded string column from integer codes (NULL where ``valid`` is False)."""
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    codes = pa.Array.from_buffers(pa.from_numpy_dtype(indices.dtype), len(indices), [bitmap, pa.py_buffer(indices)])
    return pa.DictionaryArray.from_arrays(codes, strings_from_list(values), safe=False)


# "-00" .. "-99": the suffix of an event id after its session id.
_POSITION_SUFFIX = np.array([list(f"-{i:02d}".encode("ascii")) for i in range(100)], dtype=np.uint8)


def canonical_table(
    ev: Events, ses: Sessions, acc: Accounts, uai: list[str], id_prefix: str, first_session_number: int
) -> pa.Table:
    """Canonical events (raw user_id) as an Arrow table with CANONICAL_SCHEMA."""
    if len(ev.position) and ev.position.max() > 99:
        raise ValueError("more than 99 ACCESS events in one session")
    numbers = np.arange(first_session_number, first_session_number + len(ev.sel))
    session_ids = counter_matrix(f"S-{id_prefix}-", numbers, SESSION_COUNTER_DIGITS)
    session_column = ev.repeat(session_ids)
    event_ids = np.concatenate([session_column, _POSITION_SUFFIX[ev.position]], axis=1)
    event_ids[:, 0] = ord("E")

    account = ev.repeat(ses.account[ev.sel])
    login = ev.position == 0
    columns = [
        strings_from_matrix(event_ids),
        pa.Array.from_buffers(CANONICAL_SCHEMA.field("occurred_at").type, len(ev.time_us), [None, pa.py_buffer(ev.time_us)]),
        _dictionary(acc.school[account].astype(np.int32), uai),
        strings_from_matrix(np.take(acc.user_id, account, axis=0)),
        _dictionary(acc.profile[account].astype(np.int8), PROFILES),
        _dictionary(ev.service, SERVICES),
        _dictionary((~login).astype(np.int8), EVENT_TYPES),
        _dictionary(ev.repeat(ses.channel[ev.sel]), CHANNELS),
        _dictionary(acc.auth[account], AUTH_METHODS, valid=login),
        strings_from_matrix(session_column),
    ]
    return pa.Table.from_arrays(columns, schema=CANONICAL_SCHEMA)


_MODULES = [module for service in SERVICES for module in SERVICE_TO_MODULES[service]]
_MODULE_FIRST = np.cumsum([0] + [len(SERVICE_TO_MODULES[s]) for s in SERVICES])[:-1]
_MODULE_COUNT = np.array([len(SERVICE_TO_MODULES[s]) for s in SERVICES])
_UA = [(ua, device) for channel in CHANNELS for ua, device in USER_AGENTS[channel]]
_UA_FIRST = np.cumsum([0] + [len(USER_AGENTS[c]) for c in CHANNELS])[:-1]
_UA_COUNT = np.array([len(USER_AGENTS[c]) for c in CHANNELS])


def entcore_frame(
    ev: Events, ses: Sessions, acc: Accounts, structure_ids: list[str], rng: np.random.Generator
) -> pl.DataFrame:
    """entcore event-store documents (see pipelines.formats.entcore) in JSON key order."""
    n = len(ev.position)
    account = ses.account[ev.sel]
    # A LOGIN's service is connexion, whose only module is Auth.
    module = _MODULE_FIRST[ev.service] + np.floor(rng.random(n) * _MODULE_COUNT[ev.service]).astype(np.int64)
    # Each account keeps one device per channel: its user agent is drawn once per account and channel.
    channel = ses.channel[ev.sel]
    ua_pick = rng.random((len(acc.adopter), len(CHANNELS)))[account, channel]
    ua = ev.repeat(_UA_FIRST[channel] + np.floor(ua_pick * _UA_COUNT[channel]).astype(np.int64))
    structure = ev.repeat(acc.school[account])
    session_uuid = strings_from_matrix(uuid4_matrix(rng, len(ev.sel)))
    categorical = lambda idx, values: pl.Series(values, dtype=pl.String).gather(idx)  # noqa: E731
    return pl.DataFrame(
        {
            "_id": pl.from_arrow(strings_from_matrix(uuid4_matrix(rng, n))),
            "event-type": categorical(ev.position > 0, list(EVENT_TYPES)),
            "module": categorical(module, _MODULES),
            "date": ev.time_us // 1000,
            "userId": pl.from_arrow(strings_from_matrix(ev.repeat(acc.user_id[account]))),
            "profil": categorical(ev.repeat(acc.profile[account]), [PROFILE_TO_PROFIL[p] for p in MODEL_PROFILES]),
            "structures": categorical(structure, structure_ids).to_frame().select(pl.concat_list(pl.all())).to_series(),
            "ua": categorical(ua, [u for u, _ in _UA]),
            "deviceType": categorical(ua, [d for _, d in _UA]),
            "sessionId": pl.from_arrow(session_uuid).gather(np.repeat(np.arange(len(ev.sel)), ev.per_session)),
        }
    )
