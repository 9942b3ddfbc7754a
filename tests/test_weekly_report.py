"""Weekly reports (pipelines/defs/reports): every figure from the serving copy, nothing the publisher
suppressed, self-contained French HTML, PDF, e-mail, CLI and Dagster asset.

Two serving copies, both written by the real publisher (``publish_serving``):

- the session's demo pipeline (90 schools in 30 académies, seed 7): the 31 reports of week 46, as the
  publisher writes them today;
- a fake warehouse of three académies (Paris, Rennes, Créteil; 25 schools each, 20 weeks, two
  trimesters) where Créteil has two active parent accounts in week 2026-W03, one Paris school has 4 % of
  its parents active on the second trimester (flagged), one Rennes school is known only through ODE exports
  in January, every school has an IPS quintile, and the levers have their inputs.

Every file goes to tmp dirs.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import email
import email.policy
import json
import re
import shutil
import socketserver
import threading
from html import unescape
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import duckdb
import pytest
from statsmodels.stats.proportion import proportion_confint

from pipelines import fr_format as fr
from pipelines.defs.reports.content import quintile_sii
from pipelines.defs.reports.mail import send_weekly_reports, smtp_config_from_env
from pipelines.defs.reports.pdf import PdfPrinter, find_chromium
from pipelines.defs.reports.published_week import Cell
from pipelines.defs.reports.weekly import parse_iso_week, read_manifest, write_weekly_reports
from pipelines.serving_file import SERVING_FILENAME
from tests.conftest import REFERENCE_DIR
from tests.serving_figures import allowed_figures, body_text, printed_figures, unexplained

WEEK = dt.date(2025, 11, 10)       # ISO week 46 of 2025, a school week (demo)
FAKE_WEEK = dt.date(2026, 1, 12)   # ISO week 3 of 2026 (fake: Créteil planted), in the 2nd trimester
HAS_CHROMIUM = find_chromium() is not None
PERCENT = re.compile(r"\d+,\d\u202f%")
REPORTS = Path(__file__).resolve().parents[1] / "pipelines" / "defs" / "reports"


def _text(html: str) -> str:
    """Visible text of a report: scripts and tags removed, runs of spaces as one."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _code(path: Path) -> str:
    return "FR" if path.name == "national.html" else path.name.split("-")[1]


def _serving(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _open(path: Path):
    con = duckdb.connect()
    con.execute(f"ATTACH '{Path(path).as_posix()}' AS srv (READ_ONLY)")
    con.execute("USE srv")
    return con


@pytest.fixture(scope="module")
def demo_serving(demo_warehouse) -> Path:
    root, _, _ = demo_warehouse
    return root / "serving" / SERVING_FILENAME


@pytest.fixture(scope="module")
def week_reports(demo_warehouse, demo_serving, tmp_path_factory):
    """The 31 reports of week 46 (with PDFs when Chromium is installed), written once for this module."""
    _, _, con = demo_warehouse
    out = tmp_path_factory.mktemp("reports")
    paths = write_weekly_reports(demo_serving, WEEK, out, warehouse=con)
    return out / "2025-W46", paths


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """The fake warehouse (see the module docstring), its serving copy and the reports of weeks 3 and 2."""
    from pipelines.defs.publication.publish import publish_serving
    from testing_support.fake_warehouse import build_fake_warehouse

    root = tmp_path_factory.mktemp("fake_week")
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_fake_warehouse(con, REFERENCE_DIR, academies=["14", "24", "01"], schools_per_academie=25, weeks=20,
                             months=5, trimesters=2, profiles=("parent", "eleve", "enseignant"), with_levers=True)
        con.execute("INSERT INTO school_ips_quintiles SELECT uai, 'parent', 100.0, 0, 0.5, 3 FROM fake_schools "
                    "WHERE uai NOT IN (SELECT uai FROM school_ips_quintiles WHERE profile = 'parent')")
        first = con.execute("SELECT min(uai) FROM fake_schools WHERE academie_code = '24'").fetchall()[0][0]
        con.execute("""
            UPDATE adoption_school a SET active = CASE WHEN a.uai = ? THEN 2 ELSE 0 END, sessions = 0,
                mobile_sessions = 0, services_used = 0
            FROM fake_schools s
            WHERE s.uai = a.uai AND s.academie_code = '24' AND a.period_type = 'week' AND a.period = '2026-W03'
              AND a.profile = 'parent'""", [first])
        ode = con.execute("SELECT max(uai) FROM fake_schools WHERE academie_code = '14'").fetchall()[0][0]
        con.execute("UPDATE adoption_school SET source = 'ode_statistics' WHERE period_type = 'month' "
                    "AND period = '2026-01' AND profile = 'parent' AND uai = ?", [ode])
        # A Paris school far below its level on the second trimester (4 % active): flagged by the funnel after
        # Benjamini-Hochberg, newly so (its first trimester is left as drawn), and listed with its interval.
        con.execute("""
            UPDATE adoption_school a SET active = round(a.loaded * 0.04), active_rate = round(a.loaded * 0.04) / a.loaded,
                sessions = round(a.visits_per_active * round(a.loaded * 0.04)),
                mobile_sessions = round(a.mobile_share * a.visits_per_active * round(a.loaded * 0.04)),
                services_used = round(a.breadth * round(a.loaded * 0.04))
            WHERE a.period_type = 'trimester' AND a.period = '2025-2026 T2' AND a.profile = 'parent'
              AND a.uai = (SELECT b.uai FROM adoption_school b JOIN fake_schools s USING (uai)
                           WHERE s.academie_code = '01' AND b.period_type = 'trimester' AND b.period = '2025-2026 T2'
                             AND b.profile = 'parent' ORDER BY b.loaded DESC, b.uai LIMIT 1)""")
        creteil = con.execute("""
            SELECT sum(a.loaded), sum(a.active) FROM adoption_school a JOIN fake_schools s USING (uai)
            WHERE s.academie_code = '24' AND a.period_type = 'week' AND a.period = '2026-W03'
              AND a.profile = 'parent'""").fetchall()[0]
        ode_name = con.execute("SELECT name FROM schools WHERE uai = ?", [ode]).fetchall()[0][0]
        publish_serving(con, root / SERVING_FILENAME, reference=REFERENCE_DIR)
    serving = root / SERVING_FILENAME
    write_weekly_reports(serving, FAKE_WEEK, root / "reports", pdf=False)
    write_weekly_reports(serving, FAKE_WEEK - dt.timedelta(weeks=1), root / "reports", pdf=False,
                         academies=["14", "24", "01"])
    return SimpleNamespace(root=root, warehouse=warehouse, serving=serving, w03=root / "reports" / "2026-W03",
                           w02=root / "reports" / "2026-W02", creteil=creteil, ode_name=ode_name)


# ------------------------------------------------------------------------------------- the 31 reports
def test_writes_one_report_per_academie_and_a_national_one(demo_serving, week_reports):
    week_dir, paths = week_reports
    html = sorted(p.name for p in week_dir.glob("*.html"))
    with _open(demo_serving) as srv:
        academies = _serving(srv, "SELECT count(*) FROM academies")[0][0]
        published_at = _serving(srv, "SELECT value FROM meta WHERE key = 'published_at'")[0][0]
    assert len(html) == academies + 1 == 31
    assert "national.html" in html and "academie-14-rennes.html" in html and "academie-18-orleans-tours.html" in html
    assert all(p.exists() for p in paths)
    manifest = read_manifest(week_dir)
    assert manifest["week"] == "2025-W46" and len(manifest["reports"]) == 31
    assert manifest["serving"] == {"file": str(demo_serving), "published_at": published_at}
    pdfs = sorted(week_dir.glob("*.pdf"))
    if HAS_CHROMIUM:
        assert len(pdfs) == 31, manifest["pdf"]
        assert all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)
        assert manifest["pdf"]["missing"] == 0 and manifest["pdf"]["reason"] is None
        # Fast enough: a few seconds a report at most (figures, HTML and PDF together).
        assert manifest["seconds"]["total"] < 31 * 5, manifest["seconds"]
    else:
        assert not pdfs and manifest["pdf"]["missing"] == 31 and "Chromium" in manifest["pdf"]["reason"]


