"""Who may fetch a ``/media/`` file: tickets binding downloaded bytes to one browser, and the ASGI
middleware that checks them in front of Streamlit (``server.py``).

Streamlit serves a download's bytes from its in-memory media store at ``/media/<hash>.csv`` to any
HTTP client, session or not. ``DownloadGuard`` answers 404 to every ``/media/`` request that holds no
live ticket for those exact bytes (SHA-256) and that browser, identified by the token of its
``_streamlit_xsrf`` cookie (random per browser; Streamlit checks its websocket handshake against it).
Tickets are granted by the logged-in session at the click (``ent_dash.downloads``) and last
``TICKET_SECONDS``: a client without the browser's cookie gets nothing, and the URL is dead for
everyone a minute later.

This module stays light (no dashboard pages, no caches): ``server.py`` imports it before Streamlit's
runtime exists.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from streamlit import config, runtime
from streamlit.url_util import make_url_path
from streamlit.web.server.starlette.starlette_app_utils import decode_xsrf_token_string
from streamlit.web.server.starlette.starlette_server_config import XSRF_COOKIE_NAME

from pipelines import users as accounts

TICKET_SECONDS = 60
_installed = threading.Event()  # set once a DownloadGuard stands in front of this process's Streamlit


def browser_key(cookie: str | None) -> bytes | None:
    """The browser's XSRF token (the cookie's value is re-masked at every page load, the token is not)."""
    token, _ = decode_xsrf_token_string(cookie or "")
    return token or None


def installed() -> bool:
    """Whether requests to this process pass through a DownloadGuard (not so under streamlit.testing)."""
    return _installed.is_set()


class Tickets:
    """Which browser may fetch which bytes, until when (in this process's memory, like the media store)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[tuple[str, bytes], float] = {}
        self._lock = threading.Lock()

    def _purge(self, now: float) -> None:
        for key in [k for k, until in self._until.items() if until <= now]:
            del self._until[key]

    def grant(self, data: bytes, browser: bytes) -> None:
        with self._lock:
            now = self._clock()
            self._purge(now)
            self._until[(hashlib.sha256(data).hexdigest(), browser)] = now + TICKET_SECONDS

    def admits(self, data: bytes, browser: bytes | None) -> bool:
        if browser is None:
            return False
        with self._lock:
            now = self._clock()
            self._purge(now)
            return (hashlib.sha256(data).hexdigest(), browser) in self._until

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._until)


tickets = Tickets()


class DownloadGuard:
    """ASGI middleware: a ``/media/`` file is served only to the browser holding a live ticket for it."""

    def __init__(self, app) -> None:
        self.app = app
        _installed.set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            prefix = make_url_path(config.get_option("server.baseUrlPath") or "", "media") + "/"
            path = scope["path"]
            if path.startswith(prefix) and runtime.exists():
                stored = runtime.get_instance().media_file_mgr.read_file(path[len(prefix):])
                connection = HTTPConnection(scope)
                browser = browser_key(connection.cookies.get(XSRF_COOKIE_NAME))
                if stored is not None and not tickets.admits(stored.content, browser):
                    accounts.audit("download_refused", path=path, reason="no ticket for this browser",
                                   address=connection.client.host if connection.client else None)
                    await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
