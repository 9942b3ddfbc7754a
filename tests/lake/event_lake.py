"""A small event lake as ingestion is to write it: zstd Parquet, hive-partitioned by week_start (the
Monday of the event's Europe/Paris ISO week), instants in UTC, 16-byte pseudonyms.

It holds a few weeks around both daylight-saving changes (26 October 2025, 29 March 2026), sessions
across midnight on Sunday, a week before the computed window whose last session runs into it, an
overseas school, an account that changes school, events of one account at the same instant, and
seeded random traffic. ``SCENARIOS`` names the hand-made accounts so that tests can check their
sessions.

Beside the events, the dimensions the period models join (``write_fixture_warehouse``): a warehouse
DuckDB file with accounts (activation dates, late creations, an ACTIVATION event standing for a missing
date, sessions of accounts missing from every snapshot), ODE statistics of a school known only that way
(a weekly, a daily and a monthly export), the schools, and the periods; then
exported to ``lake/dimensions/`` by ``pipelines.lake.dimensions``. Three Guadeloupe schools (UTC−4)
have the same traffic every week, except one week when the busy one is almost empty (a data gap) and
one when the small one is (too few events were expected there to judge it). One school has accounts
and no event at all.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.defs.reference.school_calendar import TIME_ZONE_OF_ACADEMIE

PARIS = ZoneInfo("Europe/Paris")
RENNES_SCHOOL = "0350001A"
REUNION_SCHOOL = "9740001K"  # académie de La Réunion (UTC+4): Europe/Paris weeks, local hour profiles
SERVICES = ("notes", "vie_scolaire", "cahier_de_textes", "messagerie", "blog", "documents",
            "carnet_de_liaison", "actualites", "agenda", "autre")
GUADELOUPE_SCHOOL = "9710001A"  # académie de la Guadeloupe (UTC−4): the same traffic every week
GAP_SCHOOL = "9710002B"  # the same académie, busier, almost empty in GAP_WEEK: a probable data gap
GAP_WEEK = "2025-10-20"
SMALL_SCHOOL = "9710003C"  # the same académie, small, almost empty in SMALL_WEEK: not judged
SMALL_WEEK = "2025-11-03"
# Accounts of each Guadeloupe school (five events a week each), and the weeks when only a few visit:
# (school, week) -> (accounts, events each).
GUADELOUPE_ACCOUNTS = {GUADELOUPE_SCHOOL: ("gp-steady", 10), GAP_SCHOOL: ("gp-gap", 40),
                       SMALL_SCHOOL: ("gp-small", 6)}
DROPS = {(GAP_SCHOOL, GAP_WEEK): (1, 2), (SMALL_SCHOOL, SMALL_WEEK): (2, 2)}
QUIET_SCHOOL = "0350002B"  # accounts, no event
# Alone in its académie (Mayotte), with events in the lake's first and last weeks only: the académie's
# median week is empty, so no week of it can be judged a data gap.
MAYOTTE_SCHOOL = "9760001M"
ODE_SCHOOL = "0350003C"  # known only through ODE statistics exports
# uai -> (academie_code, departement_code)
SCHOOLS = {RENNES_SCHOOL: ("14", "035"), QUIET_SCHOOL: ("14", "035"), ODE_SCHOOL: ("14", "035"),
           REUNION_SCHOOL: ("28", "974"), GUADELOUPE_SCHOOL: ("32", "971"), GAP_SCHOOL: ("32", "971"),
           SMALL_SCHOOL: ("32", "971"),
           MAYOTTE_SCHOOL: ("43", "976")}
GUADELOUPE = ZoneInfo(TIME_ZONE_OF_ACADEMIE["32"])
# The first day of the periods (the first weekly partition).
FIRST_DAY = "2025-09-01"
# The window the tests compute; 2025-10-06 is read only for the 30-minute look-back.
FIRST_WEEK = "2025-10-13"
LAST_WEEK = "2026-03-30"
RANDOM_WEEKS = ("2025-10-13", "2025-10-20", "2025-10-27", "2026-03-23", "2026-03-30")

SCHEMA = pa.schema([
    ("event_id", pa.string()),
    ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("uai", pa.string()),
    ("user_pseudo", pa.binary(16)),
    ("profile", pa.string()),
    ("service", pa.string()),
    ("event_type", pa.string()),
    ("channel", pa.string()),
    ("auth_method", pa.string()),
    ("source_file", pa.string()),
])


# The lake keeps the 128-bit pseudonym as 16 bytes, the warehouse as a UHUGEINT.
AS_UHUGEINT = "('0x' || hex(user_pseudo))::UHUGEINT AS user_pseudo"
# The warehouse's event ids are keyed hashes (UHUGEINT); the fixture's are text. Their rank keeps the order
# the sessions tie-break on.
EVENT_ID_RANK = "dense_rank() OVER (ORDER BY event_id)::UHUGEINT AS event_id"


def pseudo(account: str) -> bytes:
    """The fixture's stand-in for the keyed pseudonym: 16 bytes."""
    return hashlib.sha256(account.encode()).digest()[:16]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# account -> (school, [(UTC instant, event_type, service)]), with what its sessions must be.
