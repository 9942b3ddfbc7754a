"""Ingestion guarantees: idempotent, atomic, no raw identifier anywhere, no key no ingest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date

import pytest

from pipelines.defs.ingest import ingest_file as ingest_module
from pipelines.defs.ingest.ingest_file import KeyMismatchError, ingest_landing
from pipelines.defs.ingest.pseudonymize import MissingKeyError, make_pseudonymizer, pseudonymizer_from_env
from tests.ingest_helpers import NOW, PSEUDO
from tests.ingest_helpers import UAI_A, entcore_line, write_canonical_parquet, write_text

WINDOW = date(2025, 9, 1)
RAW_IDS = ["7f1c2a9e-0b7d-4c1e-9a55-3e2f1d0c9b8a", "parent-jdupont-42", "pg-user-77"]
COUNTED = ["landing_manifest", "quarantine", "events", "accounts", "entcore_structures"]


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "landing"
    write_text(root / "structures.csv", ["structure_id;uai", f"struct-a;{UAI_A}"])
    write_text(root / "accounts.csv", ["user_id;uai;profile;created_at;activated_at"]
               + [f"{u};{UAI_A};parent;2025-08-20;2025-09-01" for u in RAW_IDS])
    write_text(root / "events.jsonl", [
        entcore_line(f"j{i}", RAW_IDS[i % 2], f"2025-09-{10 + i}T18:00:00") for i in range(6)
    ] + [
        '{"_id": "bad", "userId": "' + RAW_IDS[0] + '", "date": ',  # malformed, carries a raw id
        entcore_line("q1", RAW_IDS[1], "2025-09-10T18:00:00", event_type="appel 06 12 34 56 78"),
    ])
    write_text(root / "access.csv", [
        "id,date,profile,module,event_type,ua,device_type,platform_id,user_id",
        f"a1,2025-09-11 19:00:00+00,Relative,Presences,ACCESS,Mozilla/5.0 (X11),Desktop,p1,{RAW_IDS[2]}",
        f"a2,2025-09-11 19:00:00+00,Relative,Presences,ACCESS,Mozilla/5.0 (X11),Desktop,p1,{RAW_IDS[2]}-x",
    ])
    write_canonical_parquet(root / "events.parquet", [
        dict(event_id=f"p{i}", occurred_at="2025-10-06T17:30:00", uai=UAI_A if i else "9999999Z",
             user_id=RAW_IDS[i % 3], profile="parent", service="notes", event_type="ACCESS", channel="web")
        for i in range(4)
    ])
    return root


def counts(con) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in COUNTED}


def test_ingesting_twice_changes_nothing(con, landing):
    first = ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert len(first) == 5
    before = counts(con)
    assert ingest_landing(con, landing, PSEUDO, WINDOW, NOW) == []
    assert counts(con) == before


def test_renamed_copy_is_a_duplicate(con, landing):
    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    before = counts(con)
    shutil.copy(landing / "events.jsonl", landing / "events-copy-2.jsonl")
    (out,) = ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert out.status == "duplicate_content" and out.rows_read == out.rows_duplicate == 8
    after = counts(con)
    assert after["events"] == before["events"] and after["quarantine"] == before["quarantine"]
    assert after["landing_manifest"] == before["landing_manifest"] + 1


def test_overlapping_new_file_only_adds_new_events(con, landing):
    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    before = counts(con)["events"]
    write_text(landing / "more.jsonl", [entcore_line("j0", RAW_IDS[0], "2025-09-10T18:00:00"),
                                        entcore_line("new", RAW_IDS[0], "2025-09-20T18:00:00")])
    (out,) = ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert (out.rows_stored, out.rows_duplicate) == (1, 1)
    assert counts(con)["events"] == before + 1


def test_crash_mid_file_leaves_the_warehouse_unchanged(con, landing, monkeypatch):
    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    before = counts(con)
    write_text(landing / "late.jsonl", [entcore_line(f"late{i}", RAW_IDS[0], "2025-09-21T18:00:00") for i in range(3)])

    def crash(*args, **kwargs):  # rows are already inserted when the manifest is written
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(ingest_module, "_write_manifest", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert counts(con) == before
    monkeypatch.undo()
    (out,) = ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert out.rows_stored == 3 and counts(con)["events"] == before["events"] + 3


def test_no_raw_user_id_in_any_varchar_column(con, landing):
    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert counts(con)["quarantine"] >= 3  # malformed line, PII row, unknown user, unknown UAI
    columns = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
    ).fetchall()
    assert len(columns) > 30
    for table, column in columns:
        for raw in RAW_IDS:
            hits = con.execute(f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [raw]).fetchall()[0][0]
            assert hits == 0, f"raw id {raw!r} found in {table}.{column}"


def test_no_key_outside_demo_mode_fails_before_reading(monkeypatch):
    monkeypatch.delenv("ENT_PSEUDONYMIZATION_KEY", raising=False)
    monkeypatch.delenv("ENT_DEMO", raising=False)
    with pytest.raises(MissingKeyError, match="ENT_PSEUDONYMIZATION_KEY is not set"):
        pseudonymizer_from_env()
    monkeypatch.setenv("ENT_PSEUDONYMIZATION_KEY", "short")
    with pytest.raises(MissingKeyError, match="too short"):
        pseudonymizer_from_env()
    monkeypatch.setenv("ENT_DEMO", "1")
    monkeypatch.delenv("ENT_PSEUDONYMIZATION_KEY")
    assert pseudonymizer_from_env().demo


def test_another_key_is_refused(con, landing):
    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    other = make_pseudonymizer(b"another-key-that-is-long-enough-654321", demo=False)
    write_text(landing / "more.jsonl", [entcore_line("z", RAW_IDS[0], "2025-09-10T18:00:00")])
    with pytest.raises(KeyMismatchError):
        ingest_landing(con, landing, other, WINDOW, NOW)


_KILLED_AFTER_RENAME = """
import os, sys
from pathlib import Path
import duckdb
from pipelines.defs.ingest import lake
from pipelines.defs.ingest.ingest_file import ingest_landing
from tests.ingest_helpers import NOW, PSEUDO
from tests.test_ingest_guarantees import WINDOW
publish = lake.publish
def publish_then_die(*args, **kwargs):  # the files are in their week folders, the manifest is not committed
    publish(*args, **kwargs)
    os._exit(9)