def test_reports_are_self_contained(week_reports):
    week_dir, _ = week_reports
    for path in week_dir.glob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I), path.name
        assert not re.search(r"<link\b", html, re.I), path.name
        assert not re.search(r"url\(\s*['\"]?https?:", html, re.I), path.name
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)
        bundles = [s for s in scripts if "plotly.js v" in s[:2000]]
        assert len(bundles) == 1, f"{path.name}: plotly.js must be inlined exactly once"
        # Outside the plotly.js bundle (whose code holds URL strings it never fetches here), no URL at all.
        outside = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
        others = [s for s in scripts if s is not bundles[0]]
        assert not re.search(r"https?://", outside + "".join(others)), path.name
        assert sum("Plotly.newPlot" in s for s in others) >= 2, f"{path.name}: at least two charts"


def test_reports_are_in_french_with_week_label_and_percentages(demo_serving, week_reports):
    week_dir, _ = week_reports
    with _open(demo_serving) as srv:
        meta = dict(_serving(srv, "SELECT key, value FROM meta"))
    for name in ("national.html", "academie-14-rennes.html"):
        html = (week_dir / name).read_text(encoding="utf-8")
        text = _text(html)
        assert '<html lang="fr">' in html
        assert "semaine 46" in text and "du lundi 10 au dimanche 16 novembre 2025" in text
        assert PERCENT.search(text)
        for phrase in ("Taux d'activité", "Écarts entre familles", "Les services que les familles ignorent",
                       "Qualité des données de la semaine", "Méthodologie", "Licence Ouverte 2.0",
                       "data.education.gouv.fr", "Europe/Paris", "secret statistique", "synthétiques",
                       "copie de diffusion"):
            assert phrase in text, (name, phrase)
        # The small-cell rule is the publisher's, as its file states it.
        assert (f"au moins {meta['min_n']} comptes et qu'au moins {meta['min_k']} comptes sont de chaque côté"
                in text)
        assert re.search(r"Rapport généré le (lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d{1,2} "
                         r"[a-zéû]+ \d{4} à \d\d:\d\d", text)
    assert "Académie de Rennes" in _text((week_dir / "academie-14-rennes.html").read_text(encoding="utf-8"))
    assert "Académie d'Orléans-Tours" in _text((week_dir / "academie-18-orleans-tours.html").read_text(encoding="utf-8"))


def _cell(srv, geo: str, period: str, profile: str = "parent") -> dict:
    row = _serving(srv, """
        SELECT active_rate, activation_rate, visits_per_active, mobile_share, loaded, active, schools FROM adoption_cells
        WHERE period_type = 'week' AND period = ? AND geo_code = ? AND profile = ? AND level = 'all'
          AND secteur = 'all' AND breakdown = 'all' AND NOT suppressed""", [period, geo, profile])[0]
    return dict(zip(("active_rate", "activation_rate", "visits_per_active", "mobile_share", "loaded", "active",
                     "schools"), row))


def test_headline_figures_are_the_serving_cells(demo_serving, week_reports):
    week_dir, _ = week_reports
    with _open(demo_serving) as srv:
        for geo, name in (("FR", "national.html"), ("14", "academie-14-rennes.html")):
            text = _text((week_dir / name).read_text(encoding="utf-8"))
            now, before = _cell(srv, geo, "2025-W46"), _cell(srv, geo, "2025-W45")
            for rate in ("active_rate", "activation_rate", "mobile_share"):
                assert fr.percent(now[rate]) in text, (name, rate)
            assert fr.number(now["visits_per_active"], 1) in text
            assert fr.points(now["active_rate"] - before["active_rate"]) in text
            assert (f"{fr.number(now['loaded'])} comptes parents chargés dans {fr.number(now['schools'])} "
                    f"établissements suivis, dont {fr.number(now['active'])} actifs") in text
            teachers = _cell(srv, geo, "2025-W46", "enseignant")
            assert fr.percent(teachers["activation_rate"]) in text


def test_year_ago_comparison_absent_without_data_present_with_it(demo_warehouse, demo_serving, week_reports,
                                                                 tmp_path):
    week_dir, _ = week_reports
    text = _text((week_dir / "national.html").read_text(encoding="utf-8"))
    assert "Comparaison sur un an indisponible : aucune donnée pour la semaine 46 de 2024" in text
    assert "évolution depuis la semaine 46 de 2024" not in text
    assert "par rapport à la semaine 46 de 2024" not in text
    # The demo year ends with ISO week 36 of 2026, whose counterpart (week 36 of 2025) exists.
    paths = write_weekly_reports(demo_serving, dt.date(2026, 8, 31), tmp_path, pdf=False, academies=["14"])
    assert len(paths) == 2
    text = _text((tmp_path / "2026-W36" / "national.html").read_text(encoding="utf-8"))
    assert "évolution depuis la semaine 36 de 2025" in text
    assert "par rapport à la semaine 36 de 2025" in text
    assert "Comparaison sur un an indisponible" not in text
    with _open(demo_serving) as srv:
        now, year = _cell(srv, "FR", "2026-W36"), _cell(srv, "FR", "2025-W36")
    assert fr.points(now["active_rate"] - year["active_rate"]) in text


# ------------------------------------------------------------------- only what the publisher cleared
def _check_every_figure(serving: Path, week_start: dt.date, folder: Path, words: list[str] = ()) -> int:
    """Every report of ``folder``: each printed figure is a serving figure or derived from serving figures."""
    printed = 0
    for path in sorted(folder.glob("*.html")):
        html = path.read_text(encoding="utf-8")
        allowed = allowed_figures(serving, week_start, _code(path))
        assert not unexplained(html, week_start, allowed, words), (path.name, unexplained(html, week_start, allowed,
                                                                                           words))
        figures = printed_figures(html, week_start, allowed, words)
        printed += len(figures.percents) + len(figures.points) + len(figures.numbers) + len(figures.chart)
    return printed


def test_every_printed_figure_comes_from_the_serving_copy(demo_serving, week_reports, fake):
    week_dir, _ = week_reports
    assert _check_every_figure(demo_serving, WEEK, week_dir) > 31 * 50
    assert _check_every_figure(fake.serving, FAKE_WEEK, fake.w03) > 400
    assert _check_every_figure(fake.serving, FAKE_WEEK - dt.timedelta(weeks=1), fake.w02) > 200