SCENARIOS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    # Sunday 12 Oct 23:50 → Monday 00:10 (CEST): starts before the window, so no session at all, and
    # the Monday events do not start one either.
    "lookback": (RENNES_SCHOOL, [("2025-10-12T21:50:00", "LOGIN", "connexion"),
                                 ("2025-10-12T22:05:00", "ACCESS", "notes"),
                                 ("2025-10-12T22:10:00", "ACCESS", "messagerie")]),
    # Sunday 26 Oct 23:50 → Monday 00:20 (CET): one session of week 2025-10-20, weekday 7, hour 23.
    "midnight_cet": (RENNES_SCHOOL, [("2025-10-26T22:50:00", "LOGIN", "connexion"),
                                     ("2025-10-26T23:05:00", "ACCESS", "notes"),
                                     ("2025-10-26T23:20:00", "ACCESS", "vie_scolaire")]),
    # Sunday 29 Mar 23:45 → Monday 00:10 (CEST): one session of week 2026-03-23.
    "midnight_cest": (REUNION_SCHOOL, [("2026-03-29T21:45:00", "ACCESS", "cahier_de_textes"),
                                       ("2026-03-29T22:10:00", "ACCESS", "notes")]),
    # Clocks go back at 03:00 CEST: 02:45 CEST then 02:10 CET are 25 real minutes apart, one session
    # (hour 2); 02:20 CET then a LOGIN at 02:30 CET: two sessions, both hour 2.
    "fall_back": (RENNES_SCHOOL, [("2025-10-26T00:45:00", "ACCESS", "notes"),
                                  ("2025-10-26T01:10:00", "ACCESS", "blog"),
                                  ("2025-10-26T01:20:00", "ACCESS", "documents"),
                                  ("2025-10-26T01:30:00", "LOGIN", "connexion")]),
    # 02:10 CEST then 02:05 CET: the clock reads 5 minutes earlier but 55 minutes passed, two sessions.
    "fall_back_gap": (REUNION_SCHOOL, [("2025-10-26T00:10:00", "ACCESS", "notes"),
                                       ("2025-10-26T01:05:00", "ACCESS", "notes")]),
    # Clocks go forward at 02:00 CET: 01:59 CET is hour 1; 03:00 CEST, a LOGIN, hour 3.
    "spring_forward": (RENNES_SCHOOL, [("2026-03-29T00:59:00", "ACCESS", "agenda"),
                                       ("2026-03-29T01:00:00", "LOGIN", "connexion")]),
    # Three events at the same instant: one session of three events, notes and messagerie in the mask.
    "same_instant": (RENNES_SCHOOL, [("2025-10-15T17:00:00", "ACCESS", "notes"),
                                     ("2025-10-15T17:00:00", "ACCESS", "messagerie"),
                                     ("2025-10-15T17:00:00", "ACCESS", "notes")]),
}
# The mover changes school after 10 minutes: two sessions.
MOVER = ("mover", [(RENNES_SCHOOL, "2025-10-21T08:00:00"), (REUNION_SCHOOL, "2025-10-21T08:10:00")])


def _event(event_id: str, at: datetime, uai: str, account: str, event_type: str, service: str,
           profile: str = "parent", channel: str = "web") -> dict:
    return {"event_id": event_id, "occurred_at": at, "uai": uai, "user_pseudo": pseudo(account),
            "profile": profile, "service": service, "event_type": event_type, "channel": channel,
            "auth_method": "educonnect", "source_file": "fixture.parquet"}


