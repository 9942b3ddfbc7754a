"""Keyed pseudonymization of user ids (HMAC-SHA256), computed inside DuckDB.

The key comes from ``ENT_PSEUDONYMIZATION_KEY``. Without it, ingestion refuses to run unless demo mode
(``ENT_DEMO=1``) is on, in which case a fixed, public demo key is used and every run says so.
HMAC(K, m) = SHA256((K ⊕ opad) ‖ SHA256((K ⊕ ipad) ‖ m)) (RFC 2104), with the two padded keys passed
as bound BLOB parameters so the key never appears in SQL text or in the warehouse.

The pseudonym keeps the leftmost 128 bits of the HMAC (truncation as in RFC 2104 §5 and RFC 4868's
HMAC-SHA-256-128) and is stored as a UHUGEINT: grouping, joining and windowing on a 16-byte integer is
several times faster than on a 64-character string, and 128 bits leave collisions out of reach
(about 1e-22 for 30 million accounts).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

KEY_ENV = "ENT_PSEUDONYMIZATION_KEY"
DEMO_ENV = "ENT_DEMO"
DEMO_KEY = b"observatoire-ent-demo-key-not-secret"
_BLOCK = 64  # SHA-256 block size in bytes


class MissingKeyError(RuntimeError):
    """No pseudonymization key outside demo mode: nothing may be ingested."""


@dataclass(frozen=True)
class Pseudonymizer:
    ipad: bytes
    opad: bytes
    fingerprint: str
    demo: bool

    @property
    def label(self) -> str:
        return f"{'DEMO key' if self.demo else 'key'} {self.fingerprint}"

    def sql(self, column: str) -> str:
        """SQL expression of the pseudonym (UHUGEINT) of VARCHAR ``column`` (needs parameters $ipad, $opad)."""
        return f"('0x' || {self.hex_sql(column)})::UHUGEINT"

    def hex_sql(self, column: str) -> str:
        """The same 128 bits as 32 lowercase hex digits (the lake's event_id; ``unhex`` gives its 16-byte pseudonym)."""
        return f"left(sha256($opad || unhex(sha256($ipad || encode({column})))), 32)"

    @property
    def params(self) -> dict[str, bytes]:
        return {"ipad": self.ipad, "opad": self.opad}


def demo_mode() -> bool:
    return os.environ.get(DEMO_ENV, "").strip().lower() in {"1", "true", "yes"}


def is_demo_fingerprint(fingerprint: str | None) -> bool:
    """Whether a warehouse's recorded key fingerprint is the public demo key's: its data is demo data."""
    return fingerprint == make_pseudonymizer(DEMO_KEY, demo=True).fingerprint


def pseudonymizer_from_env() -> Pseudonymizer:
    """The pseudonymizer for this process, or MissingKeyError with what to do."""
    raw = os.environ.get(KEY_ENV, "")
    if raw:
        return make_pseudonymizer(raw.encode(), demo=False)
    if demo_mode():
        return make_pseudonymizer(DEMO_KEY, demo=True)
    raise MissingKeyError(
        f"{KEY_ENV} is not set: refusing to ingest, nothing was read. Set it to a secret of at least "
        f"32 characters (the same for every run, or pseudonyms will not link), or set {DEMO_ENV}=1 "
        "to use the public demo key on demo data."
    )


def make_pseudonymizer(key: bytes, demo: bool) -> Pseudonymizer:
    if not demo and len(key) < 32:
        raise MissingKeyError(f"{KEY_ENV} is too short ({len(key)} bytes): use at least 32 characters.")
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
    block = block.ljust(_BLOCK, b"\0")
    return Pseudonymizer(
        ipad=bytes(b ^ 0x36 for b in block),
        opad=bytes(b ^ 0x5C for b in block),
        # A fingerprint that identifies the key without revealing it (for lineage and mismatch checks).
        fingerprint=hashlib.sha256(b"fingerprint:" + key).hexdigest()[:12],
        demo=demo,
    )
