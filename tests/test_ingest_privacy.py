"""Crafted files of every input format carry a family's personal data in known and unknown fields, in
broken and headerless files: after the whole pipeline, the weekly reports and the serving copy, none of it
is in any warehouse or serving table, any Dagster or Python log line, or any report (issue #12)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import stat

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import REFERENCE_DIR
from tests.ingest_helpers import UAI_A, ms, write_text

KEY = "a-production-like-key-for-the-privacy-test-0042"
STRUCT = "6f1d2c3b-9a8e-4f7d-b6c5-a4e3d2c1b0a9"
# A parent, her child and what identifies them (names found nowhere in the reference data).
FIRST, LAST, CHILD = "Ombeline", "Kervella", "Loevan"
LOGIN = "okervella29"
EMAIL = "ombeline.kervella@laposte.net"
PHONE, PHONE_COMPACT = "06 71 38 92 15", "0671389215"
INE = "071835264HJ"
IP = "92.184.107.33"
ADDRESS = "12 venelle de Coatanroch"
RAW_USER = "c3d9e1f0-5b7a-4c2d-8e6f-1a2b3c4d5e6f"
FREE_TEXT = f"{FIRST} {LAST}, {ADDRESS}, {IP}, maman de {CHILD}"
NEEDLES = [FIRST, LAST, CHILD, LOGIN, EMAIL, PHONE, PHONE_COMPACT, INE, IP, "Coatanroch", RAW_USER]
EXTRA = {"login": LOGIN, "displayName": f"{FIRST} {LAST}", "ip": IP, "enfant": f"{CHILD} {LAST}",
         "adresse": ADDRESS, "mail": EMAIL, "tel": PHONE}


def _entcore(_id, user, date, **fields) -> str:
    doc = {"_id": _id, "event-type": "ACCESS", "module": "Presences", "date": ms(date), "userId": user,
           "profil": "Relative", "structures": [STRUCT], "ua": "Mozilla/5.0 (X11)"}
    return json.dumps(doc | fields, ensure_ascii=False)


def crafted_landing(landing) -> None:
    write_text(landing / "entcore" / "structures.csv", [
        "structure_id;uai;name;contact",
        f"{STRUCT};{UAI_A};École {LAST};{EMAIL}",
        f"{CHILD} {LAST};{UAI_A};{FREE_TEXT};{PHONE}",                      # not a structure id
    ])
    write_text(landing / "accounts.csv", [
        "user_id;uai;profile;created_at;activated_at;nom;telephone",
        f"{LOGIN};{UAI_A};parent;2025-08-25;2025-09-01;{FIRST} {LAST};{PHONE}",
        f"{RAW_USER};{UAI_A};Relative;2025-08-25;;{CHILD} {LAST};{PHONE_COMPACT}",
        f"{EMAIL};{UAI_A};{FIRST} {LAST};2025-08-25;{CHILD};{ADDRESS};{IP}",  # unparseable activated_at
        f"{INE};{UAI_A};parent;2025-08-25",                                   # 4 fields of 7
    ])
    write_text(landing / "accounts-no-header.csv", [                          # dropped without its header
        f"{LAST};{FIRST};{EMAIL};{PHONE};{INE}",
        f"{LAST};{CHILD};{EMAIL};{PHONE};{INE}",
    ])
    write_text(landing / "entcore" / "events.jsonl", [
        _entcore("j1", RAW_USER, "2025-09-08T18:00:00", **EXTRA),
        _entcore("j2", RAW_USER, "2025-09-08T18:05:00", structures=["b0a9c1d2-0000-4000-8000-00000000dead"], **EXTRA),
        _entcore(INE, LOGIN, "2025-09-09T19:00:00", profil=f"{FIRST} {LAST}", module=CHILD,
                 ua=f"Mozilla/5.0 ({FIRST} {LAST}; {IP})"),
        _entcore("j4", LOGIN, "2025-09-09T19:01:00", **{"event-type": f"ACCESS {FIRST} {LAST} {PHONE}"}),
        _entcore("j5", LOGIN, "2025-09-09T19:02:00", **{"event-type": f"{LAST.upper()}"}),
        _entcore("j6", EMAIL, "2025-09-09T19:03:00", structures=[f"{CHILD} {LAST}"], **EXTRA),
        json.dumps({"_id": "j7", "event-type": "ACCESS", "date": f"{CHILD} {LAST}", "userId": LOGIN,
                    "structures": [STRUCT], "displayName": f"{FIRST} {LAST}"}),
        f'{{"_id": "j8", "userId": "{LOGIN}", "displayName": "{FIRST} {LAST}", "mail": "{EMAIL}", "date": ',
        f"{FIRST} {LAST} {EMAIL} {PHONE} {INE} {IP}",
    ])
    write_text(landing / "access_events.csv", [
        "id,date,profile,module,event_type,ua,device_type,platform_id,user_id,ip",
        f"a1,2025-09-10 19:00:00+00,Relative,Presences,ACCESS,Mozilla/5.0 ({FIRST} {LAST}),Desktop,p1,{LOGIN},{IP}",
        f"a2,2025-09-10 19:01:00+00,Relative,{CHILD},ACCESS,okhttp/4.12.0,Mobile,p1,{EMAIL},{IP}",  # unknown user
        f"a3,{CHILD} {LAST},Relative,Presences,ACCESS,Mozilla/5.0,Desktop,p1,{LOGIN},{IP}",
        f'a4,2025-09-10 19:03:00+00,"{FREE_TEXT},Presences,ACCESS,x,Desktop,p1,{LOGIN},{IP}',    # broken quotes
    ])
    write_text(landing / "canonical" / "events.csv", [
        "event_id;occurred_at;uai;user_id;profile;service;event_type;channel;note",
        f"c1;2025-09-11T08:00:00+02:00;{UAI_A};{LOGIN};parent;notes;ACCESS;web;{FREE_TEXT}",
        f"c2;2025-09-11T08:01:00+02:00;9999999Z;{LOGIN};parent;notes;ACCESS;web;{FREE_TEXT}",    # unknown UAI
        f"c3;{CHILD};{UAI_A};{RAW_USER};{FIRST};{EMAIL};ACCESS;web;{PHONE}",                       # bad date
        f"c4;2025-09-11T08:03:00+02:00;{UAI_A};{LOGIN};parent;{INE};ACCESS;web",                 # 8 fields of 9
        f";2025-09-11T08:04:00+02:00;{UAI_A};{LOGIN};parent;Mme {FIRST} {LAST};ACCESS;web;x",   # no id, PII
    ])
    write_text(landing / "canonical" / "events-no-header.csv", [
        f"c9;2025-09-11T08:00:00+02:00;{UAI_A};{LOGIN};{FIRST} {LAST};{EMAIL};ACCESS;web",
    ])
    rows = [
        dict(event_id=None, occurred_at="2025-09-12T17:30:00", uai=UAI_A, user_id=LOGIN,
             profile=f"Mme {FIRST} {LAST}", service="notes", commentaire=FREE_TEXT),             # PII in profile
        dict(event_id=INE, occurred_at="2025-09-12T17:31:00", uai=PHONE_COMPACT, user_id=RAW_USER,
             profile="parent", service="notes", commentaire=EMAIL),                               # malformed UAI
        dict(event_id=None, occurred_at="2025-09-12T17:32:00", uai=UAI_A, user_id=EMAIL,
             profile=CHILD, service=f"{FIRST} {LAST}", commentaire=IP),                           # stored (autre)
    ]
    table = pa.table({
        "event_id": [r["event_id"] for r in rows],
        "occurred_at": pa.array([dt.datetime.fromisoformat(r["occurred_at"]).replace(tzinfo=dt.UTC) for r in rows]),
        "uai": [r["uai"] for r in rows], "user_id": [r["user_id"] for r in rows],
        "profile": [r["profile"] for r in rows], "service": [r["service"] for r in rows],
        "event_type": ["ACCESS"] * 3, "channel": ["web"] * 3, "commentaire": [r["commentaire"] for r in rows],
    })
    pq.write_table(table, landing / "canonical" / "events.parquet")
    write_text(landing / "ode.csv", [
        "Établissement;UAI;Date;Profil;Connexions;Visiteurs uniques;Comptes chargés;Comptes activés;Contact",
        f"{FREE_TEXT};{UAI_A};08/09/2025;Parent;40;12;30;20;{EMAIL}",
        f"{FREE_TEXT};{UAI_A};{CHILD};Parent;40;12;30;20;{PHONE}",                                # bad date
        f"{FREE_TEXT};{INE};09/09/2025;{FIRST};x;y;z;w;{IP}",                                     # malformed UAI
    ], encoding="cp1252")
    write_text(landing / "context.csv", [
        "uai;teacher_ent_training_rate;household_equipment_rate;referent",
        f"{UAI_A};0,4;{LAST};{FIRST} {LAST} {EMAIL}",
        f"{INE};0,4;0,5;{PHONE}",                                                                  # malformed UAI
    ])
    write_text(landing / "workshops.csv", [
        "uai;workshop_date;participants;animateur",
        f"{UAI_A};2025-10-02;8;{FIRST} {LAST} {PHONE}",
        f"{UAI_A};{CHILD};8;{ADDRESS}",                                                            # bad date
    ])


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(logging.Formatter("%(name)s %(message)s").format(record))


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """The crafted landing run through the whole pipeline (real key), the weekly reports of the data's
    week and of the ingest's week, and a dashboard account with an audit line."""
    from dagster._serdes import serialize_value

    from pipelines.defs.reports.weekly import write_weekly_reports
    from pipelines.paths import reports_dir, warehouse_path
    from pipelines.runner import run_pipeline
    from pipelines.serving_file import serving_path
    from pipelines.users import add_user, audit

    root = tmp_path_factory.mktemp("crafted")
    (root / "reference").symlink_to(REFERENCE_DIR, target_is_directory=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("ENT_DATA_DIR", str(root))
    mp.setenv("ENT_PSEUDONYMIZATION_KEY", KEY)
    mp.delenv("ENT_DEMO", raising=False)
    mp.delenv("ENT_FILE_MODE", raising=False)
    crafted_landing(root / "landing")
    capture = _Capture()
    loggers = [logging.getLogger(), logging.getLogger("dagster")]
    for logger in loggers:
        logger.addHandler(capture)
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            outcome = run_pipeline(instance)
            dagster_logs = [serialize_value(record) for _, run_id, _, _ in outcome.runs
                            for record in instance.all_logs(run_id)]
        with duckdb.connect(str(warehouse_path()), read_only=True) as con:
            today = dt.date.today()
            for week in (dt.date(2025, 9, 8), today - dt.timedelta(days=today.weekday())):
                write_weekly_reports(serving_path(), week, reports_dir(), warehouse=con, pdf=False)
        add_user("dane-rennes", "academie", "14", "a-long-enough-password-42")
        audit("login_refused", login="dane-rennes")
    finally:
        for logger in loggers:
            logger.removeHandler(capture)
    yield root, outcome, dagster_logs, capture.lines
    mp.undo()


def _hits(text: str) -> list[str]:
    return [n for n in NEEDLES if n.lower() in text.lower()]


def _table_hits(db_path) -> dict[str, list[str]]:
    """Needles found in any column (VARCHAR, struct, list, … cast to text) of any table of a DuckDB file."""
    found = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()]
        assert len(tables) > 5
        for table in tables:
            hits = con.execute(
                f'SELECT DISTINCT unnest(list_filter($needles, lambda n: contains(lower(t::VARCHAR), n))) FROM "{table}" t',
                {"needles": [n.lower() for n in NEEDLES]}).fetchall()
            if hits:
                found[table] = [h for (h,) in hits]
    return found


