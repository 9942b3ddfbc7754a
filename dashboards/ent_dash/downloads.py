"""CSV downloads that only the logged-in browser which asked for one can fetch.

A table's CSV is built only when the user clicks (``st.download_button`` given a callable): no media
URL exists before an authenticated click, and the session token is checked again at the click (a
session revoked or expired since the page was drawn gets nothing). The click grants a ticket for those
bytes to the session's browser, which ``download_guard.DownloadGuard`` checks before Streamlit serves
``/media/<hash>.csv``.

Both halves fail closed: without XSRF protection (``ent-equity dashboard`` turns it on) no browser can
be identified, and without the guard (``app.py`` run directly) nothing would check the tickets; either
way the click builds nothing and the download fails.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
from streamlit.web.server.starlette.starlette_server_config import XSRF_COOKIE_NAME

from ent_dash import auth, download_guard
from pipelines import users as accounts


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """';' separated, UTF-8 with BOM (what French spreadsheet software opens as is)."""
    return frame.to_csv(sep=";", index=False).encode("utf-8-sig")


def csv_on_click(frame: pd.DataFrame, filename: str) -> Callable[[], bytes]:
    """The ``data`` callable of a download button, for this session (its token) and its browser (its cookie).

    Called during the page's run; the callable it returns runs later, outside any script run, at the click."""
    return csv_builder(frame, filename, st.session_state.get(auth.TOKEN_KEY),
                       download_guard.browser_key(st.context.cookies.get(XSRF_COOKIE_NAME)))


def csv_builder(frame: pd.DataFrame, filename: str, token: str | None,
                browser: bytes | None) -> Callable[[], bytes]:
    """Builds the CSV when called if ``token`` still stands for a user, and grants ``browser`` its ticket."""

    def build() -> bytes:
        principal = auth.session_principal(token)  # raises SessionRejected: the download fails
        refusal = ("no XSRF cookie (server.enableXsrfProtection is off)" if browser is None
                   else None if download_guard.installed() else "no download guard (serve dashboards/server.py)")
        if refusal:
            accounts.audit("download_refused", login=principal.login, file=filename, reason=refusal)
            raise PermissionError(refusal)
        data = csv_bytes(frame)
        download_guard.tickets.grant(data, browser)
        accounts.audit("download", login=principal.login, file=filename)
        return data

    return build
