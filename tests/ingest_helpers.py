"""Builders of small landing files in every format the product reads (for the ingestion tests)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.defs.ingest.pseudonymize import make_pseudonymizer

UAI_A = "0350103X"  # an école of Ille-et-Vilaine (académie de Rennes)
NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)  # the clock of the ingestion tests
TEST_KEY = b"a-test-key-that-is-long-enough-123456"
PSEUDO = make_pseudonymizer(TEST_KEY, demo=False)


def event_key(source_id: str) -> int:
    """The stored event_id of a source event id under PSEUDO, by Python's own HMAC (cross-checks DuckDB's)."""
    return int.from_bytes(hmac.new(TEST_KEY, b"id:" + source_id.encode(), hashlib.sha256).digest()[:16], "big")


def ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts).replace(tzinfo=timezone.utc).timestamp() * 1000)


def write_canonical_parquet(path: Path, rows: list[dict]) -> Path:
    columns = ["event_id", "occurred_at", "uai", "user_id", "profile", "service", "event_type", "channel", "auth_method"]
    table = pa.table(
        {c: [r.get(c) for r in rows] for c in columns}
    ).set_column(1, "occurred_at", pa.array([datetime.fromisoformat(r["occurred_at"]).replace(tzinfo=timezone.utc) for r in rows], pa.timestamp("us", tz="UTC")))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def write_text(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def entcore_line(_id: str, user: str, date: str, module: str = "Presences", event_type: str = "ACCESS",
                 profil: str = "Relative", structures: list[str] | None = None, ua: str = "Mozilla/5.0 (X11)") -> str:
    return json.dumps({
        "_id": _id, "event-type": event_type, "module": module, "date": ms(date), "userId": user,
        "profil": profil, "structures": structures if structures is not None else ["struct-a"], "ua": ua,
        "deviceType": "Desktop", "sessionId": f"s-{_id}",
    })