def test_the_crafted_files_are_read_and_every_row_is_accounted_for(crafted):
    root, outcome, _, _ = crafted
    from pipelines.paths import warehouse_path

    assert outcome.runs[0][2], "the ingest run failed"
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        manifest = dict(con.execute("SELECT file_path, status FROM landing_manifest").fetchall())
        assert len(manifest) == 11
        assert manifest["accounts-no-header.csv"] == manifest["canonical/events-no-header.csv"] == "rejected"
        assert con.execute("SELECT count(*) FROM landing_manifest "
                           "WHERE rows_read <> rows_stored + rows_duplicate + rows_quarantined").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] >= 6
        assert con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] >= 20


def test_no_personal_value_in_any_table_of_the_warehouse_or_the_serving_copy(crafted):
    from pipelines.paths import warehouse_path
    from pipelines.serving_file import serving_path

    assert _table_hits(warehouse_path()) == {}
    assert serving_path().exists()
    assert _table_hits(serving_path()) == {}


def test_no_personal_value_in_any_log_line(crafted):
    _, _, dagster_logs, python_logs = crafted
    assert len(dagster_logs) > 50 and any("quarantined" in line for line in dagster_logs) and python_logs
    assert [line for line in dagster_logs if _hits(line)] == []
    assert [line for line in python_logs if _hits(line)] == []


