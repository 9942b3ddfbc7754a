"""End to end in a real headless browser (Debian chromium driven by Playwright, no browser download):
a Streamlit server on a free localhost port over a serving file built by the test, started with the
command ``ent-equity dashboard`` runs. An académie user logs in, opens the Académie page and sees the
départements map, the funnel plot and the intervals (± on the rate, error bars on the breakdown bars, SII /
RII / Q5 − Q1 with their IC 95 %, the activation rate's ±, the IPS-fit slope and the Theil indices with
their intervals; screenshot ``test-artifacts/dashboard_academie.png``), then the Leviers page
with its charts (``test-artifacts/dashboard_leviers.png``); a national user sees the académies' SII with error
bars, the four headline figures with their ± and the map's shrunk rates with their interval
(``dashboard_nationale.png``), feature reach with its
rounded interval (``dashboard_fonctionnalites.png``), the weekly band (``dashboard_tendances.png``) and one
school's observed rate with its interval (``dashboard_etablissement.png``); a CSV
download reaches
that browser and nobody else."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipelines import users
from tests.audit_log import read_audit_log
from pipelines.cli import dashboard_command
from pipelines.defs.reports.pdf import find_chromium
from testing_support.fake_warehouse import shared_fake_serving
from tests.conftest import REFERENCE_DIR

CHROMIUM = find_chromium()  # Debian's chromium (or ENT_CHROMIUM)
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]

# Skipped on a developer machine without chromium; in CI (which installs it) a missing browser fails the test.
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Debian chromium is not installed (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = shared_fake_serving(tmp_path_factory.getbasetemp(), REFERENCE_DIR)
    own = tmp_path_factory.mktemp("browser")
    env = {**os.environ, "ENT_DATA_DIR": str(root), "ENT_USERS_FILE": str(own / "users.json"),
           "ENT_AUDIT_LOG": str(own / "audit.jsonl")}
    previous = {k: os.environ.get(k) for k in ("ENT_DATA_DIR", "ENT_USERS_FILE", "ENT_AUDIT_LOG")}
    os.environ.update({k: env[k] for k in previous})
    try:
        users.add_user("dane-rennes", "academie", "14", "browser-password-1")
        users.add_user("dne-national", "national", None, "browser-password-2")
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    port = _free_port()
    log = open(own / "streamlit.log", "w")
    process = subprocess.Popen(
        dashboard_command(port, "--server.fileWatcherType", "none"),
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"streamlit did not start: {(own / 'streamlit.log').read_text()[-2000:]}")
        time.sleep(0.5)
    yield url, root, own
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@contextmanager
def _browser_page(height: int, **page_options):
    """Debian chromium and a French-locale page 1440 px wide, ``height`` px high; the browser closes on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield browser, browser.new_page(viewport={"width": 1440, "height": height}, locale="fr-FR", **page_options)
        finally:
            browser.close()


def _open(page, link: str, caption: str) -> None:
    """Follow the sidebar ``link`` and wait for the page's ``caption`` and its first chart."""
    from playwright.sync_api import expect

    page.get_by_role("link", name=link).click()
    expect(page.get_by_text(caption, exact=False)).to_be_visible(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1", timeout=60_000)


def _screenshot(page, name: str) -> None:
    """A full-page screenshot in test-artifacts/, once the last charts have settled."""
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _log_in(page, url: str, login: str = "dane-rennes", password: str = "browser-password-1",
            heading: str = "Académie de Rennes") -> None:
    from playwright.sync_api import expect

    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)