def scenario_events() -> list[dict]:
    events = []
    for account, (uai, rows) in SCENARIOS.items():
        # Ids in reverse order of the rows, so that the tie-break by event_id is exercised.
        for i, (at, event_type, service) in enumerate(rows):
            events.append(_event(f"{account}-{len(rows) - i:02d}", _utc(at), uai, account, event_type, service))
    account, visits = MOVER
    for i, (uai, at) in enumerate(visits):
        events.append(_event(f"{account}-{i:02d}", _utc(at), uai, account, "ACCESS", "notes"))
    return events


def random_events(seed: int = 14, accounts: int = 24) -> list[dict]:
    """Seeded traffic: bursts of 1-6 events 1-40 minutes apart, often late on Sunday and at night."""
    rng = random.Random(seed)
    events = []
    for a in range(accounts):
        account = f"random-{a:02d}"
        uai = REUNION_SCHOOL if a % 4 == 0 else RENNES_SCHOOL
        profile = ("parent", "eleve", "enseignant", "personnel", "autre")[a % 5]
        channel = ("web", "mobile_app", "other")[a % 3]
        at = datetime.combine(date.fromisoformat(RANDOM_WEEKS[0]), datetime.min.time(), PARIS)
        at = at.astimezone(timezone.utc) + timedelta(minutes=rng.randrange(600))
        end = datetime.combine(date.fromisoformat(RANDOM_WEEKS[-1]) + timedelta(days=7), datetime.min.time(), PARIS)
        n = 0
        while at < end:
            if at.astimezone(PARIS).date() - timedelta(days=at.astimezone(PARIS).weekday()) not in {
                    date.fromisoformat(w) for w in RANDOM_WEEKS}:
                at += timedelta(days=7)
                continue
            for _ in range(rng.randint(1, 6)):
                event_type = "LOGIN" if rng.random() < 0.15 else "ACCESS"
                service = "connexion" if event_type == "LOGIN" else rng.choice(SERVICES)
                events.append(_event(f"{account}-{n:04d}", at, uai, account, event_type, service, profile, channel))
                n += 1
                at += timedelta(minutes=rng.randint(1, 40), seconds=rng.randrange(60))
            # Next burst: soon, or late on a Sunday evening, or at night.
            local = at.astimezone(PARIS)
            if rng.random() < 0.2:
                sunday = local.date() + timedelta(days=6 - local.weekday())
                at = datetime.combine(sunday, datetime.min.time(), PARIS).replace(hour=23, minute=rng.randrange(50))
                at = at.astimezone(timezone.utc)
            else:
                at += timedelta(hours=rng.randint(1, 30), minutes=rng.randrange(60))
    return events


def week_start(instant: datetime) -> date:
    local = instant.astimezone(PARIS).date()
    return local - timedelta(days=local.weekday())


def guadeloupe_events(weeks: list[date], drops: bool = True) -> list[dict]:
    """Each week, on Tuesday from 19:00 Guadeloupe time (past midnight in Paris), the accounts of each
    Guadeloupe school (GUADELOUPE_ACCOUNTS) visit five times, five minutes apart: a LOGIN, notes, notes,
    messagerie, notes; odd accounts on the mobile app. In the weeks of DROPS (unless ``drops`` is false)
    only the first accounts visit, with the first events."""
    events = []
    kinds = [("LOGIN", "connexion"), ("ACCESS", "notes"), ("ACCESS", "notes"), ("ACCESS", "messagerie"),
             ("ACCESS", "notes")]
    for week in weeks:
        evening = datetime.combine(week + timedelta(days=1), datetime.min.time(), GUADELOUPE).replace(hour=19)
        for uai, (prefix, accounts) in GUADELOUPE_ACCOUNTS.items():
            usual = (accounts, len(kinds))
            accounts, visits = DROPS.get((uai, week.isoformat()), usual) if drops else usual
            for k in range(accounts):
                channel = "mobile_app" if k % 2 else "web"
                for i, (event_type, service) in enumerate(kinds[:visits]):
                    at = (evening + timedelta(minutes=k + 5 * i)).astimezone(timezone.utc)
                    events.append(_event(f"{prefix}-{week}-{k:02d}-{i}", at, uai, f"{prefix}-{k:02d}",
                                         event_type, service, channel=channel))
    return events


