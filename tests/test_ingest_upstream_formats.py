"""Real upstream ENT exports (issue #13), written from the field lists of edificeio/entcore and
edificeio/statistics: mongoexport Extended JSON, the statistics module's CSV export, PostgreSQL
``events.access_events`` dumps (zone-less local dates), mobile-app and connector events, non-visit events.
Every line is stored, a duplicate or quarantined with a reason; weeks are the same under any TZ."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from pipelines.defs.ingest.ingest_file import ingest_landing
from tests.conftest import REPO_ROOT
from tests.ingest_helpers import NOW, PSEUDO, UAI_A, event_key, write_text

WINDOW = date(2025, 9, 1)
S_A = "5c0d8f4e-2b1a-4c3d-9e8f-7a6b5c4d3e2f"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
RAW_NEW_USER = "e2b7c9d1-6f3a-4b8e-a1c2-d3e4f5a6b7c8"


def uai_b() -> str:
    """A collège of Finistère (any real school but UAI_A)."""
    import duckdb

    from pipelines.defs.reference.schools import build_schools
    from tests.conftest import REFERENCE_DIR

    with duckdb.connect() as con:
        build_schools(con, REFERENCE_DIR)
        return con.execute("SELECT min(uai) FROM schools WHERE departement_code = '29' AND level = 'college'"
                           ).fetchall()[0][0]


def _doc(_id, event_type, module, date_value, user="u-parent-1", profil="Relative", ua=CHROME, **extra) -> str:
    doc = {"_id": _id, "event-type": event_type, "module": module, "date": date_value}
    if user is not None:
        doc["userId"] = user
    if profil is not None:
        doc["profil"] = profil
    doc["structures"] = [S_A]
    if ua is not None:
        doc["ua"] = ua
    return json.dumps(doc | extra)


def upstream_landing(landing, school_b: str) -> None:
    write_text(landing / "entcore" / "structures.csv", ["structure_id;uai;name", f"{S_A};{UAI_A};École A"])
    write_text(landing / "accounts.csv", [
        "user_id;uai;profile;created_at;activated_at",
        f"u-parent-1;{UAI_A};Relative;2025-08-25;2025-09-01",
        f"u-parent-2;{UAI_A};Relative;2025-08-25;2025-09-02",
        f"u-parent-3;{UAI_A};Relative;2025-08-25;",                  # activated by an ACTIVATION event
        f"u-pg-1;{school_b};Teacher;2025-08-25;2025-09-01",
    ])
    lines = [
        # mongoexport --jsonFormat=canonical: a $numberLong date; a UUID _id
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c01", "LOGIN", "Auth", {"$numberLong": "1762756933218"}),
        # older mongoexport: {"$date": {"$numberLong": ...}}; an ObjectId _id; Zimbra mail from the Android app
        _doc({"$oid": "6911a2c5f1e2d3c4b5a69788"}, "ACCESS", "Zimbra", {"$date": {"$numberLong": "1762757000000"}},
             ua="okhttp/4.9.2"),
        # relaxed mode: {"$date": ISO string}; 'Worksapce' of older apps; a Latin-1 byte in the user agent
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c03", "ACCESS", "Worksapce", {"$date": "2025-11-10T08:02:13.218Z"},
             user="u-student-1", profil="Student", ua="Mozilla/5.0 (Linux; Android 14; T\u00e9l\u00e9phone)"),
        # a CONNECTOR event to Pronote (CAS)
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c04", "CONNECTOR", "Cas", 1762760040000, user="u-parent-2",
             service=f"https://{UAI_A.lower()}.index-education.net/pronote/parent.html", **{
                 "connector-type": "Cas", "cas-type": "PronoteRegisteredService"}),
        # a mobile LOGIN: the app's OAuth client id as module, a bare okhttp user agent
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c05", "LOGIN", "app-e", 1762760000000, user="u-parent-2",
             ua="okhttp/4.12.0"),
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c06", "ACTIVATION", "Auth", 1762768800000, user="u-parent-3"),
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c07", "CREATE", "Blog", 1762765200000),   # 09:00, not a visit
        json.dumps({"_id": "0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c08", "event-type": "OAUTH", "date": 1762765500000,
                    "userId": "u-parent-1"}),
        json.dumps({"_id": "0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c09", "event-type": "CREATE_USER", "module": "Feeder",
                    "date": 1762776000000, "new-user": RAW_NEW_USER}),
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c10", "ACCESS", "Mindmap", 1762772400000, user="u-guest-1",
             profil="Guest", ua=None),
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c11", "ACCESS", "Blog", 1762757400000, profil=None),
        _doc("0f2e4c6a-8b1d-4e3f-a5c7-9d1b3f5a7c01", "LOGIN", "Auth", {"$numberLong": "1762756933218"}),
    ]
    write_text(landing / "entcore" / "events.json", lines, encoding="cp1252")
    # The statistics module's export: UTF-8 BOM, ';', every field quoted, LocalDateTime dates.
    write_text(landing / "export-stats-accounts.csv", [
        '"Établissement";"UAI";"Date";"Profil";"Connexions";"Visiteurs uniques";"Comptes chargés";"Comptes activés"',
        f'"École élémentaire A";"{UAI_A}";"2025-11-10T00:00";"Parent";"120";"45";"300";"210"',
        f'"École élémentaire A";"{UAI_A}";"2025-11-10T00:00";"Élève";"600";"500";"200";"150"',
        f'"École élémentaire A";"{UAI_A}";"2025-11-11T00:00";"Invité";"3";"2";"5";"4"',
    ], encoding="utf-8-sig")
    # COPY events.access_events TO STDOUT CSV HEADER: dates without zone, in the ENT server's local time.
    write_text(landing / "access_events.csv", [
        "id,date,profile,module,event_type,ua,device_type,platform_id,user_id",
        f"7a0c1e2f-3d4b-4a5c-8e6f-0a1b2c3d4e01,2025-11-09 23:30:00,Teacher,Auth,LOGIN,{CHROME.replace(',', '')},Desktop,p1,u-pg-1",
        "7a0c1e2f-3d4b-4a5c-8e6f-0a1b2c3d4e02,2025-11-09 23:31:10.5,Teacher,Conversation,ACCESS,,,p1,u-pg-1",
        "7a0c1e2f-3d4b-4a5c-8e6f-0a1b2c3d4e03,2025-11-10 00:10:00,Teacher,Zimbra,ACCESS,okhttp/4.12.0,Mobile,p1,u-pg-1",
        "7a0c1e2f-3d4b-4a5c-8e6f-0a1b2c3d4e04,2025-11-10 00:15:00,Personnel,Auth,ACTIVATION,,,p1,u-pg-2",
    ])


@pytest.fixture
def landed(con, tmp_path):
    landing = tmp_path / "landing"
    school_b = uai_b()
    upstream_landing(landing, school_b)
    outcomes = {o.file_path: o for o in ingest_landing(con, landing, PSEUDO, WINDOW, NOW)}
    return con, outcomes, school_b


def test_every_line_is_stored_duplicate_or_quarantined_with_a_reason(landed):
    con, out, _ = landed
    balance = {f: (o.rows_read, o.rows_stored, o.rows_duplicate, o.rows_quarantined) for f, o in out.items()}
    assert balance["entcore/events.json"] == (12, 9, 1, 2)
    assert balance["export-stats-accounts.csv"] == (3, 2, 0, 1)
    assert balance["access_events.csv"] == (4, 3, 0, 1)
    reasons = dict(con.execute("SELECT file_path || ':' || line_number, reason FROM quarantine").fetchall())
    assert reasons == {
        "entcore/events.json:8": "missing structures",
        "entcore/events.json:9": "missing user id (CREATE_USER: an account creation, not a visit)",
        "export-stats-accounts.csv:3": "more unique visitors than loaded accounts",
        "access_events.csv:5": "user not in any accounts snapshot: school unknown",
    }
    assert out["entcore/events.json"].rows_mapped_to_autre == 2  # Mindmap; the ACCESS without profil
    assert con.execute("SELECT count(*) FROM events WHERE event_id = ?",
                       [event_key("6911a2c5f1e2d3c4b5a69788")]).fetchall() == [(1,)]


def test_dates_services_and_channels(landed):
    con, _, school_b = landed
    rows = con.execute(
        "SELECT strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g'), week_start::VARCHAR, uai, "
        "profile::VARCHAR, service::VARCHAR, event_type, channel::VARCHAR FROM events ORDER BY occurred_at"
    ).fetchall()
    assert rows == [
        ("2025-11-09 22:30:00.000", "2025-11-03", school_b, "enseignant", "connexion", "LOGIN", "web"),
        ("2025-11-09 22:31:10.500", "2025-11-03", school_b, "enseignant", "messagerie", "ACCESS", "other"),
        ("2025-11-09 23:10:00.000", "2025-11-10", school_b, "enseignant", "messagerie", "ACCESS", "mobile_app"),
        ("2025-11-10 06:42:13.218", "2025-11-10", UAI_A, "parent", "connexion", "LOGIN", "web"),
        ("2025-11-10 06:43:20.000", "2025-11-10", UAI_A, "parent", "messagerie", "ACCESS", "mobile_app"),
        ("2025-11-10 06:50:00.000", "2025-11-10", UAI_A, "autre", "blog", "ACCESS", "web"),
        ("2025-11-10 07:33:20.000", "2025-11-10", UAI_A, "parent", "connexion", "LOGIN", "mobile_app"),
        ("2025-11-10 07:34:00.000", "2025-11-10", UAI_A, "parent", "notes", "CONNECTOR", "web"),
        ("2025-11-10 08:02:13.218", "2025-11-10", UAI_A, "eleve", "documents", "ACCESS", "web"),
        ("2025-11-10 09:00:00.000", "2025-11-10", UAI_A, "parent", "blog", "CREATE", "web"),
        ("2025-11-10 10:00:00.000", "2025-11-10", UAI_A, "parent", "connexion", "ACTIVATION", "web"),
        ("2025-11-10 11:00:00.000", "2025-11-10", UAI_A, "autre", "autre", "ACCESS", "other"),
    ]
    assert con.execute(
        "SELECT profile::VARCHAR, unique_visitors, accounts_loaded, stat_date::VARCHAR FROM ode_statistics ORDER BY 1"
    ).fetchall() == [("autre", 2, 5, "2025-11-11"), ("parent", 45, 300, "2025-11-10")]


def test_login_and_access_counts_per_school_and_profile_by_hand(landed):
    con, _, school_b = landed
    counts = {(u, p, t): n for u, p, t, n in con.execute(
        "SELECT uai, profile::VARCHAR, event_type, count(*) FROM events "
        "WHERE event_type IN ('LOGIN', 'ACCESS') GROUP BY ALL").fetchall()}
    assert counts == {
        (UAI_A, "parent", "LOGIN"): 2,       # u-parent-1 on the web, u-parent-2 from the app
        (UAI_A, "parent", "ACCESS"): 1,      # Zimbra
        (UAI_A, "eleve", "ACCESS"): 1,       # Worksapce
        (UAI_A, "autre", "ACCESS"): 2,       # the Guest; the ACCESS without profil
        (school_b, "enseignant", "LOGIN"): 1,
        (school_b, "enseignant", "ACCESS"): 2,
    }


def test_non_visit_events_open_no_session_and_activation_dates_an_account(landed, tmp_path):
    import duckdb

    from pipelines.defs.event_models.assets import PERIOD_DIMENSIONS
    from pipelines.sql_files import load_sql
    from pipelines.lake.dimensions import export_dimensions
    from tests.lake.dbt_run import run_dbt

    con, _, _ = landed
    warehouse = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    con.close()  # the dbt model `sessions` (pipelines_dbt/) writes it into the warehouse, over the lake
    export_dimensions(Path(warehouse), tmp_path / "lake", ("schools",))  # sessions read each school's zone
    run_dbt(["build", "--select", "+sessions"], "duckdb", tmp_path / "dbt", tmp_path / "lake",
            {"first_week": "2025-11-03", "last_week": "2025-11-10"}, duckdb_path=warehouse)
    con = duckdb.connect(warehouse)
    sessions = con.execute(
        "SELECT a.user_pseudo IS NOT NULL, count(*) FROM sessions s "
        "LEFT JOIN accounts a ON a.user_pseudo = s.user_pseudo AND a.profile = 'parent' GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    # Parents: u-parent-1 (LOGIN + Zimbra + the profil-less ACCESS; its CREATE at 09:00 opens nothing),
    # u-parent-2 (app LOGIN + Pronote); u-parent-3 has only an ACTIVATION. Others: student, guest, teacher (2).
    assert sessions == [(False, 4), (True, 2)]
    con.execute(load_sql("pipelines.defs.indicators", "periods"), {"first_day": "2025-09-01"})
    con.close()  # the dbt model adoption_school reads the dimensions exported from it, and writes it
    export_dimensions(Path(warehouse), tmp_path / "lake", PERIOD_DIMENSIONS)
    run_dbt(["build", "--select", "adoption_school"], "duckdb", tmp_path / "dbt", tmp_path / "lake",
            {"first_week": "2025-11-03", "last_week": "2025-11-10"}, duckdb_path=warehouse)
    con = duckdb.connect(warehouse)
    activated = dict(con.execute(
        f"SELECT period, activated FROM adoption_school "
        f"WHERE uai = '{UAI_A}' AND profile = 'parent' AND period_type = 'week' AND period IN ('2025-W45', '2025-W46')"
        ).fetchall())
    assert activated == {"2025-W45": 2, "2025-W46": 3}


def test_raw_new_user_id_is_nowhere(landed):
    con, _, _ = landed
    for table, column in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                     "WHERE database_name = current_database()").fetchall():
        assert not con.execute(f'SELECT count(*) FROM "{table}" WHERE contains("{column}"::VARCHAR, ?)',
                               [RAW_NEW_USER]).fetchall()[0][0], (table, column)


_CHILD = """
import json, sys
from pathlib import Path
import duckdb
from pipelines.defs.ingest.ingest_file import ingest_landing
from pipelines.defs.reference.schools import build_schools
from tests.conftest import REFERENCE_DIR
from tests.ingest_helpers import NOW, PSEUDO
from tests.test_ingest_upstream_formats import WINDOW, upstream_landing
root = Path(sys.argv[1])
upstream_landing(root / "landing", sys.argv[2])
con = duckdb.connect(str(root / "w.duckdb"))
build_schools(con, REFERENCE_DIR)
ingest_landing(con, root / "landing", PSEUDO, WINDOW, NOW)
print(json.dumps({
    "events": con.execute("SELECT event_id::VARCHAR, epoch_us(occurred_at), week_start::VARCHAR FROM events "
                          "ORDER BY 1").fetchall(),
    "ode": con.execute("SELECT uai, stat_date::VARCHAR, profile::VARCHAR FROM ode_statistics ORDER BY ALL").fetchall(),
    "quarantine": con.execute("SELECT file_path, line_number, reason FROM quarantine ORDER BY ALL").fetchall(),
    "session_tz": con.execute("SELECT current_setting('TimeZone')").fetchall()[0][0],
}))
"""


def test_the_same_weeks_under_any_host_time_zone(tmp_path):
    school_b = uai_b()
    results = {}
    for tz in ("UTC", "Europe/Paris", "America/Los_Angeles"):
        root = tmp_path / tz.replace("/", "_")
        env = {k: v for k, v in os.environ.items() if k != "ENT_SOURCE_TIMEZONE"} | {"TZ": tz, "ENT_LAKE_DIR": str(root / "lake")}
        out = subprocess.run([sys.executable, "-c", _CHILD, str(root), school_b],
                             cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
        results[tz] = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["Europe/Paris"]["session_tz"] == "Europe/Paris"  # DuckDB follows the host...
    sessions = {tz: r.pop("session_tz") for tz, r in results.items()}
    assert results["UTC"] == results["Europe/Paris"] == results["America/Los_Angeles"], sessions  # ...not the data
    weeks = {w for _, _, w in results["UTC"]["events"]}
    assert weeks == {"2025-11-03", "2025-11-10"}
    sunday_login = datetime(2025, 11, 9, 22, 30, tzinfo=timezone.utc).timestamp() * 1_000_000
    assert [w for _, t, w in results["UTC"]["events"] if t == sunday_login] == ["2025-11-03"]