def test_academie_user_sees_map_funnel_and_leviers_in_a_browser(server):
    from playwright.sync_api import expect

    url, root, _ = server
    ARTIFACTS.mkdir(exist_ok=True)
    with _browser_page(3600) as (browser, page):
        _log_in(page, url)
        expect(page.get_by_text("Taux d'usage actif par département")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Diagramme en entonnoir (funnel plot)")).to_be_visible(timeout=60_000)
        plots = page.locator(".js-plotly-plot")
        expect(plots.first).to_be_visible(timeout=60_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8",
                               timeout=60_000)
        # the map holds filled département polygons; the funnel holds school markers
        assert page.locator(".js-plotly-plot path.js-fill").count() >= 4
        assert page.locator(".js-plotly-plot .scatterlayer .point").count() >= 10
        # plotly speaks French: modebar tooltips from the locale passed in every chart's config
        titles = page.eval_on_selector_all(".modebar-btn", "els => els.map(e => e.getAttribute('data-title'))")
        assert titles.count("Télécharger le graphique (PNG)") >= 8 and "Déplacer" in titles
        assert not {"Download plot as a PNG", "Download plot as a png", "Pan", "Autoscale"} & set(titles)
        # intervals: ± on the headline rate, 95 % error bars on the breakdown bars, SII / RII with IC 95 %
        expect(page.get_by_text("IC 95 %").first).to_be_visible(timeout=60_000)
        assert page.locator("[data-testid='stMetricValue']").filter(has_text="±").count() >= 1
        assert page.locator(".js-plotly-plot g.errorbar").count() >= 3
        # the gap to France with its interval (and its verdict when it holds 0)
        expect(page.get_by_text("Écart à la France : ", exact=False)).to_be_visible()
        # the activation rate with its ±, the IPS-fit slope and the Theil indices with their intervals
        activation = page.locator("[data-testid='stMetric']").filter(has_text="Taux d'activation")
        expect(activation.locator("[data-testid='stMetricValue']")).to_contain_text("±")
        slope = page.get_by_text("Pente de l'ajustement pondéré, par 10 points d'IPS (IC 95 %", exact=False)
        expect(slope).to_be_visible()
        assert re.search(r"IC 95 % : [+−±]\d+,\d\u202fpt à [+−±]\d+,\d\u202fpt", slope.inner_text())
        theil = page.get_by_text("Intervalles à 95 % (bootstrap sur les établissements publiés)", exact=False)
        expect(theil).to_be_visible()
        assert re.search(r"entre départements \d,\d{4} \[\d,\d{4} ; \d,\d{4}\]", theil.inner_text())
        _screenshot(page, "dashboard_academie.png")
        content = page.content()
        assert "Vue nationale" not in page.locator("[data-testid='stSidebarNav']").inner_text()

        page.set_viewport_size({"width": 1440, "height": 4200})
        page.locator("[data-testid='stSidebarNav']").get_by_text("Leviers").click()
        expect(page.get_by_role("heading", name="Leviers", exact=True)).to_be_visible(timeout=60_000)
        expect(page.get_by_text("L'effet d'un atelier, semaine après semaine")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Où envoyer les médiateurs")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Taux d'usage actif : intervalle à 95 % de Wilson", exact=False)).to_be_visible(
            timeout=60_000)
        # the scenarios' SII before and after carry their fit's interval, under the published SII's guards
        expect(page.get_by_text("SII avant et après : intervalle de Wald de la droite ajustée",
                                exact=False)).to_be_visible(timeout=60_000)
        # effects, event study and the two gap splits (an académie user has no dot plot of académies)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8 && "
                               "!document.body.innerText.includes('Diagramme en entonnoir')", timeout=60_000)
        assert page.locator(".js-plotly-plot .scatterlayer .point").count() >= 20
        _screenshot(page, "dashboard_leviers.png")
        leviers = page.content()
        assert "Créteil" not in leviers
    import duckdb

    with duckdb.connect(str(root / "serving" / "observatoire_serving.duckdb"), read_only=True) as con:
        others = [r[0] for r in con.execute("SELECT uai FROM schools WHERE academie_code <> '14'").fetchall()]
    assert not any(uai in content or uai in leviers for uai in others)
    assert (ARTIFACTS / "dashboard_academie.png").stat().st_size > 50_000
    assert (ARTIFACTS / "dashboard_leviers.png").stat().st_size > 50_000