def mayotte_events(*weeks: date) -> list[dict]:
    """Three visits on the Wednesday of each of ``weeks``, at 10:00 Mayotte time (UTC+3)."""
    return [_event(f"mayotte-{week}-{i}", datetime.combine(week + timedelta(days=2), datetime.min.time(),
                                                             timezone.utc).replace(hour=7, minute=10 * i),
                   MAYOTTE_SCHOOL, "mayotte-00", "ACCESS", "notes") for week in weeks for i in range(3)]


# ACTIVATION events (not visits): they date the activation of accounts whose snapshot has none.
ACTIVATIONS = [("fall_back", RENNES_SCHOOL, "2025-10-20T10:00:00"),
               ("gp-steady-late", GUADELOUPE_SCHOOL, "2025-10-14T12:00:00"),
               ("random-06", RENNES_SCHOOL, "2026-03-24T09:00:00")]


def activation_events() -> list[dict]:
    return [_event(f"activation-{account}", _utc(at), uai, account, "ACTIVATION", "connexion")
            for account, uai, at in ACTIVATIONS]


def fixture_accounts() -> list[tuple]:
    """The account snapshot: (account, uai, profile, created_at, activated_at). same_instant and every
    seventh random account have none (their sessions count as active_without_account)."""
    rows = []
    for account, (uai, _) in SCENARIOS.items():
        if account == "same_instant":
            continue
        created, activated = {"fall_back": (None, None),
                              "spring_forward": ("2026-01-05", "2026-01-06")}.get(account, (None, "2025-09-10"))
        rows.append((account, uai, "parent", created, activated))
    rows.append((MOVER[0], RENNES_SCHOOL, "parent", None, "2025-09-12"))
    for a in range(24):
        if a % 7 == 3:
            continue
        uai = REUNION_SCHOOL if a % 4 == 0 else RENNES_SCHOOL
        profile = ("parent", "eleve", "enseignant", "personnel", "autre")[a % 5]
        rows.append((f"random-{a:02d}", uai, profile, "2025-11-03" if a % 5 == 1 else None,
                     None if a % 3 == 0 else f"2025-09-{a + 2:02d}"))
    for uai, (prefix, accounts) in GUADELOUPE_ACCOUNTS.items():
        rows += [(f"{prefix}-{k:02d}", uai, "parent", None, "2025-09-15") for k in range(accounts)]
    rows.append(("gp-steady-late", GUADELOUPE_SCHOOL, "parent", None, None))  # its ACTIVATION: 14 Oct
    rows.append(("gp-steady-new", GUADELOUPE_SCHOOL, "parent", "2026-03-01", "2026-03-02"))
    rows += [(f"quiet-{k}", QUIET_SCHOOL, "parent", None, "2025-09-20" if k < 2 else None) for k in range(5)]
    rows += [(f"quiet-eleve-{k}", QUIET_SCHOOL, "eleve", None, None) for k in range(3)]
    return rows


def ode_statistics() -> list[tuple]:
    """(uai, stat_date, profile, connexions, unique_visitors, accounts_loaded, accounts_activated): the ODE
    school's parents weekly (Mondays), pupils daily, teachers monthly (November without account counts);
    and a Rennes row, ignored because Rennes has an account snapshot for that profile."""
    rows = []
    for i in range(13):
        rows.append((ODE_SCHOOL, date(2025, 9, 1) + timedelta(weeks=i), "parent", 100 + i, 40 + i, 200, 120 + i))
    for i in range(14):
        rows.append((ODE_SCHOOL, date(2025, 10, 1) + timedelta(days=i), "eleve", 10 + i, 5, 300, 150))
    for month in (9, 10, 11):
        rows.append((ODE_SCHOOL, date(2025, month, 1), "enseignant", 500 + month, 30, 60, 50 + month))
    rows[-1] = rows[-1][:5] + (None, None)  # November's export lacks the account counts
    rows.append((RENNES_SCHOOL, date(2025, 10, 15), "parent", 999, 99, 999, 999))
    return rows


