"""Each class of bad input lands in quarantine with its reason; every file balances."""

from __future__ import annotations

from datetime import date


from pipelines.defs.ingest.ingest_file import ingest_landing
from tests.ingest_helpers import NOW, PSEUDO
from tests.ingest_helpers import UAI_A, entcore_line, write_canonical_parquet, write_text



def quarantine(con, file_path: str) -> dict[int, str]:
    return dict(con.execute("SELECT line_number, reason FROM quarantine WHERE file_path = ?", [file_path]).fetchall())


def assert_balanced(con):
    assert con.execute(
        "SELECT count(*) FROM landing_manifest WHERE rows_read <> rows_stored + rows_duplicate + rows_quarantined"
    ).fetchall() == [(0,)]


def test_every_bad_row_class_in_entcore_jsonl(con, tmp_path):
    landing = tmp_path / "landing"
    write_text(landing / "structures.csv", ["structure_id;uai", f"struct-a;{UAI_A}", "struct-z;9999999Z"])
    write_text(landing / "events.jsonl", [
        entcore_line("ok", "u1", "2025-09-10T18:00:00"),                                   # 1 stored
        '{"_id": "broken", "userId": "u1", "date": 17',                                     # 2 malformed
        entcore_line("nostruct", "u1", "2025-09-10T18:00:00", structures=["nope"]),         # 3 unknown structure
        entcore_line("baduai", "u1", "2025-09-10T18:00:00", structures=["struct-z"]),       # 4 structure of an unknown UAI
        entcore_line("future", "u1", "2027-01-10T18:00:00"),                                # 5 future
        entcore_line("old", "u1", "2024-01-10T18:00:00"),                                   # 6 before window
        entcore_line("mail", "u1", "2025-09-10T18:00:00", event_type="ACCESS jean.dupont@gmail.com"),  # 7
        entcore_line("tel", "u1", "2025-09-10T18:00:00", event_type="rappel 06 12 34 56 78"),         # 8
        entcore_line("ine", "u1", "2025-09-10T18:00:00", event_type="ACCESS 123456789AB"),             # 9
        entcore_line("name", "u1", "2025-09-10T18:00:00", event_type="message de Mme Durand"),        # 10
        entcore_line("ok", "u1", "2025-09-10T18:00:00"),                                   # 11 duplicate of 1
        '{"_id": "nouser", "event-type": "ACCESS", "date": 1757527200000, "structures": ["struct-a"]}',  # 12
        '[1, 2, 3]',                                                                        # 13 not an object
    ])
    out = {o.file_path: o for o in ingest_landing(con, landing, PSEUDO, date(2025, 9, 1), NOW)}["events.jsonl"]
    assert (out.rows_read, out.rows_stored, out.rows_duplicate, out.rows_quarantined) == (13, 1, 1, 11)
    reasons = quarantine(con, "events.jsonl")
    assert reasons[2].startswith("malformed line")
    assert reasons[3] == "unknown structure (not in structures.csv)"
    # struct-z points to a UAI absent from the reference: the mapping row itself was quarantined.
    assert reasons[4] == "unknown structure (not in structures.csv)"
    assert ("structures.csv", "unknown UAI (not in the school reference)") in con.execute(
        "SELECT file_path, reason FROM quarantine").fetchall()
    assert reasons[5] == "timestamp in the future"
    assert reasons[6].startswith("timestamp before the first weekly partition")
    assert reasons[7] == "PII in event_type: e-mail"
    assert reasons[8] == "PII in event_type: phone number"
    assert reasons[9] == "PII in event_type: INE"
    assert reasons[10] == "PII in event_type: name"
    assert reasons[12] == "missing user id"
    assert reasons[13].startswith("malformed line")
    excerpts = " ".join(e for (e,) in con.execute("SELECT excerpt FROM quarantine").fetchall())
    assert "jean.dupont@gmail.com" not in excerpts and "06 12 34 56 78" not in excerpts and "Durand" not in excerpts
    assert_balanced(con)


def test_bad_rows_in_csv_formats(con, tmp_path):
    landing = tmp_path / "landing"
    write_text(landing / "events.csv", [
        "event_id;occurred_at;uai;user_id;profile;service;event_type;channel",
        f"e1;2025-09-09T08:00:00Z;{UAI_A};u1;parent;notes;ACCESS;web",
        f"e2;pas une date;{UAI_A};u1;parent;notes;ACCESS;web",
        "e3;2025-09-09T08:00:00Z;035010;u1;parent;notes;ACCESS;web",
        f'e4;2025-09-09T08:00:00Z;{UAI_A};u1;parent;"notes;ACCESS;web',
        f"e5;2025-09-09T08:00:00Z;{UAI_A};u1;parent",
        "e6;2025-09-09T08:00:00Z;9999999Z;u1;parent;notes;ACCESS;web",
    ])
    write_text(landing / "accounts.csv", [
        "user_id;uai;profile;created_at;activated_at",
        f"u1;{UAI_A};parent;2025-08-20;2025-09-01",
        f"u2;{UAI_A};parent;2025-08-20;2025-08-01",
        f"u3;{UAI_A};parent;le 3 mars;",
    ])
    outcomes = {o.file_path: o for o in ingest_landing(con, landing, PSEUDO, date(2025, 9, 1), NOW)}
    assert (outcomes["events.csv"].rows_stored, outcomes["events.csv"].rows_quarantined) == (1, 5)
    assert (outcomes["accounts.csv"].rows_stored, outcomes["accounts.csv"].rows_quarantined) == (1, 2)
    reasons = con.execute("SELECT file_path, line_number, reason FROM quarantine ORDER BY ALL").fetchall()
    assert reasons == [
        ("accounts.csv", 3, "activated before created"),
        ("accounts.csv", 4, "unparseable created_at"),
        ("events.csv", 3, "missing or unparseable timestamp"),
        ("events.csv", 4, "malformed UAI"),
        ("events.csv", 5, "malformed line: unbalanced quotes"),
        ("events.csv", 6, "malformed line: 5 fields, expected 8"),
        ("events.csv", 7, "unknown UAI (not in the school reference)"),
    ]
    assert_balanced(con)


def test_unreadable_files_are_rejected_whole_and_kept(con, tmp_path):
    landing = tmp_path / "landing"
    write_text(landing / "notes.csv", ["foo;bar", "1;2"])
    write_canonical_parquet(landing / "partial.parquet", [dict(event_id="x", occurred_at="2025-09-09T08:00:00")])
    # a Parquet file lacking canonical columns
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1]}), landing / "other.parquet")
    outcomes = {o.file_path: o for o in ingest_landing(con, landing, PSEUDO, date(2025, 9, 1), NOW)}
    assert outcomes["notes.csv"].status == "rejected" and "unrecognized header" in outcomes["notes.csv"].error
    assert outcomes["other.parquet"].status == "rejected" and "lacks canonical columns" in outcomes["other.parquet"].error
    assert (landing / "notes.csv").exists()
    reasons = [r for (r,) in con.execute("SELECT reason FROM quarantine WHERE line_number IS NULL").fetchall()]
    assert len(reasons) == 2 and all(r.startswith("file rejected") for r in reasons)