def test_the_figure_check_catches_a_figure_the_serving_copy_does_not_hold(fake):
    """The check above can fail: Créteil's week-3 parent rate, which only the warehouse knows, is caught
    wherever it would be printed, and so are a count, a gap and a change the serving copy does not give."""
    html = (fake.w03 / "academie-24-creteil.html").read_text(encoding="utf-8")
    allowed = allowed_figures(fake.serving, FAKE_WEEK, "24")
    loaded, active = fake.creteil
    secret_rate = fr.percent(active / loaded)
    count = fr.number(next(n for n in range(loaded, 10 * loaded) if fr.number(n) not in allowed.numbers))
    gap = next(p for p in (fr.points(d / 1000) for d in range(1, 1000)) if p not in allowed.points)
    change = next(c for c in (f"+{fr.number(d / 10, 1)}" for d in range(1, 100)) if c not in allowed.signed)
    assert secret_rate not in allowed.percents
    assert not unexplained(html, FAKE_WEEK, allowed)
    leaked = html.replace("Effectifs : ", f"Effectifs : {secret_rate} ; {count} comptes ; {gap} ; {change} ; ", 1)
    assert unexplained(leaked, FAKE_WEEK, allowed) == {"percents": [secret_rate], "numbers": [count],
                                                      "points": [gap], "signed": [change]}


