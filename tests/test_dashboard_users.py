"""Dashboard accounts (pipelines.users): argon2id hashes in a 0600 file, roles and académies validated,
demo users for ``make demo``, the ``users`` command line, and the audit log."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest

from pipelines import users


@pytest.fixture
def files(ent_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ENT_USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("ENT_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    return tmp_path


def test_add_verify_and_remove(files):
    user = users.add_user("dane-rennes", "academie", "14", "a long enough password")
    assert user.academies == ("14",)
    raw = (files / "users.json").read_text()
    assert "a long enough password" not in raw and "$argon2id$" in raw
    assert stat.S_IMODE(os.stat(files / "users.json").st_mode) == 0o600
    assert users.verify_password("dane-rennes", "a long enough password") == user
    assert users.verify_password("dane-rennes", "wrong password!!") is None
    assert users.verify_password("nobody", "a long enough password") is None
    assert users.remove_user("dane-rennes")
    assert users.verify_password("dane-rennes", "a long enough password") is None
    events = [json.loads(line)["event"] for line in (files / "audit.jsonl").read_text().splitlines()]
    assert events == ["user_added", "user_removed"]


@pytest.mark.parametrize("login, role, academie, password, message", [
    ("x", "national", None, "long enough password", "login"),
    ("dasen", "admin", None, "long enough password", "role"),
    ("dasen", "national", "14", "long enough password", "no --academie"),
    ("dasen", "academie", None, "long enough password", "needs --academie"),
    ("dasen", "academie", "99", "long enough password", "unknown académie"),
    ("dasen", "national", None, "short", "at least 12"),
])
def test_invalid_users_are_refused(files, login, role, academie, password, message):
    with pytest.raises(users.UserError, match=message):
        users.add_user(login, role, academie, password)


def test_role_changes_take_effect_from_the_file(files):
    users.add_user("ia-dasen", "academie", "14", "first password 123")
    assert users.get_user("ia-dasen").academie == "14"
    users.add_user("ia-dasen", "academie", "24", "first password 123", replace=True)
    assert users.get_user("ia-dasen").academie == "24"
    with pytest.raises(users.UserError, match="exists"):
        users.add_user("ia-dasen", "national", None, "first password 123")


def test_password_changes_and_replacements_draw_a_new_session_generation(files):
    first = users.add_user("dane-rennes", "academie", "14", "a long enough password").session_generation
    assert len(first) == 32 and users.get_user("dane-rennes").session_generation == first
    assert users.verify_password("dane-rennes", "a long enough password").session_generation == first
    users.set_password("dane-rennes", "another long password")
    second = users.get_user("dane-rennes").session_generation
    users.add_user("dane-rennes", "academie", "14", "another long password", replace=True)
    third = users.get_user("dane-rennes").session_generation
    assert len({first, second, third}) == 3
    assert "another long password" not in (files / "users.json").read_text()


def test_oidc_identity_maps_through_the_users_file(files):
    users.add_user("dne", "national", None, "password for dne", email="Analyste@Education.gouv.fr")
    assert users.user_by_email("analyste@education.gouv.fr").login == "dne"
    assert users.user_by_email("stranger@example.org") is None


def test_demo_users(files):
    first = users.ensure_demo_users()
    assert {(c["login"], c["role"], c["academie"]) for c in first} == {
        ("demo-national", "national", None), ("demo-academie", "academie", "14")}
    for c in first:
        assert users.verify_password(c["login"], c["password"]).role == c["role"]
    second = users.ensure_demo_users()  # re-running resets the passwords (make demo prints the new ones)
    assert users.verify_password("demo-national", first[0]["password"]) is None
    assert users.verify_password("demo-national", second[0]["password"]) is not None


def test_command_line(files, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("password from stdin\n"))
    assert users.main(["users", "add", "dane-creteil", "--role", "academie", "--academie", "24",
                       "--password-stdin"]) == 0
    assert users.verify_password("dane-creteil", "password from stdin").academie == "24"
    assert users.main(["users", "list"]) == 0
    assert "dane-creteil\tacademie\tacadémie 24" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert users.main(["users", "add", "other", "--role", "national", "--password-stdin"]) == 2
    assert users.main(["users", "demo"]) == 0
    out = capsys.readouterr().out
    assert "dashboard login: demo-national  password: " in out and "demo-academie" in out
    assert users.main(["users", "remove", "dane-creteil"]) == 0