def test_no_personal_value_in_any_report(crafted):
    root, _, _, _ = crafted
    files = [p for p in (root / "reports").rglob("*") if p.is_file()]
    assert len([p for p in files if p.suffix == ".html"]) >= 2
    national = max((p for p in files if p.name == "national.html"), key=lambda p: p.parent.name).read_text()
    assert "Fichiers rejetés" in national and "unrecognized header" in national  # the headerless files
    for path in files:
        assert _hits(path.read_text(encoding="utf-8")) == [], path


def test_excerpts_keep_what_an_operator_needs(crafted):
    from pipelines.paths import warehouse_path

    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        excerpts = {(f, n): (r, json.loads(e) if e else None) for f, n, r, e in con.execute(
            "SELECT file_path, line_number, reason, excerpt FROM quarantine").fetchall()}
        errors = dict(con.execute("SELECT file_path, error FROM landing_manifest WHERE error IS NOT NULL").fetchall())
    reason, unknown_structure = excerpts[("entcore/events.jsonl", 2)]
    assert reason == "unknown structure (not in structures.csv)"
    assert unknown_structure["structures"] == ["b0a9c1d2-0000-4000-8000-00000000dead"]
    assert unknown_structure["module"] == "Presences" and unknown_structure["profile"] == "Relative"
    assert unknown_structure["occurred_at"] == "2025-09-08T18:05:00Z" and unknown_structure["unknown_fields"] == 6  # ip is entcore's
    assert unknown_structure["user"].startswith("pseudo:") and len(unknown_structure["user"]) == 19
    assert excerpts[("entcore/events.jsonl", 7)][1]["occurred_at"] == '"a a"'  # the shape of a name
    assert excerpts[("entcore/events.jsonl", 8)][1] == {"chars": len(
        f'{{"_id": "j8", "userId": "{LOGIN}", "displayName": "{FIRST} {LAST}", "mail": "{EMAIL}", "date": ')}
    # A UAI is shown whole (it names a school); a malformed one by its shape.
    assert excerpts[("canonical/events.csv", 3)] == ("unknown UAI (not in the school reference)", {
        "occurred_at": "2025-09-11T06:01:00Z", "uai": "9999999Z", "user": excerpts[("canonical/events.csv", 3)][1]["user"],
        "event_type": "ACCESS", "profile": "parent", "service": "notes", "channel": "web", "auth_method": None,
        "chars": len(f"c2;2025-09-11T08:01:00+02:00;9999999Z;{LOGIN};parent;notes;ACCESS;web;{FREE_TEXT}")})
    assert excerpts[("canonical/events.parquet", 1)][0] == "PII in profile: name"
    assert excerpts[("canonical/events.parquet", 1)][1]["profile"] == "a a a"
    assert excerpts[("canonical/events.parquet", 2)][1]["uai"] == "9999999999"
    assert excerpts[("ode.csv", 3)][1]["date"] == "a" and excerpts[("ode.csv", 3)][1]["etablissement_chars"] == len(FREE_TEXT)
    assert excerpts[("entcore/structures.csv", 3)][0] == "malformed structure id"
    assert errors["accounts-no-header.csv"] == (
        "unrecognized header: 5 columns, no known format (closest: canonical_csv, which needs channel, "
        "event_id, event_type, occurred_at, profile, service, uai, user_id)")


