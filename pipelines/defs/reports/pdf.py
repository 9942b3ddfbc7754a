"""Print report HTML files to PDF with headless Chromium (Debian's ``/usr/bin/chromium``).

One browser prints every report of a batch through the DevTools protocol over a pipe
(``--remote-debugging-pipe``: no port, no network; the pipe ends are placed on fds 3/4 by
``os.posix_spawn``), one page after another, each with a timeout. If that
session cannot start or breaks, each remaining report is printed by its own ``chromium --print-to-pdf``
process, in sequence, with a timeout. If Chromium is missing or keeps failing, the HTML is still there and
the reason the PDF is missing is returned (the asset logs it and puts it in its metadata).
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

CHROMIUM_ENV = "ENT_CHROMIUM"  # optional path to the browser; empty or 'none' disables PDF printing
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
BASE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--disable-dev-shm-usage", "--mute-audio",
)
PAGE_TIMEOUT = 60.0      # seconds to load and print one report
START_TIMEOUT = 30.0     # seconds for the browser to answer its first command
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555;font-family:sans-serif">'
          'Observatoire ENT · page <span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def find_chromium() -> str | None:
    """The browser to use: ``$ENT_CHROMIUM`` if set, else the first candidate found on this machine."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured is not None:
        if configured.strip().lower() in ("", "none", "0", "false"):
            return None
        return configured if (Path(configured).exists() or shutil.which(configured)) else None
    for candidate in CHROMIUM_CANDIDATES:
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if found:
            return found
    return None


class PdfError(RuntimeError):
    """Printing failed; the message says why (in French, it ends up in the report metadata)."""


