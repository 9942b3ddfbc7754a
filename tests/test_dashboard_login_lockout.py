"""The dashboard's failed-login lockout (ent_dash.lockout): atomic across threads (a reservation before
every argon2 check), persistent across restarts (a SQLite file beside the users file), per login and per
client address, bounded in time."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
import threading
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from pipelines import users
from tests.audit_log import read_audit_log

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))

from ent_dash import auth, lockout  # noqa: E402
from ent_dash.lockout import ADDRESS_MAX_FAILURES, LOCK_SECONDS, MAX_FAILURES, WINDOW_SECONDS, Lockout  # noqa: E402


@pytest.fixture
def files(ent_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ENT_USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("ENT_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    users.add_user("dane-rennes", "academie", "14", "the right password")
    return tmp_path


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingHasher(PasswordHasher):
    """argon2 as the users module uses it, counting the password checks."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0
        self._count_lock = threading.Lock()

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        with self._count_lock:
            self.checks += 1
        return super().verify(hash, password)


def _parallel_wrong_passwords(n: int) -> list[str]:
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append("ok" if auth.authenticate("dane-rennes", "a wrong password", None) else "wrong")
        except auth.LoginLocked:
            outcomes.append("locked")

    threads = [threading.Thread(target=attempt) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_parallel_wrong_passwords_check_at_most_the_limit(files, monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(users, "_hasher", hasher)
    outcomes = _parallel_wrong_passwords(20)
    assert hasher.checks == MAX_FAILURES  # the other 15 were refused before any argon2 check
    assert outcomes.count("wrong") == MAX_FAILURES and outcomes.count("locked") == 20 - MAX_FAILURES
    # Locked now, even with the right password, and without checking it.
    with pytest.raises(auth.LoginLocked):
        auth.authenticate("dane-rennes", "the right password", None)
    assert hasher.checks == MAX_FAILURES
    events = [e["event"] for e in read_audit_log()]
    assert events.count("login_failed") == MAX_FAILURES and events.count("login_refused") == 20 - MAX_FAILURES + 1


def test_the_lock_survives_a_restart(files):
    store = Lockout(users.login_attempts_path())
    for _ in range(MAX_FAILURES):
        store.record(store.reserve("dane-rennes", None), success=False)
    restarted = Lockout(users.login_attempts_path())  # a new process: nothing kept in memory
    assert restarted.reserve("dane-rennes", None) is None
    with pytest.raises(auth.LoginLocked):
        auth.authenticate("dane-rennes", "the right password", None)
    assert users.login_attempts_path() == files / "login_attempts.sqlite3"
    assert stat.S_IMODE(os.stat(users.login_attempts_path()).st_mode) == 0o600


def test_lock_lasts_fifteen_minutes_after_the_fifth_failure(tmp_path):
    clock = Clock()
    store = Lockout(tmp_path / "attempts.sqlite3", clock=clock)
    for minute in range(MAX_FAILURES):
        clock.now += 60
        store.record(store.reserve("x", None), success=False)
    fifth = clock.now
    clock.now = fifth + LOCK_SECONDS - 1
    assert store.reserve("x", None) is None
    clock.now = fifth + LOCK_SECONDS + 1
    assert store.reserve("x", None) is not None


def test_a_success_clears_the_logins_failures(tmp_path):
    store = Lockout(tmp_path / "attempts.sqlite3")
    for _ in range(MAX_FAILURES - 1):
        store.record(store.reserve("x", None), success=False)
    store.record(store.reserve("x", None), success=True)
    for _ in range(MAX_FAILURES - 1):
        store.record(store.reserve("x", None), success=False)
    assert store.reserve("x", None) is not None  # four failures since the success: not locked


def test_an_attempt_without_outcome_counts_as_a_failure(tmp_path):
    store = Lockout(tmp_path / "attempts.sqlite3")
    pending = [store.reserve("x", None) for _ in range(MAX_FAILURES)]
    assert all(pending) and store.reserve("x", None) is None


def test_an_address_trying_many_logins_is_locked(tmp_path):
    store = Lockout(tmp_path / "attempts.sqlite3")
    sprayer, other = "203.0.113.9", "198.51.100.7"
    for i in range(ADDRESS_MAX_FAILURES):
        store.record(store.reserve(f"login-{i}", sprayer), success=False)
    assert store.reserve("never-tried", sprayer) is None  # the address, whatever the login
    assert store.reserve("never-tried", other) is not None  # the login itself is not locked
    assert store.reserve("never-tried", None) is not None


def test_the_store_keeps_only_the_window(tmp_path):
    clock = Clock()
    path = tmp_path / "attempts.sqlite3"
    store = Lockout(path, clock=clock)
    for i in range(40):  # arbitrary login names, as an attacker would type them
        store.record(store.reserve(f"random-name-{i}" + "x" * 500, None), success=False)
    for _ in range(MAX_FAILURES):
        store.record(store.reserve("locked-one", None), success=False)
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT count(*) FROM attempts").fetchone()[0] == 40 + MAX_FAILURES
        assert con.execute("SELECT max(length(login)) FROM attempts").fetchone()[0] == lockout.LOGIN_MAX_LENGTH
    clock.now += max(WINDOW_SECONDS, LOCK_SECONDS) + 1
    assert store.reserve("someone", None) is not None
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT count(*) FROM attempts").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM locks").fetchone()[0] == 0