def test_national_user_sees_sii_intervals_and_weekly_band(server):
    from playwright.sync_api import expect

    url, _, _ = server
    ARTIFACTS.mkdir(exist_ok=True)
    with _browser_page(2600) as (browser, page):
        _log_in(page, url, "dne-national", "browser-password-2", "Vue nationale")
        expect(page.get_by_text("Adoption moyenne et inégalité sociale (SII)")).to_be_visible(timeout=60_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
                               timeout=60_000)
        # the académies' SII with horizontal error bars, and the SII interval column of the table
        assert page.locator(".js-plotly-plot g.errorbar").count() >= 2
        expect(page.get_by_text("bulle creuse : écart non significatif", exact=False)).to_be_visible()
        # active rate, activation rate, mobile share and visits per active account, each with its ±
        for label in ("Taux d'usage actif", "Taux d'activation", "Part mobile", "Visites par compte actif"):
            metric = page.locator("[data-testid='stMetric']").filter(has_text=label)
            expect(metric.locator("[data-testid='stMetricValue']")).to_contain_text("±")
        assert re.search(r"\d+,\d ±\d+,\d", page.locator("[data-testid='stMetric']").filter(
            has_text="Visites par compte actif").inner_text())
        # the map's shrunk rates carry their posterior interval (hover; the caption says so)
        expect(page.get_by_text("[borne basse ; borne haute]", exact=False)).to_be_visible()
        _screenshot(page, "dashboard_nationale.png")
        # feature reach with its rounded 95 % interval: error bars on the bars, and the caption
        _open(page, "Fonctionnalités", "Barres noires : intervalle de confiance à 95 %")
        assert page.locator(".js-plotly-plot g.errorbar").count() >= 3
        _screenshot(page, "dashboard_fonctionnalites.png")
        _open(page, "Tendances", "Bande ombrée : intervalle à 95 %")
        # the 95 % band is a filled trace of the weekly chart
        assert page.locator(".js-plotly-plot .scatterlayer path.js-fill").count() >= 1
        _screenshot(page, "dashboard_tendances.png")
        # one school: its observed rate with its Wilson interval, the comparison bars with error bars
        _open(page, "Établissement", "Barres noires : intervalles à 95 %")
        expect(page.get_by_text("(IC 95 %, Wilson", exact=False)).to_be_visible()
        expect(page.get_by_text("Intervalle à 95 % de Wilson sur les comptes de chaque établissement",
                                exact=False)).to_be_visible()
        assert page.locator(".js-plotly-plot g.errorbar").count() >= 1
        _screenshot(page, "dashboard_etablissement.png")
    for name in ("dashboard_nationale.png", "dashboard_fonctionnalites.png", "dashboard_tendances.png",
                 "dashboard_etablissement.png"):
        assert (ARTIFACTS / name).stat().st_size > 30_000


def _fetch_without_session(url: str) -> tuple[int, bytes]:
    """A plain HTTP client: no cookie, no websocket, no session."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_csv_download_reaches_the_logged_in_browser_only(server):
    from playwright.sync_api import expect

    url, _, own = server
    media = []
    with _browser_page(2400, accept_downloads=True) as (browser, page):
        page.on("request", lambda request: media.append(request.url)
                if urllib.parse.urlparse(request.url).path.startswith("/media/") else None)
        _log_in(page, url)
        buttons = page.get_by_role("button", name="Télécharger le tableau (CSV)")
        expect(buttons.nth(1)).to_be_visible(timeout=60_000)  # the page has run down to the schools table
        assert not media  # nothing to fetch before the click
        with page.expect_download(timeout=60_000) as download:
            buttons.first.click()
        link = download.value.url
        csv = Path(download.value.path()).read_text(encoding="utf-8-sig")
        status, body = _fetch_without_session(link)
        # Another browser, without this one's cookies, gets nothing either.
        stranger_status = browser.new_context().request.get(link).status
    assert "/media/" in link and link.endswith(".csv")
    header, *rows = csv.splitlines()
    assert header.startswith(("Département;Établissements;", "Établissement;Commune;UAI;")) and len(rows) >= 3
    assert status in (403, 404) and not body
    assert stranger_status in (403, 404)
    events = [e for e in read_audit_log(own / "audit.jsonl") if e["event"].startswith("download")]
    assert [e["event"] for e in events][:1] == ["download"] and events[0]["login"] == "dane-rennes"
    assert any(e["event"] == "download_refused" for e in events)