def test_written_files_and_folders_are_owner_only(crafted):
    root, _, _, _ = crafted
    from pipelines.paths import warehouse_path
    from pipelines.serving_file import serving_path

    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(warehouse_path()) == 0o600 and mode(warehouse_path().parent) == 0o700
    assert mode(serving_path()) == 0o400 and mode(serving_path().parent) == 0o700
    weeks = [p for p in (root / "reports").iterdir() if p.is_dir()]
    assert len(weeks) == 2 and {mode(p) for p in weeks} == {0o700}
    assert {mode(p) for w in weeks for p in w.iterdir()} == {0o600}
    assert mode(root / "users.json") == 0o600
    assert mode(root / "audit" / "dashboard_access.jsonl") == 0o600


def test_file_mode_setting_opens_files_to_the_group(tmp_path, monkeypatch):
    from pipelines.file_modes import private_folder, restrict

    monkeypatch.setenv("ENT_FILE_MODE", "0640")
    folder = private_folder(tmp_path / "out")
    (folder / "f").write_text("x")
    restrict(folder / "f")
    (folder / "ro").write_text("x")
    restrict(folder / "ro", read_only=True)
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (folder, folder / "f", folder / "ro")]
    assert modes == [0o750, 0o640, 0o440]
    for bad in ("0755", "0400", "rw"):
        monkeypatch.setenv("ENT_FILE_MODE", bad)
        with pytest.raises(ValueError, match="ENT_FILE_MODE"):
            restrict(folder / "f")