def _rows(html: str, section: str) -> list[list[str]]:
    """Cells (visible text) of the table rows of one section of a report."""
    part = html[html.index(f'<section id="{section}">'):]
    part = part[:part.index("</section>")]
    rows = [[_text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", part, flags=re.S)]
    return [r for r in rows if r]


def test_suppressed_cells_are_never_printed(fake):
    with _open(fake.serving) as srv:
        suppressed = {(g, p) for g, p in _serving(srv, """
            SELECT geo_code, period FROM adoption_cells WHERE period_type = 'week' AND profile = 'parent'
              AND level = 'all' AND secteur = 'all' AND breakdown = 'all' AND suppressed""")}
        names = dict(_serving(srv, "SELECT academie_code, academie_name FROM academies"))
        secret_schools = {n for (n,) in _serving(srv, """
            SELECT s.name FROM school_adoption a JOIN schools s USING (uai)
            WHERE a.period_type = 'trimester' AND a.suppressed
              AND s.name NOT IN (SELECT s2.name FROM school_adoption a2 JOIN schools s2 USING (uai)
                                 WHERE a2.period_type = 'trimester' AND NOT a2.suppressed)""")}
    assert ("24", "2026-W03") in suppressed  # the planted académie, and what protects it
    loaded, active = fake.creteil
    for folder, period in ((fake.w03, "2026-W03"), (fake.w02, "2026-W02")):
        national = (folder / "national.html").read_text(encoding="utf-8")
        for row in _rows(national, "academies"):
            code = next(c for c, n in names.items() if n == row[0])
            if (code, period) in suppressed:
                assert row[2:] == [fr.SECRET, fr.NOT_AVAILABLE], row
        for path in folder.glob("academie-*.html"):
            html = path.read_text(encoding="utf-8")
            cards = re.findall(r'<p class="value">(.*?)</p>', html)
            if (_code(path), period) in suppressed:
                assert len(cards) == 4 and all(fr.SECRET in c for c in cards), path.name
                assert "Effectifs : " in body_text(html) and "comptes parents chargés" not in body_text(html)
            text = body_text(html)
            assert not re.search(rf"(?<![\d,]){re.escape(fr.percent(active / loaded))}", text), path.name
            flagged = " ".join(r[0] for r in _rows(html, "signalements"))
            for school in secret_schools:  # a school suppressed on the trimester is never listed by the funnel
                assert school not in flagged, (path.name, school)
    creteil = _text((fake.w03 / "academie-24-creteil.html").read_text(encoding="utf-8"))
    # S3 is secret (the planted cell); other weeks may be too (periods ending the same day share a fate).
    secret_weeks = re.search(r"Semaines non tracées \(secret statistique\) : ([S\d, ]+)", creteil)
    assert secret_weeks and "S3" in [w.strip() for w in secret_weeks.group(1).split(",")], creteil[:300]
    # Every gap with a suppressed side reads "secret statistique", and so does the SII's note.
    with _open(fake.serving) as srv:
        secret_groups = {(g, bd, v) for g, bd, v in _serving(srv, """
            SELECT geo_code, CASE WHEN secteur <> 'all' THEN 'secteur' ELSE breakdown END,
                   CASE WHEN secteur <> 'all' THEN secteur ELSE breakdown_value END
            FROM adoption_cells WHERE period_type = 'week' AND period = '2026-W03' AND profile = 'parent'
              AND level = 'all' AND (secteur = 'all' OR breakdown = 'all') AND suppressed""")}
    gap_groups = {"Secteur": ("secteur", "prive", "public"), "Rural": ("rural_urban", "rural", "urbain"),
                  "IPS": ("ips_quintile", "5", "1")}
    checked = 0
    for path in fake.w03.glob("*.html"):
        for row in _rows(path.read_text(encoding="utf-8"), "ecarts"):
            key = next((k for k in gap_groups if row[0].startswith(k)), None)
            if key is None or "aucun établissement" in row[1]:
                continue
            breakdown, high, low = gap_groups[key]
            if {(_code(path), breakdown, high), (_code(path), breakdown, low)} & secret_groups:
                assert row[1] == fr.SECRET and row[2] == fr.SECRET and fr.NOT_AVAILABLE in row[3], (path.name, row)
                checked += 1
    assert checked >= 3


def test_reports_read_no_figure_from_the_warehouse(demo_warehouse, demo_serving, week_reports, tmp_path):
    """With a warehouse that holds nothing but the ingestion incidents, the reports are the same: every
    figure comes from the serving copy. The national report lists the incidents of the week (counts,
    reasons, file names), the académie reports do not."""
    root, _, _ = demo_warehouse
    week_dir, _ = week_reports
    operations = tmp_path / "operations.duckdb"
    with duckdb.connect(str(operations)) as ops:
        ops.execute(f"ATTACH '{(root / 'warehouse' / 'observatoire.duckdb').as_posix()}' AS wh (READ_ONLY)")
        for table in ("quarantine", "landing_manifest"):
            ops.execute(f"CREATE TABLE {table} AS SELECT * FROM wh.{table}")
    with duckdb.connect(str(operations), read_only=True) as ops:
        write_weekly_reports(demo_serving, WEEK, tmp_path / "a", warehouse=ops, pdf=False)

    def same(html: str) -> str:
        return re.sub(r"Rapport généré le [^<]*", "", html)

    for path in week_dir.glob("*.html"):
        assert same((tmp_path / "a" / "2025-W46" / path.name).read_text(encoding="utf-8")) == \
            same(path.read_text(encoding="utf-8")), path.name
    with duckdb.connect(str(operations)) as ops:
        ops.execute("INSERT INTO quarantine VALUES ('landing/x.csv', 'abc', 7, 'UAI inconnue (test)', NULL, "
                    "TIMESTAMPTZ '2025-11-12 10:00:00+01')")
        ops.execute(
            "INSERT INTO landing_manifest (file_path, file_name, size_bytes, sha256, status, rows_read, rows_stored, "
            "rows_duplicate, rows_quarantined, error, ingested_at) VALUES ('landing/casse.csv', 'casse.csv', 10, "
            "'def', 'rejected', 0, 0, 0, 0, 'fichier illisible (test)', TIMESTAMPTZ '2025-11-13 09:00:00+01')")
    with duckdb.connect(str(operations), read_only=True) as ops:
        write_weekly_reports(demo_serving, WEEK, tmp_path / "b", warehouse=ops, pdf=False, academies=["14"])
    national = _text((tmp_path / "b" / "2025-W46" / "national.html").read_text(encoding="utf-8"))
    rennes = _text((tmp_path / "b" / "2025-W46" / "academie-14-rennes.html").read_text(encoding="utf-8"))
    assert "UAI inconnue (test) 1 1" in national and "casse.csv fichier illisible (test)" in national
    assert "UAI inconnue (test)" not in rennes and "casse.csv" not in rennes
    # Without a warehouse, the national report says the incidents were not read.
    write_weekly_reports(demo_serving, WEEK, tmp_path / "c", pdf=False, academies=["14"])
    assert "Non disponible : l'entrepôt n'a pas été lu" in _text(
        (tmp_path / "c" / "2025-W46" / "national.html").read_text(encoding="utf-8"))


def test_no_report_module_suppresses_or_reads_warehouse_figures():
    """The publisher is the one disclosure control: the report modules import no privacy rule, define no
    suppression, and name no warehouse table of figures (they read the serving copy's tables)."""
    warehouse_tables = ("adoption_rollup", "adoption_school", "feature_reach_rollup", "feature_reach_school",
                        "school_ips_quintiles", "school_flags", "equity_summary")
    for path in sorted(REPORTS.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and (m.startswith("pipelines.privacy")
                                                  or m.startswith("pipelines.defs.publication.suppression"))}, path
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert not defined & {"protect", "publishable", "passes", "_protect_with_schools", "_funnel_flags",
                              "_sii_of"}, path
        # One funnel: the reports list the serving copy's flags (fitted by the publisher with the assets'
        # ``flag_rows``); they fit no funnel, FDR or shrinkage of their own.
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not names & {"funnel_limits", "funnel_flag", "fdr_flags", "eb_shrink", "expected_rate_glm",
                            "flag_rows"}, path
        assert not {m for m in imported if m and m.startswith(("pipelines.defs.equity", "pipelines.equity.funnel",
                                                               "pipelines.equity.false_discovery"))}, path
        assert not [t for t in warehouse_tables if re.search(rf"\b{t}\b", source)], path


# ------------------------------------------------------------------------------------------ the sections
def test_sections_render_for_france_and_an_academie(fake):
    with _open(fake.serving) as srv:
        fr_w03 = _cell(srv, "FR", "2026-W03")
        quintiles = _serving(srv, """
            SELECT active_rate, loaded, active_rate_se FROM adoption_cells WHERE period_type = 'week'
              AND period = '2026-W03' AND profile = 'parent' AND geo_code = 'FR' AND breakdown = 'ips_quintile'
              AND NOT suppressed
            ORDER BY breakdown_value""")
        previous_quintiles = _serving(srv, """
            SELECT active_rate, loaded, active_rate_se FROM adoption_cells WHERE period_type = 'week' AND period = '2026-W02'
              AND profile = 'parent' AND geo_code = 'FR' AND breakdown = 'ips_quintile' AND NOT suppressed
            ORDER BY breakdown_value""")
        flagged = _serving(srv, """
            SELECT s.name, t.funnel_flag, t.active_rate, t.loaded, t.funnel_target, t.active, p.funnel_flag,
                   p.suppressed
            FROM school_adoption t JOIN schools s USING (uai)
            LEFT JOIN school_adoption p ON p.uai = t.uai AND p.period_type = 'trimester'
                 AND p.period = '2025-2026 T1' AND p.profile = 'parent'
            WHERE t.period_type = 'trimester' AND t.period = '2025-2026 T2' AND t.profile = 'parent'
              AND t.academie_code = '01' AND NOT t.suppressed AND t.funnel_flag IS NOT NULL
              AND (p.funnel_flag IS DISTINCT FROM t.funnel_flag OR p.suppressed)""")
        reach = dict(_serving(srv, """
            SELECT service, reach FROM reach_cells WHERE period_type = 'week' AND period = '2026-W03'
              AND profile = 'parent' AND geo_code = '01' AND level = 'all' AND breakdown = 'all'
              AND service NOT IN ('connexion', 'autre')"""))
        if not reach or None in reach.values():  # a service secret that week: the month's figures
            reach = dict(_serving(srv, """
                SELECT service, reach FROM reach_cells WHERE period_type = 'month' AND period = '2026-01'
                  AND profile = 'parent' AND geo_code = '01' AND level = 'all' AND breakdown = 'all'
                  AND service NOT IN ('connexion', 'autre') AND NOT suppressed"""))
            reach_period = "Période : mois de janvier 2026"
        else:
            reach_period = "Période : semaine 3 (du lundi 12 au dimanche 18 janvier 2026)"
        gaps = dict(_serving(srv, "SELECT academie_code, schools_flagged FROM data_gaps WHERE week_start = ?",
                             [FAKE_WEEK]))
    national = _text((fake.w03 / "national.html").read_text(encoding="utf-8"))
    paris_html = (fake.w03 / "academie-01-paris.html").read_text(encoding="utf-8")
    paris = _text(paris_html)
    # Headlines and the national table of académies.
    assert fr.percent(fr_w03["active_rate"]) in national and "Paris 25 " in national
    # Gaps: differences of two published week cells of the same territory.
    assert len(quintiles) == 5
    q5_q1 = quintiles[4][0] - quintiles[0][0]
    # Each group's rate with the half-width of its 95 % interval, then the gap.
    assert all(se is not None for _, _, se in quintiles)
    assert (f"Q5 : {fr.rate_with_margin(quintiles[4][0], quintiles[4][2])} "
            f"Q1 : {fr.rate_with_margin(quintiles[0][0], quintiles[0][2])} {fr.points(q5_q1)}") in national
    # The week before's gap with its interval too (the two groups as independent estimates).
    previous_gap = previous_quintiles[4][0] - previous_quintiles[0][0]
    half = fr.Z95 * (previous_quintiles[4][2] ** 2 + previous_quintiles[0][2] ** 2) ** 0.5
    assert (f"{fr.points(previous_gap)} {fr.points(previous_gap - half)} à {fr.points(previous_gap + half)}"
            in national)
    # SII of the week on the five IPS quintiles of France, and of the week before, each with its interval.
    sii = quintile_sii([Cell(1, False, loaded=n, active_rate=r) for r, n, _ in quintiles])
    before = quintile_sii([Cell(1, False, loaded=n, active_rate=r) for r, n, _ in previous_quintiles])
    assert (f"calculé sur les cinq quintiles d'IPS : {fr.points(sii.value)} cette semaine (intervalle de confiance "
            f"à 95 % : {fr.points(sii.low)} à {fr.points(sii.high)}") in national
    assert (f"{fr.points(before.value)} la semaine précédente ({fr.points(before.low)} à {fr.points(before.high)}"
            + ("" if before.significant else f" : {fr.NOT_SIGNIFICANT}") + ")") in national
    assert "Indice de pente de l'inégalité (SII) sur les quintiles d'IPS : non calculé" in paris
    # Funnel: schools newly flagged on the trimester that holds the week, against the trimester before.
    assert "2025-2026, 2e trimestre (janvier–mars)" in paris and "2025-2026, 1er trimestre" in paris
    listed = _rows(paris_html, "signalements")
    assert [r[0] for r in listed] == sorted((r[0] for r in listed), key=lambda n: (n not in
                                            [f[0] for f in flagged if f[1] == "bas"], n))
    assert {r[0] for r in listed} == {f[0] for f in flagged}
    assert flagged
    for name, flag, rate, loaded, target, active, _, _ in flagged:
        row = next(r for r in listed if r[0] == name)
        assert row[3] == ("au-dessus" if flag == "haut" else "en dessous")
        # the school's rate with its 95 % Wilson interval (its accounts as the units)
        assert row[5:] == [f"{fr.percent(rate)} {fr.brackets(*proportion_confint(active, loaded, method='wilson'))}",
                           fr.number(loaded), fr.percent(target)]
    # Services: the week's reach when every service is published, else the month's.
    assert reach_period in paris
    assert all(fr.percent(r) in paris for r in reach.values()) and len(reach) >= 5
    # Data quality: data gaps per académie and the schools known only through ODE exports (serving copy).
    assert f"{gaps['01']} établissement" in paris
    assert "Baisses de volume probables Académie Établissements concernés" in national
    rennes = _text((fake.w03 / "academie-14-rennes.html").read_text(encoding="utf-8"))
    assert "exports statistiques ODE (janvier 2026)" in rennes and fake.ode_name in rennes
    assert fake.ode_name in national and fake.ode_name not in paris


def _section(html: str, name: str) -> str:
    part = html[html.index(f'<section id="{name}">'):]
    return _text(part[:part.index("</section>")])


def test_levers_section_prints_the_serving_lever_figures(fake, demo_serving, week_reports):
    with _open(fake.serving) as srv:
        effects = {(lever, scope, method): (e, lo, hi) for lever, scope, method, e, lo, hi in _serving(srv, """
            SELECT lever, scope, method, estimate, ci_low, ci_high FROM levers_effects WHERE scale = 'points'""")}
        context = dict(_serving(srv, "SELECT academie_code, estimate FROM levers_academie_effects "
                                     "WHERE scale = 'points'"))
        q5_q1 = dict(_serving(srv, "SELECT component, estimate FROM levers_gap_decomposition WHERE gap = 'ips_q5_q1'"))
        scenario = dict(_serving(srv, "SELECT academie_code, points FROM levers_scenarios WHERE workshops = 5"))
        sii = {code: figures for code, *figures in _serving(srv, """
            SELECT academie_code, sii_before, sii_before_ci_low, sii_before_ci_high, sii_after, sii_after_ci_low,
                   sii_after_ci_high FROM levers_scenarios WHERE workshops = 5 AND sii_refusal IS NULL""")}
        targets = {code: [n for c, n in _serving(srv, """
            SELECT t.academie_code, s.name FROM levers_targets t JOIN schools s USING (uai)
            WHERE t.rank <= 5 ORDER BY t.rank""") if c == code] for code in ("14", "24")}
    national = _section((fake.w03 / "national.html").read_text(encoding="utf-8"), "leviers")
    for method in ("did_event_study", "context_glm", "naive"):
        e, lo, hi = effects[("workshop", "FR", method)]
        assert f"{fr.points(e / 100)} {fr.points(lo / 100)} à {fr.points(hi / 100)}" in national, method
    assert "comparaison naïve (biaisée)" in national and "Écart Q5 − Q1" in national
    assert f"Expliqué par la composition {fr.points(q5_q1['explained'] / 100)}" in national
    creteil = _section((fake.w03 / "academie-24-creteil.html").read_text(encoding="utf-8"), "leviers")
    rennes = _section((fake.w03 / "academie-14-rennes.html").read_text(encoding="utf-8"), "leviers")
    # Créteil has its own event study; Rennes reads the national one.
    e, lo, hi = effects[("workshop", "24", "did_event_study")]
    assert (f"ajoute en fin d'année {fr.points(e / 100)} (intervalle de confiance à 95 % : {fr.points(lo / 100)} à "
            f"{fr.points(hi / 100)}") in creteil and "étude d'événement de l'académie" in creteil
    assert fr.points(effects[("workshop", "FR", "did_event_study")][0] / 100) in rennes
    assert "étude d'événement nationale" in rennes
    for code, text in (("24", creteil), ("14", rennes)):
        assert f"l'académie se situe à {fr.points(context[code] / 100)}" in text
        assert f"Avec 5 ateliers dans les établissements en tête du classement : {fr.points(scenario[code] / 100)}" in text
        before, after = ([fr.points(v / 100) for v in sii[code][i:i + 3]] for i in (0, 3))
        assert (f"un SII qui passe de {before[0]} (intervalle de confiance à 95 % : {before[1]} à {before[2]}"
                in text), code
        assert f"à {after[0]} (intervalle de confiance à 95 % : {after[1]} à {after[2]}" in text, code
        assert targets[code] and all(name in text for name in targets[code])
    assert not [name for name in set(targets["24"]) - set(targets["14"]) if name in rennes]
    # Where nothing is published (too few published schools in the demo sample, or no inputs), the report says so.
    week_dir, _ = week_reports
    with _open(demo_serving) as srv:
        published = bool(_serving(srv, "SELECT count(*) FROM levers_fit")[0][0])
    demo = _section((week_dir / "national.html").read_text(encoding="utf-8"), "leviers")
    assert ("Aucune estimation des leviers n'est publiée" in demo) is not published


def test_reach_of_the_week_or_of_the_month(week_reports, demo_serving):
    """The demo reports show the week's feature reach when every service of the territory is published that
    week, else the month's, and say why; the figures are the serving copy's, each with its rounded interval, by
    IPS quintile too."""
    week_dir, _ = week_reports
    text = _text((week_dir / "academie-14-rennes.html").read_text(encoding="utf-8"))
    with _open(demo_serving) as srv:
        def reach(period_type, period, geo):
            return {s: (r, m) for s, r, m in _serving(srv, f"""SELECT service, reach, reach_margin FROM reach_cells
                WHERE period_type = '{period_type}' AND period = '{period}' AND profile = 'parent'
                  AND geo_code = '{geo}' AND level = 'all' AND breakdown = 'all'""")}

        week, month = reach("week", "2025-W46", "14"), reach("month", "2025-11", "14")
        weekly = bool(week) and all(r is not None for r, _ in week.values())
        france = reach("week", "2025-W46", "FR") if weekly else reach("month", "2025-11", "FR")
    if weekly:
        assert "Période : semaine 46" in text
        notes, margin = week["notes"]
    else:
        assert "Période : mois de novembre 2025 , car l'usage des services de la semaine n'est pas publié" in text
        notes, margin = month["notes"]
    # the reach, its rounded 95 % interval (or « — » under 10 schools), the share that ignored it, and France's
    # reach with its rounded interval
    interval = "—" if margin is None else fr.brackets(*fr.margin_bounds(notes, margin))
    fr_notes, fr_margin = france["notes"]
    assert fr_margin is not None
    assert (f"Notes {fr.percent(notes)} {interval} {fr.percent(1 - notes)} {fr.percent(fr_notes)} "
            f"{fr.brackets(*fr.margin_bounds(fr_notes, fr_margin))}") in text
    # and the chart's France bars carry the same rounded intervals as error bars
    traces = _plot((week_dir / "academie-14-rennes.html").read_text(encoding="utf-8"), "graphique-reach")
    bars = next(t for t in traces if t["name"] == "France")
    at = bars["y"].index(fr.label(fr.SERVICES, "notes"))
    low, high = fr.margin_bounds(fr_notes, fr_margin)
    assert bars["error_x"]["array"][at] == round(100 * (high - fr_notes), 2)
    assert bars["error_x"]["arrayminus"][at] == round(100 * (fr_notes - low), 2)
    # by IPS quintile (France): each published reach with its rounded interval under it (none under 10 schools)
    text = _text((week_dir / "national.html").read_text(encoding="utf-8"))
    weekly = "Période : semaine 46" in text
    with _open(demo_serving) as srv:
        quintiles = _serving(srv, f"""SELECT breakdown_value, reach, reach_margin, suppressed FROM reach_cells
            WHERE period_type = '{"week" if weekly else "month"}' AND period = '{"2025-W46" if weekly else "2025-11"}'
              AND profile = 'parent' AND geo_code = 'FR' AND level = 'all' AND breakdown = 'ips_quintile'
              AND service = 'notes' AND breakdown_value <> 'inconnu' ORDER BY breakdown_value""")
    row = {q: (fr.SECRET if sup else fr.percent(r) + ("" if m is None else " " + fr.brackets(*fr.margin_bounds(r, m))))
           for q, r, m, sup in quintiles}
    assert quintiles and any(m is not None for _, _, m, _ in quintiles)
    line = "Notes " + " ".join(row.get(q, "—") for q in "12345")
    assert line in text.split("Usage des services par quintile d'IPS")[1], line


def test_gap_trend_words_need_a_significant_change():
    """« se creuse » / « se resserre » only when the 95 % interval of the change (the two weeks' gaps as
    independent estimates) leaves out 0, else « évolution non significative »; no standard error, no claim."""
    from pipelines.defs.reports.content import NOT_SIGNIFICANT_CHANGE, Gap

    def gap(value, previous, se, previous_se):
        return Gap("g", "a", "b", value=value, previous=previous, se=se, previous_se=previous_se)

    assert gap(0.10, 0.04, 0.01, 0.01).trend == "se creuse"        # +6 pt, se of the change 1.4 pt
    assert gap(-0.10, -0.04, 0.01, 0.01).trend == "se creuse"      # |gap| grows on the negative side
    assert gap(0.04, 0.10, 0.01, 0.01).trend == "se resserre"
    assert gap(0.10, 0.04, 0.03, 0.03).trend == NOT_SIGNIFICANT_CHANGE   # same change, se 4.2 pt
    assert gap(0.10, 0.04, None, 0.01).trend == NOT_SIGNIFICANT_CHANGE   # no interval: no claim
    assert gap(0.10, 0.04, 0.01, 0.01).change_se == pytest.approx(0.02 ** 0.5 / 10)
    assert gap(0.10, None, 0.01, None).trend == ""


def test_reports_never_say_a_gap_moves_without_its_significance(fake, week_reports):
    """Every « se creuse » / « se resserre » of a gaps table says « évolution significative », the variation
    carries its interval, and the note says what the words mean; the reach table has its interval column and
    the teachers' active rate its margin."""
    week_dir, _ = week_reports
    pages = [*sorted(fake.w03.glob("*.html")), *sorted(week_dir.glob("*.html"))[:8]]
    rows_seen = 0
    for path in pages:
        page = path.read_text(encoding="utf-8")
        gaps = page[page.index('<section id="ecarts">'):]
        gaps = gaps[:gaps.index("</section>")]
        for cell in re.findall(r'<td class="(?:widen|narrow|flat)">(.*?)</td>', gaps):
            rows_seen += 1
            if cell.startswith(("se creuse", "se resserre", "stable")):
                assert "évolution significative" in cell, (path.name, cell)
            else:
                assert cell in ("évolution non significative", "—"), (path.name, cell)
        assert "seulement si cette variation est significative" in _text(gaps)
        text = _text(page)
        assert "IC 95 % (arrondi)" in text or "Aucune donnée d'usage des services" in text
    assert rows_seen > 0
    paris = _text((fake.w03 / "academie-01-paris.html").read_text(encoding="utf-8"))
    assert re.search(r"Enseignants [\d,]+\s% ±\d+,0\spt", paris)  # a class: a whole number of points


def _plot(html: str, div: str) -> list[dict]:
    """The traces of one chart of a report (``graphique-trend``, ...)."""
    call = re.search(r'Plotly\.newPlot\(\s*"' + div + r'",\s*', html)
    traces, _ = json.JSONDecoder().raw_decode(html, call.end())
    return traces


def test_trend_chart_draws_each_weeks_interval(fake, demo_serving, week_reports):
    """The 12-week chart: every plotted week of every line has a 95 % error bar of half-width 1.96 × the week
    cell's published standard error (the school as the unit), and no bar where the serving copy has no rate;
    the national report's Q1 and Q5 lines too."""
    from pipelines.defs.reports.weeks import Weeks, iso_period

    week_dir, _ = week_reports
    checked = 0
    for serving, week, path, geo in ((fake.serving, FAKE_WEEK, fake.w03 / "academie-01-paris.html", "01"),
                                     (fake.serving, FAKE_WEEK, fake.w03 / "national.html", "FR"),
                                     (demo_serving, WEEK, week_dir / "national.html", "FR")):
        periods = [iso_period(d) for d in Weeks.of(week).trend]
        with _open(serving) as srv:
            rows = _serving(srv, """
                SELECT geo_code, breakdown_value, period, active_rate, active_rate_se FROM adoption_cells
                WHERE period_type = 'week' AND profile = 'parent' AND level = 'all' AND secteur = 'all'
                  AND NOT suppressed AND (breakdown = 'all' OR (breakdown = 'ips_quintile' AND geo_code = 'FR'))""")
        se = {(g, v, period): e for g, v, period, _, e in rows}
        traces = _plot(path.read_text(encoding="utf-8"), "graphique-trend")
        keys = ([("FR", "all"), ("FR", "1"), ("FR", "5")] if geo == "FR" else [(geo, "all"), ("FR", "all")])
        assert len(traces) == len(keys)
        for trace, (g, v) in zip(traces, keys):
            bars = trace["error_y"]["array"]
            assert len(bars) == len(trace["y"]) == len(periods)
            for y, bar, period in zip(trace["y"], bars, periods):
                expected = se.get((g, v, period))
                if y is None or expected is None:
                    assert bar is None, (path.name, g, v, period)
                else:
                    assert bar == round(100 * fr.Z95 * expected, 2) and bar > 0, (path.name, g, v, period)
                    checked += 1
    assert checked >= 40


def test_a_rate_change_carries_its_interval_and_significance():
    """A change of a rate with its standard error prints its 95 % interval and, when the interval holds 0,
    « évolution non significative » in grey (no colour of rise or fall); without a standard error, the change
    alone. The same words and interval the dashboard prints (fr_format.change_interval)."""
    from pipelines.defs.reports.render import delta_html

    def text(html):
        return _text(html).strip()

    significant = delta_html(0.030, "rate", 0.005)   # +3 pt, interval +2,0 to +4,0
    flat = delta_html(0.012, "rate", 0.009)          # +1,2 pt, interval −0,6 to +3,0
    assert 'class="up"' in significant and fr.NOT_SIGNIFICANT_CHANGE not in significant
    assert text(significant) == "+3,0\u202fpt (IC 95 % : +2,0\u202fpt à +4,0\u202fpt)"
    assert 'class="flat"' in flat and 'class="up"' not in flat
    assert text(flat) == "+1,2\u202fpt (IC 95 % : −0,6\u202fpt à +3,0\u202fpt ; évolution non significative)"
    assert text(delta_html(-0.012, "rate")) == "−1,2\u202fpt" and 'class="down"' in delta_html(-0.012, "rate")
    assert fr.change_interval(0.012, 0.009) == ("+1,2\u202fpt (IC 95 % : −0,6\u202fpt à +3,0\u202fpt, "
                                                "évolution non significative)")
    assert fr.change_interval(0.030, 0.005) == "+3,0\u202fpt (IC 95 % : +2,0\u202fpt à +4,0\u202fpt)"
    assert fr.independent_se(0.003, 0.004) == pytest.approx(0.005) and fr.independent_se(0.003, None) is None


def test_reports_say_whether_a_rate_change_is_significant(fake):
    """In the reports, the parents' active rate change since the previous week carries its interval from the two
    week cells' published standard errors, and says « évolution non significative » exactly when it holds 0;
    so does each académie's weekly change in the national table."""
    cur, prev = "2026-W03", "2026-W02"
    with _open(fake.serving) as srv:
        cells = {(g, period): (r, e) for g, period, r, e in _serving(srv, """
            SELECT geo_code, period, active_rate, active_rate_se FROM adoption_cells
            WHERE period_type = 'week' AND period IN (?, ?) AND profile = 'parent' AND level = 'all'
              AND secteur = 'all' AND breakdown = 'all' AND NOT suppressed""", [cur, prev])}

    def expected(geo, then=""):
        (r1, e1), (r0, e0) = cells[(geo, cur)], cells[(geo, prev)]
        d, half = r1 - r0, fr.Z95 * (e1 ** 2 + e0 ** 2) ** 0.5
        words = "" if abs(d) > half else " ; évolution non significative"
        return f"{fr.points(d)}{then} (IC 95 % : {fr.points(d - half)} à {fr.points(d + half)}{words})"

    both = [g for g in ("FR", "01", "14", "24") if (g, cur) in cells and (g, prev) in cells]
    assert "FR" in both and len(both) >= 2, both
    for geo in both:
        path = next(fake.w03.glob("national.html" if geo == "FR" else f"academie-{geo}-*.html"))
        cards = _section(path.read_text(encoding="utf-8"), "chiffres-cles")
        assert expected(geo, " par rapport à la semaine précédente") in cards, (geo, cards[:600])
    table = _section((fake.w03 / "national.html").read_text(encoding="utf-8"), "academies")
    for geo in both[1:]:
        assert expected(geo) in table, geo


def test_quintile_sii_is_the_slope_over_the_quintile_ridits():
    """Five equal quintiles (ridits 0.1 … 0.9) on the line 0.2 + 0.3 r: SII 0.3, exactly; unequal weights move
    the ridits, not a rate on the line; any quintile missing or suppressed: no SII."""
    line = [Cell(1, False, loaded=100, active_rate=0.2 + 0.3 * r) for r in (0.1, 0.3, 0.5, 0.7, 0.9)]
    sii = quintile_sii(line)
    assert sii.value == pytest.approx(0.3) and sii.low == pytest.approx(0.3) and sii.significant
    noisy = [Cell(1, False, loaded=n, active_rate=r) for n, r in ((300, 0.30), (100, 0.28), (100, 0.33),
                                                               (100, 0.29), (400, 0.31))]
    fit = quintile_sii(noisy)
    assert fit.low < 0 < fit.high and not fit.significant
    assert quintile_sii(line[:4]) is None
    assert quintile_sii([*line[:4], Cell(3, True)]) is None
    assert quintile_sii([*line[:4], None]) is None


# ------------------------------------------------------------------------------------------------ e-mail
class _SmtpSink(socketserver.ThreadingTCPServer):
    """A minimal SMTP server keeping every message it receives (standard library only)."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[tuple[str, list[str], bytes]] = []


class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 127.0.0.1 ESMTP test")
        sender, recipients = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").strip()
            upper = command.upper()
            if upper.startswith("EHLO"):
                self.wfile.write(b"250-127.0.0.1\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n")
            elif upper.startswith("HELO"):
                self.reply("250 127.0.0.1")
            elif upper.startswith("MAIL FROM:"):
                sender, recipients = command[10:].split()[0].strip("<>"), []
                self.reply("250 OK")
            elif upper.startswith("RCPT TO:"):
                recipients.append(command[8:].strip().strip("<>"))
                self.reply("250 OK")
            elif upper == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    data = self.rfile.readline()
                    if data in (b".\r\n", b".\n", b""):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                self.server.messages.append((sender, recipients, b"".join(lines)))
                self.reply("250 OK queued")
            elif upper in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif upper == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


@pytest.fixture
def smtp_sink():
    server = _SmtpSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_email_sends_each_report_to_its_recipients(week_reports, smtp_sink):
    week_dir, _ = week_reports
    env = {
        "ENT_SMTP_HOST": "127.0.0.1",
        "ENT_SMTP_PORT": str(smtp_sink.server_address[1]),
        "ENT_SMTP_FROM": "observatoire@example.org",
        "ENT_REPORT_RECIPIENTS": json.dumps({"14": ["dane@ac-rennes.example"], "FR": ["dne@example.org"]}),
    }
    outcome = send_weekly_reports(week_dir, env=env)
    assert outcome.configured and not outcome.errors and len(outcome.sent) == 2
    assert len(outcome.skipped) == 29
    by_recipient = {tuple(r): email.message_from_bytes(raw, policy=email.policy.default)
                    for _, r, raw in smtp_sink.messages}
    rennes = by_recipient[("dane@ac-rennes.example",)]
    assert rennes["Subject"] == ("Observatoire ENT – Académie de Rennes – rapport de la semaine 46 "
                                 "(du lundi 10 au dimanche 16 novembre 2025)")
    assert rennes["From"] == "observatoire@example.org" and rennes["To"] == "dane@ac-rennes.example"
    body = rennes.get_body(preferencelist=("plain",)).get_content()
    assert "Taux d'activité des parents" in body and PERCENT.search(body)
    attachments = {part.get_filename(): part for part in rennes.iter_attachments()}
    assert attachments["academie-14-rennes.html"].get_content_type() == "text/html"
    assert attachments["academie-14-rennes.html"].get_payload(decode=True) == \
        (week_dir / "academie-14-rennes.html").read_bytes()
    if HAS_CHROMIUM:
        pdf = attachments["academie-14-rennes.pdf"]
        assert pdf.get_content_type() == "application/pdf" and pdf.get_payload(decode=True)[:5] == b"%PDF-"
    national = by_recipient[("dne@example.org",)]
    assert "France entière" in national["Subject"]
    assert "national.html" in {p.get_filename() for p in national.iter_attachments()}


def test_email_not_configured_does_nothing_and_says_why(week_reports):
    week_dir, _ = week_reports
    outcome = send_weekly_reports(week_dir, env={})
    assert not outcome.configured and "ENT_SMTP_HOST" in outcome.reason
    assert outcome.as_metadata() == {"email": "non envoyé : SMTP non configuré (ENT_SMTP_HOST absent)"}
    config, reason = smtp_config_from_env({"ENT_SMTP_HOST": "smtp.example.org", "ENT_REPORT_RECIPIENTS": "[1]"})
    assert config is None and "ENT_REPORT_RECIPIENTS" in reason


# ------------------------------------------------------------------------------------------- PDF fallback
@pytest.mark.skipif(not HAS_CHROMIUM, reason="Chromium is not installed")
def test_pdf_one_process_per_report_fallback(week_reports, tmp_path):
    week_dir, _ = week_reports
    with PdfPrinter(devtools=False) as printer:
        assert printer.mode == "cli"
        assert printer.print(week_dir / "academie-14-rennes.html", tmp_path / "rennes.pdf") is None
    assert (tmp_path / "rennes.pdf").read_bytes()[:5] == b"%PDF-"


def test_missing_chromium_still_writes_html_and_says_why(demo_serving, tmp_path, monkeypatch):
    monkeypatch.setenv("ENT_CHROMIUM", "none")
    paths = write_weekly_reports(demo_serving, WEEK, tmp_path, academies=["14"])
    assert [p.name for p in paths] == ["national.html", "academie-14-rennes.html"]
    manifest = read_manifest(tmp_path / "2025-W46")
    assert manifest["pdf"]["missing"] == 2 and "Chromium introuvable" in manifest["pdf"]["reason"]
    assert all(e["pdf"] is None and "Chromium" in e["pdf_error"] for e in manifest["reports"])


# --------------------------------------------------------------------------------------------------- CLI
def test_parse_iso_week():
    assert parse_iso_week("2025-W46") == WEEK
    assert parse_iso_week("2026-w01") == dt.date(2025, 12, 29)
    for bad in ("2025-46", "2025-W54", "semaine 46", ""):
        with pytest.raises(ValueError):
            parse_iso_week(bad)


def test_cli_report_command(demo_warehouse, demo_serving, tmp_path, monkeypatch, capsys):
    from pipelines.defs.reports.command import add_parser

    root, _, _ = demo_warehouse
    data = tmp_path / "data"
    monkeypatch.setenv("ENT_DATA_DIR", str(data))
    monkeypatch.delenv("ENT_SMTP_HOST", raising=False)
    parser = argparse.ArgumentParser(prog="ent-equity")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", "--week", "2025-W46", "--no-pdf"])
    assert args.week == WEEK
    assert args.func(args) == 1, "no serving copy yet"
    assert "no serving copy at" in capsys.readouterr().out
    (data / "serving").mkdir(parents=True)
    (data / "serving" / SERVING_FILENAME).symlink_to(demo_serving)
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "no warehouse at" in out and "31 reports for 2025-W46" in out and "e-mail: SMTP non configuré" in out
    (data / "warehouse").mkdir()
    (data / "warehouse" / "observatoire.duckdb").symlink_to(root / "warehouse" / "observatoire.duckdb")
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "no warehouse" not in out and "31 reports for 2025-W46" in out
    assert len(list((data / "reports" / "2025-W46").glob("*.html"))) == 31
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--week", "2025-46"])


# ------------------------------------------------------------------------------------------------ Dagster
def test_asset_reads_the_serving_file_and_depends_on_it(demo_warehouse, fake, tmp_path, monkeypatch):
    """The asset prints the figures of ``serving_path()``: with the fake serving copy published there and
    the demo warehouse as its resource, the national rate is the fake copy's (the warehouse's differs)."""
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from pipelines.defs.reports.assets import weekly_report

    assert dg.AssetKey("published_serving") in weekly_report.asset_deps[weekly_report.key]
    root, _, _ = demo_warehouse
    monkeypatch.setenv("ENT_DATA_DIR", str(tmp_path))   # serving_path() and reports_dir() under tmp_path
    monkeypatch.setenv("ENT_CHROMIUM", "none")          # fast; and the run must say why PDFs are missing
    monkeypatch.delenv("ENT_SMTP_HOST", raising=False)
    (tmp_path / "serving").mkdir()
    shutil.copyfile(fake.serving, tmp_path / "serving" / SERVING_FILENAME)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [weekly_report], partition_key=FAKE_WEEK.isoformat(), instance=instance,
            resources={"duckdb": DuckDBResource(database=str(root / "warehouse" / "observatoire.duckdb"))},
        )
    assert result.success
    [event] = result.asset_materializations_for_node("weekly_report")
    metadata = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    assert metadata["reports"] == 31 and metadata["pdf_printed"] == 0 and metadata["pdf_missing"] == 31
    assert "Chromium introuvable" in metadata["pdf_missing_reason"]
    assert metadata["email"].startswith("non envoyé")
    assert metadata["serving_file"] == str(tmp_path / "serving" / SERVING_FILENAME)
    with _open(fake.serving) as srv:
        fake_rate = _cell(srv, "FR", "2026-W03")["active_rate"]
        assert metadata["serving_published_at"] == _serving(srv, "SELECT value FROM meta WHERE key = 'published_at'")[0][0]
    with _open(root / "serving" / SERVING_FILENAME) as srv:
        demo_rate = _cell(srv, "FR", "2026-W03")["active_rate"]
    assert metadata["national_parent_active_rate"] == fr.percent(fake_rate) != fr.percent(demo_rate)
    assert len(list((tmp_path / "reports" / "2026-W03").glob("*.html"))) == 31


def test_schedule_runs_monday_morning_for_the_previous_week():
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from pipelines.defs.reports.assets import weekly_report_schedule
    from pipelines.defs.reports.definitions import defs as reports

    assert weekly_report_schedule.cron_schedule == "0 7 * * 1"
    assert weekly_report_schedule.execution_timezone == "Europe/Paris"
    # The reports domain's own definitions, as the code location merges them.
    defs = dg.Definitions.merge(reports, dg.Definitions(resources={"duckdb": DuckDBResource(database=":memory:")}))
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance, repository_def=defs.get_repository_def(),
            scheduled_execution_time=dt.datetime(2025, 11, 17, 7, 0, tzinfo=ZoneInfo("Europe/Paris")),
        )
        run_requests = weekly_report_schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in run_requests] == ["2025-11-10"]


def test_a_scenario_below_the_fit_guards_prints_no_sii():
    from pipelines.defs.reports.levers import Estimate, LeverSection, Scenario
    from pipelines.defs.reports.render import _levers_section

    points = Estimate(1.234, 0.5, 2.0)
    refused = Scenario(5, 40.0, 30.0, 31.2, points, None, None, None, sii_refusal="too_few_schools")
    shown = Scenario(5, 40.0, 30.0, 31.2, points, Estimate(12.34, 4.5, 20.1), Estimate(11.0, -0.4, 22.4),
                     Estimate(-1.34, -2.5, -0.2))
    text = {name: _text(_levers_section(SimpleNamespace(is_national=False, levers=LeverSection(
        "2025-2026", 30, scenario=s)))) for name, s in (("refused", refused), ("shown", shown))}
    assert "SII non publié : trop peu d'établissements" in text["refused"]
    assert "SII qui passe" not in text["refused"] and "12,3" not in text["refused"]
    p = [fr.points(v / 100) for v in (12.34, 4.5, 20.1, 11.0, -0.4, 22.4, -1.34, -2.5, -0.2)]
    assert p[0] == "+12,3\u202fpt" and p[4] == "−0,4\u202fpt"
    assert (f"un SII qui passe de {p[0]} (intervalle de confiance à 95 % : {p[1]} à {p[2]}) à {p[3]} "
            f"(intervalle de confiance à 95 % : {p[4]} à {p[5]} ; écart non significatif), soit une variation de "
            f"{p[6]} (intervalle de confiance à 95 % : {p[7]} à {p[8]})") in text["shown"]
