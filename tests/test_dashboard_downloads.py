"""CSV downloads (ent_dash.downloads, ent_dash.download_guard): the CSV is built at the click only for a
session that still stands for a user, and a ticket admits those bytes for that browser only, for a minute."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from pipelines import users
from tests.audit_log import read_audit_log

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))

from ent_dash import auth, download_guard, downloads  # noqa: E402
from ent_dash.download_guard import TICKET_SECONDS, Tickets  # noqa: E402
from streamlit.web.server.starlette.starlette_app_utils import generate_xsrf_token_string  # noqa: E402

FRAME = pd.DataFrame({"Département": ["Ille-et-Vilaine", "Finistère"],
                      "Taux d'usage actif": ["41,6 %", "secret statistique"]})
BROWSER = b"b" * 16
OTHER_BROWSER = b"o" * 16


@pytest.fixture
def files(ent_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ENT_USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("ENT_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setattr(download_guard, "tickets", Tickets())
    monkeypatch.setattr(download_guard, "_installed", threading.Event())
    download_guard.DownloadGuard(app=None)  # as server.py puts it in front of Streamlit
    return tmp_path


@pytest.fixture
def token(files):
    return auth.issue_token(users.add_user("dane-rennes", "academie", "14", "download-password-1"))


def test_the_click_builds_the_csv_and_admits_this_browser_only(token):
    data = downloads.csv_builder(FRAME, "departements.csv", token, BROWSER)()
    assert data.startswith("\ufeffDépartement;Taux d'usage actif".encode()) and b"secret statistique" in data
    assert download_guard.tickets.admits(data, BROWSER)
    assert not download_guard.tickets.admits(data, OTHER_BROWSER)
    assert not download_guard.tickets.admits(data, None)
    assert not download_guard.tickets.admits(data + b"x", BROWSER)
    assert [(e["event"], e["login"], e["file"]) for e in read_audit_log() if e["event"] == "download"] == [
        ("download", "dane-rennes", "departements.csv")]


@pytest.mark.parametrize("change", ["passwd", "remove"])
def test_a_session_revoked_since_the_page_was_drawn_gets_nothing(token, change):
    build = downloads.csv_builder(FRAME, "departements.csv", token, BROWSER)
    if change == "passwd":
        users.set_password("dane-rennes", "download-password-2")
    else:
        users.remove_user("dane-rennes")
    with pytest.raises(auth.SessionRejected):
        build()
    assert len(download_guard.tickets) == 0


def test_no_session_no_cookie_or_no_guard_gets_nothing(token, monkeypatch):
    with pytest.raises(auth.SessionRejected):
        downloads.csv_builder(FRAME, "x.csv", None, BROWSER)()
    with pytest.raises(PermissionError, match="XSRF"):
        downloads.csv_builder(FRAME, "x.csv", token, None)()
    monkeypatch.setattr(download_guard, "_installed", threading.Event())  # app.py served without server.py
    with pytest.raises(PermissionError, match="guard"):
        downloads.csv_builder(FRAME, "x.csv", token, BROWSER)()
    assert len(download_guard.tickets) == 0
    assert [e["reason"] for e in read_audit_log() if e["event"] == "download_refused"] == [
        "no XSRF cookie (server.enableXsrfProtection is off)", "no download guard (serve dashboards/server.py)"]


def test_tickets_expire_and_are_purged():
    now = [0.0]
    tickets = Tickets(clock=lambda: now[0])
    for i in range(50):
        tickets.grant(f"csv {i}".encode(), BROWSER)
    assert len(tickets) == 50 and tickets.admits(b"csv 7", BROWSER)
    now[0] = TICKET_SECONDS - 1
    assert tickets.admits(b"csv 7", BROWSER)  # the browser's own check and its download both pass
    now[0] = TICKET_SECONDS + 1
    assert not tickets.admits(b"csv 7", BROWSER) and len(tickets) == 0


def test_the_browser_is_the_xsrf_token_not_its_masked_cookie():
    first, again = generate_xsrf_token_string(BROWSER), generate_xsrf_token_string(BROWSER)
    assert first != again  # Streamlit re-masks the cookie at every page load
    assert download_guard.browser_key(first) == download_guard.browser_key(again) == BROWSER
    assert download_guard.browser_key(None) is None and download_guard.browser_key("garbage") is None
