"""The dbt models on DuckDB give what a plain Python reading of their definition gives on the fixture's
events: sessions (a LOGIN, a gap of 30 minutes or more, or a change of school starts one; it belongs to
the Europe/Paris week it starts in; 30 minutes of the previous week are read).

Until the dbt models replaced them, these tables were computed by pipelines/defs/indicators/sql/
sessions.sql (and usage_weekly.sql, a model since deleted: docs/scale/dbt_engines.md), and this test compared the models to those files; the demo's
figures were checked equal before they were deleted (docs/scale/dbt_engines.md, state table)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import pytest

from pipelines.formats.entcore import SERVICES, VISIT_EVENT_TYPES
from tests.lake.event_lake import FIRST_WEEK, LAST_WEEK, PARIS, week_start
from tests.lake.model_rows import as_dicts, duckdb_model

FIRST, LAST = date.fromisoformat(FIRST_WEEK), date.fromisoformat(LAST_WEEK)
CODE = {s: i for i, s in enumerate(SERVICES)}


def _local(instant: datetime) -> datetime:
    return instant.astimezone(PARIS).replace(tzinfo=None)


def _epoch_us(instant: datetime) -> int:
    return int(instant.timestamp()) * 1_000_000 + instant.microsecond


def expected_sessions(events: list[dict]) -> list[dict]:
    lookback = datetime.combine(FIRST, time()) - timedelta(minutes=30)
    by_user = defaultdict(list)
    for e in events:
        if (e["event_type"] in VISIT_EVENT_TYPES and FIRST - timedelta(days=7) <= week_start(e["occurred_at"]) <= LAST
                and _local(e["occurred_at"]) >= lookback):
            by_user[e["user_pseudo"]].append(e)
    sessions = []
    for rows in by_user.values():
        rows.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
        current = None
        for previous, e in zip([None, *rows], rows):
            if (e["event_type"].upper() == "LOGIN" or previous is None or e["uai"] != previous["uai"]
                    or e["occurred_at"] >= previous["occurred_at"] + timedelta(minutes=30)):
                current = {"start": e, "events": 0, "mask": 0}
                sessions.append(current)
            current["events"] += 1
            if e["service"] != "connexion":
                current["mask"] |= 1 << CODE[e["service"]]
    out = []
    for s in sessions:
        start = s["start"]
        local = _local(start["occurred_at"])
        if local < datetime.combine(FIRST, time()):
            continue
        out.append({"uai": start["uai"], "user_pseudo": start["user_pseudo"], "profile": start["profile"],
                    "week_start": local.date() - timedelta(days=local.weekday()),
                    "started_at": _epoch_us(start["occurred_at"]), "channel": start["channel"],
                    "events": s["events"], "services_mask": s["mask"], "hour_paris": local.hour,
                    "weekday_paris": local.isoweekday()})
    return out


@pytest.fixture(scope="module")
def sessions(duckdb_build):
    return as_dicts(*duckdb_model(duckdb_build, "sessions"))


def test_sessions(event_lake, sessions):
    columns = ("uai", "user_pseudo", "profile", "week_start", "started_at", "channel", "events", "services_mask",
               "hour_paris", "weekday_paris")
    expected = sorted(tuple(s[c] for c in columns) for s in expected_sessions(event_lake[1]))
    assert len(expected) > 1000
    assert sorted(tuple(s[c] for c in columns) for s in sessions) == expected
