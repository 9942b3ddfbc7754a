"""Failed-login lockout kept in a small SQLite file that every dashboard process shares.

An attempt is *reserved* before its (slow, argon2) password check, in one ``BEGIN IMMEDIATE``
transaction that purges old rows, refuses when the login or the client address is locked or already
has enough failed or pending attempts, and records the new attempt as pending. Twenty parallel
attempts on one login therefore check at most ``MAX_FAILURES`` passwords; the others are refused
before any check. The attempt's outcome is recorded afterwards: a success deletes the login's
failures, a failure that brings a count to its limit locks that login (or address) for
``LOCK_SECONDS``. A pending attempt whose outcome never arrives (the process died) counts as a failure
until it is older than the window.

The state survives restarts (it is a file) and stays small: rows older than ``WINDOW_SECONDS`` and
expired locks are deleted at every reservation, so the file holds at most fifteen minutes of attempts.

Addresses: ``None`` when the client address is unknown (Streamlit reports none for loopback clients),
in which case only the per-login limit applies. An address gets a higher limit than a login because a
school's or a rectorat's network reaches the dashboard through one address.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

MAX_FAILURES = 5  # per login, within WINDOW_SECONDS
ADDRESS_MAX_FAILURES = 20  # per client address (every login), within WINDOW_SECONDS
WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60
LOGIN_MAX_LENGTH = 128  # what is stored of a typed login (valid logins have at most 64 characters)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL,
    address TEXT,
    at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'failed'))
);
CREATE INDEX IF NOT EXISTS attempts_login ON attempts (login, at);
CREATE INDEX IF NOT EXISTS attempts_address ON attempts (address, at);
CREATE TABLE IF NOT EXISTS locks (
    subject TEXT PRIMARY KEY,  -- 'login:<login>' or 'address:<address>'
    until REAL NOT NULL
);
"""


class Lockout:
    """The lockout state in the SQLite file ``path`` (created 0600 on first use)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))  # SQLite's -wal/-shm files copy this mode
        con = self._connect()
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
        finally:
            con.close()

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: every transaction below is an explicit BEGIN IMMEDIATE ... COMMIT.
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        # WAL without an fsync per commit: never corrupt; a power cut may forget the last few attempts.
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def _transaction(self, work: Callable[[sqlite3.Connection, float], object]) -> object:
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")  # takes the write lock now: check-and-record is atomic across processes
            try:
                result = work(con, self._clock())
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            return result
        finally:
            con.close()

    def reserve(self, login: str, address: str | None) -> int | None:
        """Reserve one password check for ``login`` from ``address``: its id, or None when locked."""
        login = login[:LOGIN_MAX_LENGTH]

        def work(con: sqlite3.Connection, now: float) -> int | None:
            con.execute("DELETE FROM attempts WHERE at <= ?", (now - WINDOW_SECONDS,))
            con.execute("DELETE FROM locks WHERE until <= ?", (now,))
            if _locked(con, login, address, now) or _counts_reached(con, login, address, now):
                return None
            return con.execute("INSERT INTO attempts (login, address, at, state) VALUES (?, ?, ?, 'pending')",
                               (login, address, now)).lastrowid

        return self._transaction(work)

    def record(self, attempt: int, *, success: bool) -> None:
        """The outcome of a reserved attempt: a success clears the login's failures, a failure may lock."""

        def work(con: sqlite3.Connection, now: float) -> None:
            row = con.execute("SELECT login, address FROM attempts WHERE id = ?", (attempt,)).fetchone()
            if row is None:  # purged meanwhile
                return
            login, address = row
            if success:
                con.execute("DELETE FROM attempts WHERE login = ? AND (state = 'failed' OR id = ?)", (login, attempt))
                return
            con.execute("UPDATE attempts SET state = 'failed' WHERE id = ?", (attempt,))
            login_failures, address_failures = _counts(con, login, address, now, states=("failed",))
            if login_failures >= MAX_FAILURES:
                _lock(con, f"login:{login}", now)
            if address is not None and address_failures >= ADDRESS_MAX_FAILURES:
                _lock(con, f"address:{address}", now)

        self._transaction(work)


def _locked(con: sqlite3.Connection, login: str, address: str | None, now: float) -> bool:
    subjects = [f"login:{login}"] + ([f"address:{address}"] if address is not None else [])
    marks = ",".join("?" * len(subjects))
    return con.execute(f"SELECT 1 FROM locks WHERE subject IN ({marks}) AND until > ?",
                       (*subjects, now)).fetchone() is not None


def _counts(con: sqlite3.Connection, login: str, address: str | None, now: float,
            states: tuple[str, ...] = ("pending", "failed")) -> tuple[int, int]:
    """Attempts of ``login`` and of ``address`` within the window, in ``states``."""
    marks = ",".join("?" * len(states))
    since = now - WINDOW_SECONDS
    by_login = con.execute(f"SELECT count(*) FROM attempts WHERE login = ? AND at > ? AND state IN ({marks})",
                           (login, since, *states)).fetchone()[0]
    by_address = 0 if address is None else con.execute(
        f"SELECT count(*) FROM attempts WHERE address = ? AND at > ? AND state IN ({marks})",
        (address, since, *states)).fetchone()[0]
    return by_login, by_address


def _counts_reached(con: sqlite3.Connection, login: str, address: str | None, now: float) -> bool:
    by_login, by_address = _counts(con, login, address, now)
    return by_login >= MAX_FAILURES or by_address >= ADDRESS_MAX_FAILURES


def _lock(con: sqlite3.Connection, subject: str, now: float) -> None:
    con.execute("INSERT INTO locks (subject, until) VALUES (?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET until = max(until, excluded.until)",
                (subject, now + LOCK_SECONDS))
