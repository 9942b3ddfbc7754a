"""Dashboard accounts: a local JSON file of users with argon2id password hashes, and the access audit log.

The file (``ENT_USERS_FILE``, default ``$ENT_DATA_DIR/users.json``, mode 0600, rewritten atomically)
maps a login to a role and, for an académie user, the académie it may see::

    {"version": 1, "users": {"dane-rennes": {"role": "academie", "academie": "14",
                                             "password_hash": "$argon2id$...", "email": null,
                                             "session_generation": "3f1c...", "created_at": "...",
                                             "disabled": false}}}

- ``national``: every académie; ``academie``: its own académie only (code of the académie, e.g. 14).
- ``session_generation``: a random value drawn anew whenever the user is added, replaced or gets a new
  password. The dashboard signs it into every session token and compares it at every run, so a password
  change (or removing the user and adding it again) ends the sessions opened before.
- ``email`` (optional) maps an OIDC identity (``st.login``) to the same account: the identity provider
  proves who the person is, this file still decides what they see.
- Failed logins are counted in ``login_attempts.sqlite3`` beside the users file (the dashboard's lockout).
- Logins, refusals and scope violations are appended as JSON lines to ``$ENT_DATA_DIR/audit/dashboard_access.jsonl``
  (``ENT_AUDIT_LOG`` overrides); passwords are never written there.

Command line (wired as ``ent-equity users ...``)::

    ent-equity users add LOGIN --role national|academie [--academie CODE] [--email E] [--password-stdin]
    ent-equity users remove LOGIN | list | passwd LOGIN [--password-stdin] | demo
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import re
import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipelines.file_modes import file_mode, restrict
from pipelines.paths import data_dir, reference_dir

USERS_ENV = "ENT_USERS_FILE"
AUDIT_ENV = "ENT_AUDIT_LOG"
ROLES = ("national", "academie")
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
DEMO_NATIONAL = "demo-national"
DEMO_ACADEMIE = "demo-academie"
DEMO_ACADEMIE_CODE = "14"  # Rennes: the département 35 annuaire gives real REP / REP+ flags

_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
_lock = threading.Lock()


@cache
def _dummy_hash() -> str:
    """Verified against for unknown logins, so that "no such user" costs as much time as "wrong password".
    Hashed by the first verification whatever its login (not on import: ``ent-equity run`` imports this)."""
    return _hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user could not be added or changed (bad login, role, académie or password)."""


@dataclass(frozen=True)
class User:
    login: str
    role: str
    academie: str | None
    email: str | None = None
    disabled: bool = False
    session_generation: str = ""  # users written before generations existed have none until their next passwd

    @property
    def academies(self) -> tuple[str, ...] | None:
        """Académies this user may see (None: all)."""
        return None if self.role == "national" else (self.academie,)


def users_file() -> Path:
    return Path(os.environ.get(USERS_ENV) or data_dir() / "users.json").resolve()


def login_attempts_path() -> Path:
    """The dashboard's failed-login store (SQLite), beside the users file."""
    return users_file().with_name("login_attempts.sqlite3")


def audit_log_path() -> Path:
    return Path(os.environ.get(AUDIT_ENV) or data_dir() / "audit" / "dashboard_access.jsonl").resolve()


def known_academies() -> dict[str, str]:
    """Académie code -> name from the reference mapping (empty when the file is absent)."""
    path = reference_dir() / "departement_academie_mapping.csv"
    if not path.exists():
        return {}
    import csv

    with path.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    return {r["code_academie"]: r["libelle_academie"] for r in rows if r.get("code_academie")}


def _load(path: Path) -> dict:
    if not path.exists():
        return {"version": 1, "users": {}}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        raise UserError(f"{path}: not a users file")
    return data


