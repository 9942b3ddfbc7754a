"""Every input format round-trips into the warehouse, whatever its encoding and separator."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from pipelines.defs.ingest.ingest_file import ingest_landing
from tests.ingest_helpers import NOW, PSEUDO
from tests.ingest_helpers import UAI_A, entcore_line, event_key, write_canonical_parquet, write_text

WINDOW = date(2025, 9, 1)


def ingest(con, landing):
    return {o.file_path: o for o in ingest_landing(con, landing, PSEUDO, WINDOW, NOW)}


def test_canonical_parquet_round_trip(con, tmp_path):
    landing = tmp_path / "landing"
    write_canonical_parquet(landing / "canonical" / "e.parquet", [
        dict(event_id="p1", occurred_at="2025-09-08T17:30:00", uai=UAI_A, user_id="user-1", profile="parent",
             service="notes", event_type="ACCESS", channel="mobile_app", auth_method="educonnect"),
        dict(event_id="p2", occurred_at="2025-09-08T17:29:00", uai=UAI_A, user_id="user-1", profile="parent",
             service="connexion", event_type="LOGIN", channel="mobile_app", auth_method=None),
    ])
    out = ingest(con, landing)["canonical/e.parquet"]
    assert (out.format, out.rows_read, out.rows_stored) == ("canonical_parquet", 2, 2)
    rows = con.execute(
        "SELECT event_id, uai, profile, service, event_type, channel, auth_method, week_start::VARCHAR, user_pseudo "
        "FROM events ORDER BY occurred_at DESC"
    ).fetchall()
    assert rows[0][:8] == (event_key("p1"), UAI_A, "parent", "notes", "ACCESS", "mobile_app", "educonnect", "2025-09-08")
    assert rows[1][3] == "connexion" and rows[1][6] is None
    assert rows[0][8] == rows[1][8] and 0 < rows[0][8] < 2**128


def test_canonical_csv_with_comma_separator(con, tmp_path):
    landing = tmp_path / "landing"
    write_text(landing / "events.csv", [
        "event_id,occurred_at,uai,user_id,profile,service,event_type,channel,auth_method",
        f"c1,2025-09-09T08:00:00+02:00,{UAI_A},u9,eleve,cahier_de_textes,ACCESS,web,",
        f'c2,2025-09-09T08:01:00+02:00,{UAI_A},u9,eleve,"messagerie",ACCESS,web,ent_local',
    ])
    out = ingest(con, landing)["events.csv"]
    assert (out.format, out.rows_stored, out.rows_quarantined) == ("canonical_csv", 2, 0)
    assert con.execute("SELECT occurred_at FROM events WHERE event_id = ?", [event_key("c1")]).fetchall()[0][0] == \
        datetime(2025, 9, 9, 6, 0, tzinfo=timezone.utc)


def test_entcore_jsonl_with_structures_mapping(con, tmp_path):
    landing = tmp_path / "landing"
    write_text(landing / "entcore" / "structures.csv", ["structure_id;uai;name", f"struct-a;{UAI_A};École A"])
    write_text(landing / "entcore" / "events.jsonl", [
        entcore_line("j1", "u1", "2025-09-10T18:00:00", module="Auth", event_type="LOGIN",
                     ua="ONE Pocket/4.6.2 (Android 14; SM-A546B) okhttp/4.12.0"),
        entcore_line("j2", "u1", "2025-09-10T18:01:00", module="Homeworks"),
        entcore_line("j3", "u1", "2025-09-10T18:02:00", module="Conversation", structures=["unknown", "struct-a"]),
    ])
    out = ingest(con, landing)["entcore/events.jsonl"]
    assert (out.format, out.rows_stored) == ("entcore_jsonl", 3)
    got = dict(con.execute("SELECT event_id, service || '/' || channel FROM events").fetchall())
    assert got == {event_key("j1"): "connexion/mobile_app", event_key("j2"): "cahier_de_textes/web",
                   event_key("j3"): "messagerie/web"}


def test_access_events_dump_resolves_school_through_accounts(con, tmp_path):
    landing = tmp_path / "landing"
    write_text(landing / "accounts.csv", ["user_id;uai;profile;created_at;activated_at",
                                          f"pg-user;{UAI_A};Relative;2025-08-25;2025-09-01"])
    write_text(landing / "access_events.csv", [
        "id,date,profile,module,event_type,ua,device_type,platform_id,user_id",
        "a1,2025-09-11 19:00:00+00,Relative,Presences,ACCESS,Mozilla/5.0 (X11),Desktop,p1,pg-user",
        "a2,2025-09-11 19:00:00+00,Relative,Presences,ACCESS,Mozilla/5.0 (X11),Desktop,p1,ghost",
    ])
    out = ingest(con, landing)
    assert out["accounts.csv"].rows_stored == 1
    events = out["access_events.csv"]
    assert (events.format, events.rows_stored, events.rows_quarantined) == ("access_events_csv", 1, 1)
    assert con.execute("SELECT uai, profile, service FROM events").fetchall() == [(UAI_A, "parent", "vie_scolaire")]
    assert "school unknown" in con.execute("SELECT reason FROM quarantine").fetchall()[0][0]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_ode_statistics_in_french_encodings(con, tmp_path, encoding):
    landing = tmp_path / "landing"
    write_text(landing / "ode.csv", [
        "Établissement;UAI;Date;Profil;Connexions;Visiteurs uniques;Comptes chargés;Comptes activés",
        f"École élémentaire Léon Blum;{UAI_A};08/09/2025;Parent;1 234;456;800;530",
        f"École élémentaire Léon Blum;{UAI_A};08/09/2025;Élève;99;40;120;100",
    ], encoding=encoding)
    out = ingest(con, landing)["ode.csv"]
    expected_encoding = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp1252": "cp1252"}[encoding]
    assert (out.format, out.rows_stored, out.rows_quarantined) == ("ode_statistics_csv", 2, 0)
    assert con.execute("SELECT encoding FROM landing_manifest").fetchall()[0][0] == expected_encoding
    assert con.execute(
        "SELECT profile, connexions, unique_visitors, accounts_loaded, accounts_activated, stat_date::VARCHAR "
        "FROM ode_statistics ORDER BY profile"
    ).fetchall() == [("parent", 1234, 456, 800, 530, "2025-09-08"), ("eleve", 99, 40, 120, 100, "2025-09-08")]


def test_context_and_workshops(con, tmp_path):
    landing = tmp_path / "landing"
    write_text(landing / "context" / "ctx.csv", ["uai;teacher_ent_training_rate;household_equipment_rate",
                                                 f"{UAI_A};0,42;0.9", "0000000A;0.1;0.2"])
    write_text(landing / "context" / "ws.csv", ["uai;workshop_date;participants", f"{UAI_A};2025-11-20;12"])
    out = ingest(con, landing)
    assert out["context/ctx.csv"].rows_stored == 1 and out["context/ctx.csv"].rows_quarantined == 1
    assert con.execute("SELECT teacher_ent_training_rate FROM school_context").fetchall() == [(0.42,)]
    assert con.execute("SELECT workshop_date::VARCHAR, participants FROM mediation_workshops").fetchall() == [("2025-11-20", 12)]


def test_unknown_module_and_profile_map_to_autre_and_are_counted(con, tmp_path):
    landing = tmp_path / "landing"
    write_text(landing / "entcore" / "structures.csv", ["structure_id;uai", f"struct-a;{UAI_A}"])
    write_text(landing / "entcore" / "events.jsonl", [
        entcore_line("x1", "u1", "2025-09-10T18:00:00", module="Mindmap", profil="Martian"),
    ])
    out = ingest(con, landing)["entcore/events.jsonl"]
    assert out.rows_stored == 1 and out.rows_mapped_to_autre == 1
    assert con.execute("SELECT profile, service FROM events").fetchall() == [("autre", "autre")]
    assert con.execute("SELECT rows_mapped_to_autre FROM landing_manifest WHERE format = 'entcore_jsonl'").fetchall() == [(1,)]