class _DevToolsSession:
    """A headless Chromium driven through the DevTools protocol on fds 3/4 (NUL-separated JSON)."""

    def __init__(self, binary: str, profile_dir: Path):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # The child must find its ends as fds 3 (commands in) and 4 (replies out). posix_spawn's dup2 actions
        # place them without a shell or a preexec_fn (unsafe with threads); the originals are moved above 10
        # first so that no dup2 is a no-op on an fd that is still close-on-exec.
        child_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)
        argv = [binary, *BASE_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile_dir}", "about:blank"]
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, child_in, 3),
            (os.POSIX_SPAWN_DUP2, child_out, 4),
        ]
        try:
            self.pid = os.posix_spawn(binary, argv, os.environ, file_actions=actions, setsid=True)
        finally:
            os.close(child_in)
            os.close(child_out)
        self._write, self._read = to_child_w, from_child_r
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []
        self.session_id: str | None = None

    # -- protocol
    def _send(self, method: str, params: dict | None = None, session_id: str | None = None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        data = json.dumps(message).encode() + b"\0"
        while data:
            written = os.write(self._write, data)
            data = data[written:]
        return self._next_id

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PdfError("Chromium n'a pas répondu à temps")
            ready, _, _ = select.select([self._read], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise PdfError("Chromium s'est arrêté pendant l'impression")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, *, timeout: float = PAGE_TIMEOUT,
             session: bool = True) -> dict:
        message_id = self._send(method, params, self.session_id if session else None)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == message_id:
                if "error" in message:
                    raise PdfError(f"Chromium a refusé {method} : {message['error'].get('message')}")
                return message.get("result", {})
            if "method" in message:
                self._events.append(message)

    def wait_event(self, method: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == self.session_id:
                    return self._events.pop(i)
            message = self._receive(deadline)
            if "method" in message:
                self._events.append(message)

    # -- pages
    def open(self) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"}, timeout=START_TIMEOUT, session=False)
        attached = self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                             timeout=START_TIMEOUT, session=False)
        self.session_id = attached["sessionId"]
        self.call("Page.enable", timeout=START_TIMEOUT)

    def load(self, html: Path, timeout: float = PAGE_TIMEOUT) -> None:
        self._events.clear()
        result = self.call("Page.navigate", {"url": html.resolve().as_uri()}, timeout=timeout)
        if result.get("errorText"):
            raise PdfError(f"Chromium n'a pas pu ouvrir {html.name} : {result['errorText']}")
        self.wait_event("Page.loadEventFired", timeout)
        # Let plotly finish drawing: two animation frames after the load event.
        self.call("Runtime.evaluate", {
            "expression": "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
            "awaitPromise": True,
        }, timeout=timeout)

    def print_pdf(self, html: Path, pdf: Path, timeout: float = PAGE_TIMEOUT) -> None:
        self.load(html, timeout)
        result = self.call("Page.printToPDF", {
            "printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": True,
            "headerTemplate": "<div></div>", "footerTemplate": FOOTER,
        }, timeout=timeout)
        pdf.write_bytes(base64.b64decode(result["data"]))

    def close(self) -> None:
        try:
            self._send("Browser.close")
        except OSError:
            pass
        if not _wait_pid(self.pid, 10):
            try:
                os.killpg(self.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            _wait_pid(self.pid, 10)
        for fd in (self._write, self._read):
            try:
                os.close(fd)
            except OSError:
                pass


def _wait_pid(pid: int, timeout: float) -> bool:
    """Reap ``pid`` within ``timeout`` seconds; False if it is still running."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _kill(process: subprocess.Popen) -> None:
    """Stop the browser and the processes it started (its own session / process group)."""
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait(timeout=10)


def print_with_cli(binary: str, html: Path, pdf: Path, timeout: float = PAGE_TIMEOUT) -> None:
    """One ``chromium --headless --print-to-pdf`` process for one report."""
    with tempfile.TemporaryDirectory(prefix="ent-chromium-") as profile:
        command = [binary, *BASE_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}",
                   "--no-pdf-header-footer", html.resolve().as_uri()]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise PdfError(f"Chromium n'a pas imprimé {html.name} en {timeout:.0f} s") from None
    if process.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = (stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise PdfError(f"Chromium a échoué sur {html.name} (code {process.returncode}) {tail[0][:200]}".strip())


class PdfPrinter:
    """Prints a batch of HTML reports, one browser for all when possible (use as a context manager)."""

    def __init__(self, binary: str | None = None, *, page_timeout: float = PAGE_TIMEOUT, devtools: bool = True):
        self.binary = binary if binary is not None else find_chromium()
        self.page_timeout = page_timeout
        self.use_devtools = devtools
        self.mode: str | None = None           # 'devtools', 'cli' or None (no browser)
        self.unavailable: str | None = None    # why no PDF can be printed at all
        self._session: _DevToolsSession | None = None
        self._profile: tempfile.TemporaryDirectory | None = None
        self._cli_failures = 0

    def __enter__(self) -> PdfPrinter:
        if not self.binary:
            self.unavailable = ("Chromium introuvable (ni /usr/bin/chromium ni chromium dans le PATH ; "
                                f"{CHROMIUM_ENV} peut donner son chemin) : rapports produits en HTML seulement")
            return self
        self.mode = "cli"
        if self.use_devtools:
            try:
                self._start_session()
                self.mode = "devtools"
            except (OSError, PdfError, KeyError, ValueError) as exc:
                log.warning("PDF : session Chromium impossible (%s), une commande Chromium par rapport", exc)
                self._stop_session()
        return self

    def _start_session(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="ent-chromium-")
        self._session = _DevToolsSession(self.binary, Path(self._profile.name))
        self._session.open()

    def _stop_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    def __exit__(self, *exc) -> None:
        self._stop_session()

    def print(self, html: Path, pdf: Path) -> str | None:
        """Print ``html`` to ``pdf``; return None, or why the PDF is missing."""
        if self.unavailable:
            return self.unavailable
        if self.mode == "devtools" and self._session is not None:
            try:
                self._session.print_pdf(html, pdf, self.page_timeout)
                return None
            except (OSError, PdfError, KeyError, ValueError) as exc:
                log.warning("PDF : la session Chromium a échoué sur %s (%s), une commande par rapport", html.name, exc)
                self._stop_session()
                self.mode = "cli"
        try:
            print_with_cli(self.binary, html, pdf, self.page_timeout)
            self._cli_failures = 0
            return None
        except (OSError, PdfError) as exc:
            self._cli_failures += 1
            if self._cli_failures >= 2:  # do not spend a timeout on each of 31 reports
                self.unavailable = f"Chromium échoue à répétition, PDF abandonnés : {exc}"
            return str(exc)