def _save(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".users.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        restrict(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _to_user(login: str, record: dict) -> User:
    return User(login=login, role=record.get("role"), academie=record.get("academie"),
                email=record.get("email"), disabled=bool(record.get("disabled")),
                session_generation=record.get("session_generation") or "")


def _new_generation() -> str:
    return secrets.token_hex(16)


def _validate(login: str, role: str, academie: str | None) -> str | None:
    if not LOGIN_RE.match(login or ""):
        raise UserError("login: 2 to 64 characters among a-z 0-9 . _ @ -, starting with a letter or digit")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role == "national":
        if academie:
            raise UserError("a national user has no --academie")
        return None
    if not academie:
        raise UserError("an académie user needs --academie CODE")
    academie = academie.strip().zfill(2)
    known = known_academies()
    if known and academie not in known:
        raise UserError(f"unknown académie code {academie!r}; known: {', '.join(sorted(known))}")
    return academie


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")


def add_user(login: str, role: str, academie: str | None = None, password: str = "", *, email: str | None = None,
             replace: bool = False, path: Path | None = None) -> User:
    """Create (or with ``replace``, overwrite) a user; the password is stored as an argon2id hash."""
    path = path or users_file()
    academie = _validate(login, role, academie)
    _check_password(password)
    with _lock:
        data = _load(path)
        if login in data["users"] and not replace:
            raise UserError(f"user {login!r} exists (use passwd, or remove it first)")
        data["users"][login] = {
            "role": role, "academie": academie, "email": (email or None) and email.strip().lower(),
            "password_hash": _hasher.hash(password), "session_generation": _new_generation(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "disabled": False,
        }
        _save(path, data)
    audit("user_added", login=login, role=role, academie=academie)
    return _to_user(login, data["users"][login])


def set_password(login: str, password: str, *, path: Path | None = None) -> None:
    path = path or users_file()
    _check_password(password)
    with _lock:
        data = _load(path)
        if login not in data["users"]:
            raise UserError(f"no user {login!r}")
        data["users"][login]["password_hash"] = _hasher.hash(password)
        data["users"][login]["session_generation"] = _new_generation()  # ends the sessions opened before
        _save(path, data)
    audit("password_changed", login=login)


def remove_user(login: str, *, path: Path | None = None) -> bool:
    path = path or users_file()
    with _lock:
        data = _load(path)
        existed = data["users"].pop(login, None) is not None
        if existed:
            _save(path, data)
    if existed:
        audit("user_removed", login=login)
    return existed


def list_users(*, path: Path | None = None) -> list[User]:
    data = _load(path or users_file())
    return [_to_user(login, record) for login, record in sorted(data["users"].items())]


def get_user(login: str, *, path: Path | None = None) -> User | None:
    """The user as the file says now (role and académie are always re-read from the file)."""
    record = _load(path or users_file())["users"].get(login)
    if not record:
        return None
    user = _to_user(login, record)
    if user.disabled or user.role not in ROLES or (user.role == "academie" and not user.academie):
        return None
    return user


def user_by_email(email: str, *, path: Path | None = None) -> User | None:
    """The enabled user whose ``email`` matches an OIDC identity (case-insensitive)."""
    email = (email or "").strip().lower()
    if not email:
        return None
    for login, record in _load(path or users_file())["users"].items():
        if (record.get("email") or "").lower() == email:
            return get_user(login, path=path)
    return None


def verify_password(login: str, password: str, *, path: Path | None = None) -> User | None:
    """The user if ``password`` matches its hash, else None (same cost for an unknown login)."""
    dummy = _dummy_hash()  # before the lookup: the first call costs the same for a known or unknown login
    path = path or users_file()
    data = _load(path)
    record = data["users"].get(login or "")
    try:
        _hasher.verify(record["password_hash"] if record else dummy, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if not record:
        return None
    if _hasher.check_needs_rehash(record["password_hash"]):
        with _lock:
            fresh = _load(path)
            if login in fresh["users"]:
                fresh["users"][login]["password_hash"] = _hasher.hash(password)
                _save(path, fresh)
    return get_user(login, path=path)


def audit(event: str, **fields) -> None:
    """Append one JSON line to the access audit log (never raises: logging must not break a login)."""
    entry = {"ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "event": event}
    entry.update({k: v for k, v in fields.items() if v is not None})
    try:
        path = audit_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, file_mode())
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError as error:  # pragma: no cover - disk full, read-only folder
        print(f"audit log: {error}", file=sys.stderr)


def ensure_demo_users(*, path: Path | None = None, academie: str = DEMO_ACADEMIE_CODE) -> list[dict]:
    """Create or reset the two demo users with fresh random passwords; return their credentials.

    For ``make demo`` only (synthetic data): print what this returns so the person can log in.
    """
    credentials = []
    for login, role, code in ((DEMO_NATIONAL, "national", None), (DEMO_ACADEMIE, "academie", academie)):
        password = secrets.token_urlsafe(12)
        add_user(login, role, code, password, replace=True, path=path)
        credentials.append({"login": login, "password": password, "role": role, "academie": code})
    return credentials


# --- command line ---------------------------------------------------------------------------------


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Confirmation : ") != first:
        raise UserError("the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    """Handler of ``ent-equity users <action>``."""
    try:
        if args.action == "add":
            user = add_user(args.login, args.role, args.academie, _read_password(args), email=args.email)
            scope = "all académies" if user.role == "national" else f"académie {user.academie}"
            print(f"user {user.login} added ({user.role}, {scope}) in {users_file()}")
        elif args.action == "passwd":
            set_password(args.login, _read_password(args))
            print(f"password of {args.login} changed; its open dashboard sessions are ended")
        elif args.action == "remove":
            print(f"user {args.login} removed, its open dashboard sessions with it" if remove_user(args.login)
                  else f"no user {args.login}")
        elif args.action == "list":
            for u in list_users():
                scope = "toutes les académies" if u.role == "national" else f"académie {u.academie}"
                state = "\tdisabled" if u.disabled else ""
                print(f"{u.login}\t{u.role}\t{scope}\t{u.email or ''}{state}")
        elif args.action == "demo":
            for c in ensure_demo_users():
                scope = "toutes les académies" if c["role"] == "national" else f"académie {c['academie']}"
                print(f"dashboard login: {c['login']}  password: {c['password']}  ({scope})")
    except UserError as error:
        print(f"ent-equity users: {error}", file=sys.stderr)
        return 2
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``users`` (add / passwd / remove / list / demo) on the ``ent-equity`` parser."""
    parser = subparsers.add_parser("users", help="manage dashboard accounts (local users file, argon2 hashes)")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a dashboard user")
    add.add_argument("login")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--academie", help="académie code (role academie), e.g. 14 for Rennes")
    add.add_argument("--email", help="OIDC identity (e-mail claim) mapped to this account")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first stdin line")
    passwd = actions.add_parser("passwd", help="change a user's password")
    passwd.add_argument("login")
    passwd.add_argument("--password-stdin", action="store_true")
    remove = actions.add_parser("remove", help="remove a user")
    remove.add_argument("login")
    actions.add_parser("list", help="list users (no hashes)")
    actions.add_parser("demo", help="create/reset the demo users with random passwords and print them")
    parser.set_defaults(func=cmd_users)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ent-equity")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
