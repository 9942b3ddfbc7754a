"""Weekly reports (pipelines/defs/reports): content, privacy, self-containment, PDF, e-mail, CLI, asset.

Runs on the session's demo warehouse (90 schools in 30 académies, seed 7); every file goes to tmp dirs.
"""

from __future__ import annotations

import argparse
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
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines import fr_format as fr
from pipelines.defs.reports.content import Counts, protect
from pipelines.defs.reports.mail import send_weekly_reports, smtp_config_from_env
from pipelines.defs.reports.pdf import PdfPrinter, find_chromium
from pipelines.defs.reports.weekly import parse_iso_week, read_manifest, write_weekly_reports

WEEK = dt.date(2025, 11, 10)  # ISO week 46 of 2025, a school week
HAS_CHROMIUM = find_chromium() is not None
PERCENT = re.compile(r"\d+,\d\u202f%")


def _text(html: str) -> str:
    """Visible text of a report: scripts and tags removed."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def _warehouse_file(root: Path) -> Path:
    return root / "warehouse" / "observatoire.duckdb"


@pytest.fixture(scope="module")
def week_reports(demo_warehouse, tmp_path_factory):
    """The 31 reports of week 46 (with PDFs when Chromium is installed), written once for this module."""
    _, _, con = demo_warehouse
    out = tmp_path_factory.mktemp("reports")
    paths = write_weekly_reports(con, WEEK, out)
    return out / "2025-W46", paths


# ------------------------------------------------------------------------------------- the 31 reports
def test_writes_one_report_per_academie_and_a_national_one(demo_warehouse, week_reports):
    _, _, con = demo_warehouse
    week_dir, paths = week_reports
    html = sorted(p.name for p in week_dir.glob("*.html"))
    academies = con.sql("SELECT count(*) FROM academies").fetchall()[0][0]
    assert len(html) == academies + 1 == 31
    assert "national.html" in html and "academie-14-rennes.html" in html and "academie-18-orleans-tours.html" in html
    assert all(p.exists() for p in paths)
    manifest = read_manifest(week_dir)
    assert manifest["week"] == "2025-W46" and len(manifest["reports"]) == 31
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


def test_reports_are_in_french_with_week_label_and_percentages(week_reports):
    week_dir, _ = week_reports
    for name in ("national.html", "academie-14-rennes.html"):
        html = (week_dir / name).read_text(encoding="utf-8")
        text = _text(html)
        assert '<html lang="fr">' in html
        assert "semaine 46" in text and "du lundi 10 au dimanche 16 novembre 2025" in text
        assert PERCENT.search(text)
        for phrase in ("Taux d'activité", "Écarts entre familles", "Les services que les familles ignorent",
                       "Qualité des données de la semaine", "Méthodologie", "Licence Ouverte 2.0",
                       "data.education.gouv.fr", "Europe/Paris", "secret statistique", "synthétiques"):
            assert phrase in text, (name, phrase)
        assert re.search(r"Rapport généré le (lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d{1,2} "
                         r"[a-zéû]+ \d{4} à \d\d:\d\d", text)
    assert "Académie de Rennes" in _text((week_dir / "academie-14-rennes.html").read_text(encoding="utf-8"))
    assert "Académie d'Orléans-Tours" in _text((week_dir / "academie-18-orleans-tours.html").read_text(encoding="utf-8"))


def _rollup(con, geo_level: str, geo_code: str, period: str, profile: str = "parent") -> dict:
    rel = con.sql(
        "SELECT active_rate, activation_rate, visits_per_active, mobile_share FROM adoption_rollup "
        "WHERE period_type = 'week' AND period = $p AND geo_level = $l AND geo_code = $g AND breakdown = 'all' "
        "AND profile = $profile",
        params={"p": period, "l": geo_level, "g": geo_code, "profile": profile},
    )
    row = rel.fetchall()[0]
    return dict(zip(("active_rate", "activation_rate", "visits_per_active", "mobile_share"), row))


def test_headline_figures_equal_the_warehouse(demo_warehouse, week_reports):
    _, _, con = demo_warehouse
    week_dir, _ = week_reports
    for geo_level, geo_code, name in (("nation", "FR", "national.html"), ("academie", "14", "academie-14-rennes.html")):
        text = _text((week_dir / name).read_text(encoding="utf-8"))
        now = _rollup(con, geo_level, geo_code, "2025-W46")
        before = _rollup(con, geo_level, geo_code, "2025-W45")
        for rate in ("active_rate", "activation_rate", "mobile_share"):
            assert fr.percent(now[rate]) in text, (name, rate)
        assert fr.number(now["visits_per_active"], 1) in text
        assert fr.points(now["active_rate"] - before["active_rate"]) in text
        teachers = _rollup(con, geo_level, geo_code, "2025-W46", "enseignant")
        assert fr.percent(teachers["activation_rate"]) in text


def test_year_ago_comparison_absent_without_data_present_with_it(demo_warehouse, week_reports, tmp_path):
    _, _, con = demo_warehouse
    week_dir, _ = week_reports
    text = _text((week_dir / "national.html").read_text(encoding="utf-8"))
    assert "Comparaison sur un an indisponible : aucune donnée pour la semaine 46 de 2024" in text
    assert "évolution depuis la semaine 46 de 2024" not in text
    assert "par rapport à la semaine 46 de 2024" not in text
    # The demo year ends with ISO week 36 of 2026, whose counterpart (week 36 of 2025) exists.
    paths = write_weekly_reports(con, dt.date(2026, 8, 31), tmp_path, pdf=False, academies=["14"])
    assert len(paths) == 2
    text = _text((tmp_path / "2026-W36" / "national.html").read_text(encoding="utf-8"))
    assert "évolution depuis la semaine 36 de 2025" in text
    assert "par rapport à la semaine 36 de 2025" in text
    assert "Comparaison sur un an indisponible" not in text


# ---------------------------------------------------------------------------------------------- privacy
def test_protect_hides_what_subtraction_would_reveal():
    total = Counts(loaded=500, activated=250, known=500, active=160)
    tiny = Counts(loaded=8, activated=4, known=8, active=2)            # fails the rule (n < 11)
    small = Counts(loaded=92, activated=46, known=92, active=30)
    large = Counts(loaded=400, activated=200, known=400, active=128)
    counts = {"T": total, "a": tiny, "b": small, "c": large}
    shown = protect(counts, [("T", ["a", "b", "c"])])
    # T − c − b would give a: the smallest shown part (b) is hidden too; a + b pooled passes.
    assert shown == {"T", "c"}
    # Two parts only, one failing: the other one is hidden and the total is kept.
    assert protect({"T": tiny + large, "a": tiny, "c": large}, [("T", ["a", "c"])]) == {"T"}
    # Two hidden parts that pool to a passing figure are safe.
    assert protect({"T": tiny + tiny, "a": tiny, "b": tiny}, [("T", ["a", "b"])]) == {"T"}
    # A total made of one part hidden elsewhere (c, to protect a) is hidden too, or it would give c away.
    counts = {"T1": tiny + large, "a": tiny, "c": large, "T2": large}
    assert protect(counts, [("T1", ["a", "c"]), ("T2", ["c"])]) == {"T1"}


@pytest.fixture
def planted_warehouse(demo_warehouse, tmp_path):
    """A copy of the demo warehouse with académie 14 reworked for week 46 (see the test)."""
    root, _, _ = demo_warehouse
    copy = tmp_path / "planted.duckdb"
    shutil.copyfile(_warehouse_file(root), copy)
    con = duckdb.connect(str(copy))
    rows = con.sql(
        "SELECT a.uai, s.name FROM adoption_school a JOIN schools s USING (uai) WHERE a.period_type = 'week' "
        "AND a.period = '2025-W46' AND a.profile = 'parent' AND s.academie_code = '14' ORDER BY a.loaded"
    ).fetchall()
    assert len(rows) == 3
    (tiny, tiny_name), (_, _), (large, large_name) = rows
    # Twelve more schools of the académie with steady rates in weeks 45 and 46, so that the funnel is sharp.
    extra = [u for (u,) in con.sql(
        "SELECT uai FROM schools WHERE academie_code = '14' AND uai NOT IN (SELECT uai FROM adoption_school) "
        "ORDER BY uai LIMIT 12").fetchall()]
    for i, uai in enumerate(extra):
        for period in ("2025-W45", "2025-W46"):
            con.execute(
                "INSERT INTO adoption_school SELECT * REPLACE (?::VARCHAR AS uai, 300::BIGINT AS loaded, "
                "150::BIGINT AS activated, ?::BIGINT AS active) FROM adoption_school WHERE period_type = 'week' "
                "AND period = ? AND profile = 'parent' AND uai = ?", [uai, 99 + i % 3, period, rows[1][0]])
    where = "period_type = 'week' AND profile = 'parent' AND uai = ?"
    for uai, _ in rows:  # nobody outside the limits in week 45
        con.execute(f"UPDATE adoption_school SET active = loaded // 3 WHERE period IN ('2025-W45', '2025-W46') "
                    f"AND {where}", [uai])
    # Week 46: one school far below with k < 3 (flagged but secret), one far above (flagged and published).
    con.execute(f"UPDATE adoption_school SET loaded = 60, activated = 30, active = 2 WHERE period = '2025-W46' "
                f"AND {where}", [tiny])
    con.execute(f"UPDATE adoption_school SET active = loaded - 5 WHERE period = '2025-W46' AND {where}", [large])
    # Data-quality flags of the week: a probable data gap, a school known only through ODE exports, a
    # quarantined row and a rejected file.
    con.execute("INSERT INTO data_gaps VALUES (?, DATE '2025-11-10', 12, 400.0, 0.03, 1.0)", [extra[0]])
    ode = con.sql("SELECT uai FROM schools WHERE academie_code = '14' AND uai NOT IN "
                  "(SELECT uai FROM adoption_school) ORDER BY uai DESC LIMIT 1").fetchall()[0][0]
    con.execute(
        "INSERT INTO adoption_school SELECT * REPLACE (?::VARCHAR AS uai, 'ode_statistics' AS source) "
        "FROM adoption_school WHERE period_type = 'week' AND period = '2025-W46' AND profile = 'parent' "
        "AND uai = ?", [ode, rows[1][0]])
    con.execute("INSERT INTO quarantine VALUES ('landing/x.csv', 'abc', 7, 'UAI inconnue (test)', NULL, "
                "TIMESTAMPTZ '2025-11-12 10:00:00+01')")
    con.execute(
        "INSERT INTO landing_manifest (file_path, file_name, size_bytes, sha256, status, rows_read, rows_stored, "
        "rows_duplicate, rows_quarantined, error, ingested_at) VALUES ('landing/casse.csv', 'casse.csv', 10, "
        "'def', 'rejected', 0, 0, 0, 0, 'fichier illisible (test)', TIMESTAMPTZ '2025-11-13 09:00:00+01')")
    names = dict(con.sql("SELECT uai, name FROM schools WHERE uai IN (?, ?)", params=[extra[0], ode]).fetchall())
    yield con, {"tiny": (tiny, tiny_name), "large": (large, large_name), "gap": names[extra[0]], "ode": names[ode]}
    con.close()


def test_small_cells_never_show_a_school_rate(planted_warehouse, tmp_path):
    con, planted = planted_warehouse
    write_weekly_reports(con, WEEK, tmp_path, pdf=False, academies=["14"])
    week_dir = tmp_path / "2025-W46"
    rennes = _text((week_dir / "academie-14-rennes.html").read_text(encoding="utf-8"))
    national = _text((week_dir / "national.html").read_text(encoding="utf-8"))
    tiny_uai, tiny_name = planted["tiny"]
    large_uai, large_name = planted["large"]
    # The school with 2 active accounts out of 60 is outside the funnel but secret: never named.
    for text in (rennes, national):
        assert tiny_name not in text and tiny_uai not in text
        assert "1 autre établissement signalé n'est pas nommé : secret statistique" in text
    # The one far above the limits is published, with its rate and its loaded accounts.
    loaded = con.sql("SELECT loaded FROM adoption_school WHERE period_type = 'week' AND period = '2025-W46' "
                     "AND profile = 'parent' AND uai = ?", params=[large_uai]).fetchall()[0][0]
    row = re.search(re.escape(large_name) + r".*?au-dessus\s+(\d+,\d\u202f%)\s+(\d[\d\u202f]*\d|\d)\s",
                    rennes, flags=re.S)
    assert row, rennes[:3000]
    assert row.group(1) == fr.percent((loaded - 5) / loaded) and row.group(2) == fr.number(loaded)
    manifest = read_manifest(week_dir)
    assert manifest["reports"][1]["summary"]["flagged_schools"] == 1
    # Data quality: the académie report shows its data gap and ODE-only school, not the ingest incidents.
    assert planted["gap"] in rennes and planted["ode"] in rennes
    assert "UAI inconnue (test)" not in rennes and "casse.csv" not in rennes
    assert "UAI inconnue (test)" in national and "casse.csv" in national


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


def test_missing_chromium_still_writes_html_and_says_why(demo_warehouse, tmp_path, monkeypatch):
    _, _, con = demo_warehouse
    monkeypatch.setenv("ENT_CHROMIUM", "none")
    paths = write_weekly_reports(con, WEEK, tmp_path, academies=["14"])
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


def test_cli_report_command(demo_warehouse, tmp_path, monkeypatch, capsys):
    from pipelines.defs.reports.command import add_parser

    root, _, _ = demo_warehouse
    data = tmp_path / "data"
    (data / "warehouse").mkdir(parents=True)
    (data / "warehouse" / "observatoire.duckdb").symlink_to(_warehouse_file(root))
    monkeypatch.setenv("ENT_DATA_DIR", str(data))
    monkeypatch.delenv("ENT_SMTP_HOST", raising=False)
    parser = argparse.ArgumentParser(prog="ent-equity")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", "--week", "2025-W46", "--no-pdf"])
    assert args.week == WEEK
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "31 reports for 2025-W46" in out and "e-mail: SMTP non configuré" in out
    assert len(list((data / "reports" / "2025-W46").glob("*.html"))) == 31
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--week", "2025-46"])


# ------------------------------------------------------------------------------------------------ Dagster
def test_asset_materializes_one_partition(demo_warehouse, tmp_path, monkeypatch):
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from pipelines.defs.reports.assets import weekly_report

    root, _, _ = demo_warehouse
    monkeypatch.setenv("ENT_DATA_DIR", str(tmp_path))   # reports_dir() → tmp_path/reports
    monkeypatch.setenv("ENT_CHROMIUM", "none")          # fast; and the run must say why PDFs are missing
    monkeypatch.delenv("ENT_SMTP_HOST", raising=False)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [weekly_report], partition_key="2025-11-10", instance=instance,
            resources={"duckdb": DuckDBResource(database=str(_warehouse_file(root)))},
        )
    assert result.success
    [event] = result.asset_materializations_for_node("weekly_report")
    metadata = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    assert metadata["reports"] == 31 and metadata["pdf_printed"] == 0 and metadata["pdf_missing"] == 31
    assert "Chromium introuvable" in metadata["pdf_missing_reason"]
    assert metadata["email"].startswith("non envoyé")
    assert PERCENT.search(metadata["national_parent_active_rate"])
    assert len(list((tmp_path / "reports" / "2025-W46").glob("*.html"))) == 31


def test_schedule_runs_monday_morning_for_the_previous_week():
    import dagster as dg

    from pipelines.defs.reports.assets import weekly_report, weekly_report_job, weekly_report_schedule

    assert weekly_report_schedule.cron_schedule == "0 7 * * 1"
    assert weekly_report_schedule.execution_timezone == "Europe/Paris"
    from dagster_duckdb import DuckDBResource

    defs = dg.Definitions(assets=[weekly_report], jobs=[weekly_report_job], schedules=[weekly_report_schedule],
                          resources={"duckdb": DuckDBResource(database=":memory:")})
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance, repository_def=defs.get_repository_def(),
            scheduled_execution_time=dt.datetime(2025, 11, 17, 7, 0, tzinfo=ZoneInfo("Europe/Paris")),
        )
        run_requests = weekly_report_schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in run_requests] == ["2025-11-10"]
