"""Event ids are stored only as keyed HMACs (issue #12): of the source id, or of the row when it has none."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.defs.ingest.ingest_file import LegacyWarehouseError, ingest_landing
from pipelines.defs.ingest.pseudonymize import make_pseudonymizer
from tests.ingest_helpers import NOW, PSEUDO, TEST_KEY, UAI_A, event_key, write_text

WINDOW = date(2025, 9, 1)


def write_unidentified_parquet(path, minutes: list[int], user: str = "parent-raw-id-31") -> None:
    """Canonical Parquet rows without event_id, one per minute after 2025-09-08 17:00 UTC."""
    n = len(minutes)
    pq.write_table(pa.table({
        "event_id": pa.array([None] * n, pa.string()),
        "occurred_at": pa.array([datetime(2025, 9, 8, 17, m, tzinfo=timezone.utc) for m in minutes]),
        "uai": [UAI_A] * n, "user_id": [user] * n, "profile": ["parent"] * n, "service": ["notes"] * n,
        "event_type": ["ACCESS"] * n, "channel": ["web"] * n,
    }), path)


def row_key(minute: int, user: str = "parent-raw-id-31") -> int:
    epoch_us = int(datetime(2025, 9, 8, 17, minute, tzinfo=timezone.utc).timestamp() * 1_000_000)
    message = "row:" + "|".join([str(epoch_us), UAI_A, user, "parent", "notes", "ACCESS"])
    return int.from_bytes(hmac.new(TEST_KEY, message.encode(), hashlib.sha256).digest()[:16], "big")


def test_source_and_derived_event_ids_are_keyed_hmacs(con, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_unidentified_parquet(landing / "no-ids.parquet", [0])
    write_text(landing / "events.csv", ["event_id;occurred_at;uai;user_id;profile;service;event_type;channel",
                                        f"3f6c0e1a-77d2-4b8e-9c41-0d5e2f7a9b13;2025-09-09T08:00:00Z;{UAI_A};u1;parent;notes;ACCESS;web"])
    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    stored = {f: e for f, e in con.execute("SELECT source_file, event_id FROM events").fetchall()}
    assert stored == {"no-ids.parquet": row_key(0), "events.csv": event_key("3f6c0e1a-77d2-4b8e-9c41-0d5e2f7a9b13")}
    # Nothing unkeyed to match a guessed id against: the old 'sha256:' ids and raw ids are gone.
    assert con.execute("SELECT typeof(event_id) FROM events LIMIT 1").fetchall() == [("UHUGEINT",)]


def test_another_key_gives_other_event_ids(tmp_path, con):
    import duckdb

    from pipelines.defs.reference.schools import build_schools
    from tests.conftest import REFERENCE_DIR

    landing = tmp_path / "landing"
    landing.mkdir()
    write_unidentified_parquet(landing / "no-ids.parquet", [0, 1])
    ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    other = duckdb.connect(str(tmp_path / "other.duckdb"))
    build_schools(other, REFERENCE_DIR)
    ingest_landing(other, landing, make_pseudonymizer(b"another-key-that-is-long-enough-987654", False), WINDOW, NOW,
                   lake_root=tmp_path / "other-lake")  # a warehouse and its lake go together
    ids = lambda c: {e for (e,) in c.execute("SELECT event_id FROM events").fetchall()}  # noqa: E731
    assert len(ids(con)) == len(ids(other)) == 2 and not ids(con) & ids(other)


def test_derived_ids_deduplicate_across_files_and_reruns(con, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_unidentified_parquet(landing / "a.parquet", [0, 1, 1])  # the same row twice
    (a,) = ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert (a.rows_stored, a.rows_duplicate) == (2, 1)
    write_unidentified_parquet(landing / "b.parquet", [0, 1, 2])  # an overlapping later export
    (b,) = ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert (b.rows_stored, b.rows_duplicate) == (1, 2)
    assert ingest_landing(con, landing, PSEUDO, WINDOW, NOW) == []
    assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchall() == [(3, 3)]


def test_a_warehouse_with_unkeyed_event_ids_is_refused(con, tmp_path):
    con.execute("CREATE TABLE staged_events (event_id VARCHAR NOT NULL, occurred_at TIMESTAMPTZ)")
    con.execute("INSERT INTO staged_events VALUES ('sha256:ab12', now())")
    landing = tmp_path / "landing"
    write_text(landing / "events.csv", ["event_id;occurred_at;uai;user_id;profile;service;event_type;channel"])
    with pytest.raises(LegacyWarehouseError, match="built before keyed event ids.*Rebuild it from landing/"):
        ingest_landing(con, landing, PSEUDO, WINDOW, NOW)
    assert con.execute("SELECT event_id FROM staged_events").fetchall() == [("sha256:ab12",)]