def write_event_lake(lake: Path) -> list[dict]:
    """Write the fixture under lake/events/week_start=YYYY-MM-DD/ (two files per week); return its events."""
    events = scenario_events() + random_events()
    weeks = sorted({week_start(e["occurred_at"]) for e in events})
    events += guadeloupe_events(weeks) + activation_events() + mayotte_events(weeks[0], weeks[-1])
    by_week: dict[date, list[dict]] = {}
    for event in events:
        by_week.setdefault(week_start(event["occurred_at"]), []).append(event)
    for week, rows in sorted(by_week.items()):
        folder = lake / "events" / f"week_start={week.isoformat()}"
        folder.mkdir(parents=True)
        half = len(rows) // 2
        for part, chunk in enumerate((rows[:half], rows[half:])):
            if chunk:
                table = pa.Table.from_pylist(chunk, schema=SCHEMA)
                pq.write_table(table, folder / f"part-{part:05d}.parquet", compression="zstd")
    return events


def fixture_periods(first_day: date, last_day: date) -> list[tuple]:
    """(period_type, period, period_start, period_end, school_year) of every day in [first_day, last_day],
    labelled as the warehouse's periods asset labels them (ISO weeks, months, school trimesters
    T1 September–December, T2 January–March, T3 April–August, school years)."""
    rows = set()
    day = first_day
    while day <= last_day:
        start_year = day.year if day.month >= 9 else day.year - 1
        school_year = f"{start_year}-{start_year + 1}"
        monday = day - timedelta(days=day.weekday())
        iso_year, iso_week, _ = monday.isocalendar()
        rows.add(("week", f"{iso_year}-W{iso_week:02d}", monday, monday + timedelta(days=6), school_year))
        month = day.replace(day=1)
        rows.add(("month", f"{day:%Y-%m}", month, (month + timedelta(days=32)).replace(day=1) - timedelta(days=1),
                  school_year))
        trimester = 1 if day.month >= 9 else 2 if day.month <= 3 else 3
        bounds = {1: (date(start_year, 9, 1), date(start_year, 12, 31)),
                  2: (date(start_year + 1, 1, 1), date(start_year + 1, 3, 31)),
                  3: (date(start_year + 1, 4, 1), date(start_year + 1, 8, 31))}[trimester]
        rows.add(("trimester", f"{school_year} T{trimester}", *bounds, school_year))
        rows.add(("school_year", school_year, date(start_year, 9, 1), date(start_year + 1, 8, 31), school_year))
        day += timedelta(days=1)
    return sorted(rows)


def write_fixture_warehouse(path: Path, lake: Path) -> Path:
    """A warehouse DuckDB file at ``path`` holding the dimensions of the period models (accounts, ODE
    statistics, schools, and the periods from FIRST_DAY to the day of the lake's last event), exported
    to ``lake/dimensions/`` as the pipeline does. It holds no events: tests that run the warehouse's
    SQL add them."""
    from pipelines.defs.ingest.ingest_file import ensure_schema
    from pipelines.lake.dimensions import export_dimensions

    with duckdb.connect(str(path)) as con:
        ensure_schema(con)
        con.executemany(
            "INSERT INTO accounts VALUES (('0x' || hex(?::BLOB))::UHUGEINT, ?, ?, ?, ?, 'fixture_accounts.csv')",
            [(pseudo(account), uai, profile, created, activated)
             for account, uai, profile, created, activated in fixture_accounts()])
        con.executemany("INSERT INTO ode_statistics VALUES (?, ?, ?, ?, ?, ?, ?, 'fixture_ode.csv')", ode_statistics())
        con.execute("CREATE TABLE schools (uai VARCHAR, name VARCHAR, academie_code VARCHAR, departement_code VARCHAR)")
        con.executemany("INSERT INTO schools VALUES (?, 'fixture', ?, ?)",
                        [(uai, academie, departement) for uai, (academie, departement) in SCHOOLS.items()])
        last_day = con.execute(f"SELECT max(occurred_at AT TIME ZONE 'Europe/Paris')::DATE "
                               f"FROM read_parquet('{lake}/events/*/*.parquet')").fetchall()[0][0]
        con.execute("CREATE TABLE periods (period_type VARCHAR, period VARCHAR, period_start DATE, period_end DATE, "
                    "school_year VARCHAR)")
        con.executemany("INSERT INTO periods VALUES (?, ?, ?, ?, ?)",
                        fixture_periods(date.fromisoformat(FIRST_DAY), last_day))
        export_dimensions(con, lake)
    return path