lake.publish = publish_then_die
ingest_landing(duckdb.connect(sys.argv[1]), Path(sys.argv[2]), PSEUDO, WINDOW, NOW)
"""


def test_a_kill_between_the_lake_rename_and_the_manifest_commit_is_recovered(con, landing, tmp_path):
    import duckdb

    from tests.conftest import REPO_ROOT

    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    before = counts(con)
    committed = {p for (p,) in con.execute("SELECT path FROM lake_files").fetchall()}
    con.close()
    write_text(landing / "late.jsonl", [entcore_line(f"late{i}", RAW_IDS[0], "2025-09-21T18:00:00") for i in range(3)])
    killed = subprocess.run([sys.executable, "-c", _KILLED_AFTER_RENAME, str(tmp_path / "w.duckdb"), str(landing)],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr[-3000:]
    lake = tmp_path / "lake" / "events"
    on_disk = {f"{p.parent.name}/{p.name}" for p in lake.glob("*/*.parquet")}
    assert len(on_disk - committed) == 1  # the orphan: renamed into its week, not in the manifest
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        # Nothing of the killed file is in the manifest; its orphan is on disk until the next recovery
        # (every ingest run and every `events` week starts with one), which readers come after.
        assert {t: n for t, n in counts(con).items() if t != "events"} == {t: n for t, n in before.items() if t != "events"}
        assert con.execute("SELECT sum(rows) FROM lake_files").fetchall() == [(before["events"],)]
        (out,) = ingest_landing(con, landing, PSEUDO, WINDOW, NOW)  # recovery, then the file again
        assert (out.file_path, out.status, out.rows_stored) == ("late.jsonl", "ingested", 3)
        assert counts(con) == before | {"landing_manifest": before["landing_manifest"] + 1,
                                        "events": before["events"] + 3}
        listed = {p for (p,) in con.execute("SELECT path FROM lake_files").fetchall()}
        assert {f"{p.parent.name}/{p.name}" for p in lake.glob("*/*.parquet")} == listed
        assert not list((tmp_path / "lake" / "_staging").glob("*"))
        assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall() == [
            (before["events"] + 3, before["events"] + 3)]
    finally:
        con.close()


def test_a_lake_belongs_to_one_warehouse(con, landing, tmp_path):
    import duckdb

    from pipelines.defs.ingest.lake import LakeMismatchError
    from pipelines.defs.reference.schools import build_schools
    from tests.conftest import REFERENCE_DIR

    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    before = counts(con)
    files = sorted((tmp_path / "lake" / "events").glob("*/*.parquet"))
    other = duckdb.connect(str(tmp_path / "other.duckdb"))
    build_schools(other, REFERENCE_DIR)
    with pytest.raises(LakeMismatchError, match="holds the events of another warehouse"):
        ingest_landing(other, landing, PSEUDO, WINDOW, NOW)  # the same ENT_LAKE_DIR: its recovery would delete them
    assert sorted((tmp_path / "lake" / "events").glob("*/*.parquet")) == files and files
    assert counts(con) == before


def test_a_corrupt_file_in_a_batch_is_rejected_alone(con, landing, tmp_path):
    """New event files are ingested in one batch; a file that breaks the batch is rejected, the others stored."""
    good = sorted(landing.rglob("*.parquet"))
    assert good, "the fixture lands canonical Parquet files"
    (landing / "zz_corrupt.parquet").write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    outcomes = {o.file_path: o for o in ingest_landing(con, landing, PSEUDO, WINDOW, NOW)}
    assert outcomes["zz_corrupt.parquet"].status == "rejected"
    stored = [o for o in outcomes.values() if o.format == "canonical_parquet" and o.status == "ingested"]
    assert stored and all(o.rows_stored > 0 for o in stored)
    in_lake = dict(con.execute("SELECT source_file, sum(rows) FROM lake_files GROUP BY ALL").fetchall())
    assert {o.file_path: o.rows_stored for o in stored} == {f: in_lake[f] for f in in_lake if f.endswith(".parquet")}


def test_an_empty_batch_stages_nothing(con, tmp_path):
    """stage_event_rows of no file: no counts, no SQL (it built an empty UNION ALL: a parser error)."""
    from pipelines.defs.ingest.stage_events import stage_event_rows

    assert stage_event_rows(con, [], "canonical_parquet", PSEUDO, WINDOW, NOW, tmp_path / "lake") == []
