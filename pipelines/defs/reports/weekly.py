"""Write the weekly reports of one ISO week: ``<out_dir>/<YYYY-Www>/national.html``, one
``academie-<code>-<name>.html`` per académie, their PDFs when Chromium can print them, and ``manifest.json``
(what was written, why a PDF is missing, timings, headline figures for the e-mails).

Every figure comes from the serving copy (``published_week.py``); the warehouse is read only for the
national report's ingestion incidents (``operations.py``).

The week's folder is written beside its final place and swapped in at the end, so that a reader never sees
half a week and a rerun never leaves stale PDFs next to new HTML.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import time
import unicodedata
from pathlib import Path

from pipelines import fr_format as fr
from pipelines.defs.reports.content import Report, build_reports
from pipelines.defs.reports.operations import load_operations
from pipelines.defs.reports.pdf import PdfPrinter
from pipelines.defs.reports.published_week import NATION, load_published_week
from pipelines.defs.reports.render import render_report, report_title
from pipelines.defs.reports.weeks import iso_period
from pipelines.file_modes import private_folder, restrict_tree

MANIFEST = "manifest.json"
_ISO_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


def parse_iso_week(text: str) -> dt.date:
    """'2025-W46' → date(2025, 11, 10), the Monday of that ISO week."""
    match = _ISO_WEEK.match(text or "")
    if not match:
        raise ValueError(f"semaine ISO invalide : {text!r} (attendu AAAA-Www, par exemple 2025-W46)")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"semaine ISO invalide : {text!r} (l'année {year} n'a pas de semaine {week})") from None


def slug(text: str) -> str:
    """'Orléans-Tours' → 'orleans-tours'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def report_stem(report: Report) -> str:
    return "national" if report.code == NATION else f"academie-{report.code}-{slug(report.name)}"


def _summary(report: Report) -> dict:
    """Headline figures in French, for the manifest and the e-mail body."""
    parent = report.parent
    if not parent.metrics:
        return {"parent_active_rate": None}
    active = parent.metrics["active_rate"]
    activation = parent.metrics["activation_rate"]
    return {
        "parent_active_rate": None if active.suppressed else active.value,
        "parent_active_rate_text": fr.percent(active.value, suppressed=active.suppressed),
        "parent_active_rate_change_text": fr.points(active.previous_delta),
        "parent_activation_rate_text": fr.percent(activation.value, suppressed=activation.suppressed),
        "flagged_schools": len(report.flagged),
        "widening_gaps": [g.label for g in report.gaps if g.trend == "se creuse"],
    }


def _swap_into_place(staging: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def write_weekly_reports(
    serving_file: Path,
    week_start: dt.date,
    out_dir: Path,
    *,
    warehouse=None,
    pdf: bool = True,
    academies: list[str] | None = None,
    logger: logging.Logger | None = None,
    printer: PdfPrinter | None = None,
) -> list[Path]:
    """Write the week's reports (national + one per académie) under ``out_dir/<YYYY-Www>/``.

    ``serving_file``: the published serving copy (``serving_path()``), where every figure comes from.
    ``warehouse``: a DuckDB connection to the warehouse (read-only is enough), read only for the national
    report's ingestion incidents; without it those sections say they are not available. ``week_start``:
    the Monday of the ISO week. Returns the files written (HTML, then its PDF when printed), national
    first. Why a PDF is missing is logged and recorded in ``manifest.json``. ``academies`` restricts the
    académie reports (codes); ``pdf=False`` skips printing; ``printer`` replaces the default Chromium
    printer (tests).
    """
    log = logger or logging.getLogger(__name__)
    if isinstance(week_start, dt.datetime):
        week_start = week_start.date()
    if isinstance(week_start, str):
        week_start = dt.date.fromisoformat(week_start)
    if week_start.weekday() != 0:
        raise ValueError(f"{week_start} n'est pas un lundi : une semaine ISO commence le lundi")
    started = time.perf_counter()
    data = load_published_week(serving_file, week_start)
    operations = load_operations(warehouse, week_start) if warehouse is not None else None
    reports = build_reports(data, operations, academies)
    computed = time.perf_counter()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / iso_period(week_start)
    staging = out_dir / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    private_folder(staging)

    entries = []
    for report in reports:
        html_path = staging / f"{report_stem(report)}.html"
        html_path.write_text(render_report(report), encoding="utf-8")
        entries.append({"code": report.code, "name": report.name, "title": report_title(report),
                        "html": html_path.name, "pdf": None, "pdf_error": None, "summary": _summary(report)})
    rendered = time.perf_counter()

    pdf_reason, pdf_mode = None, None
    if not pdf:
        pdf_reason = "impression PDF désactivée pour cette exécution"
    else:
        with (printer if printer is not None else PdfPrinter()) as active_printer:
            pdf_mode = active_printer.mode
            for entry in entries:
                html_path = staging / entry["html"]
                pdf_path = html_path.with_suffix(".pdf")
                error = active_printer.print(html_path, pdf_path)
                if error is None:
                    entry["pdf"] = pdf_path.name
                else:
                    pdf_path.unlink(missing_ok=True)
                    entry["pdf_error"] = error
            if active_printer.unavailable:
                pdf_reason = active_printer.unavailable
        errors = sorted({e["pdf_error"] for e in entries if e["pdf_error"]})
        if errors and pdf_reason is None:
            pdf_reason = "; ".join(errors[:3])
    printed = time.perf_counter()
    missing = [e["html"] for e in entries if e["pdf"] is None]
    if missing:
        log.warning("Rapports de la %s : %d PDF manquant(s) : %s", fr.iso_week_label(week_start), len(missing),
                    pdf_reason)

    manifest = {
        "week": target.name,
        "week_start": week_start.isoformat(),
        "week_label": fr.iso_week_label(week_start),
        "generated_at": reports[0].generated_at.isoformat(timespec="seconds"),
        "demo": data.demo,
        "serving": {"file": str(serving_file), "published_at": data.meta.get("published_at")},
        "reports": entries,
        "pdf": {"printed": len(entries) - len(missing), "missing": len(missing), "reason": pdf_reason,
                "mode": pdf_mode},
        "seconds": {"figures": round(computed - started, 2), "html": round(rendered - computed, 2),
                    "pdf": round(printed - rendered, 2), "total": round(printed - started, 2)},
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    restrict_tree(staging)
    _swap_into_place(staging, target)
    log.info("Rapports de la %s écrits dans %s (%d HTML, %d PDF, %.1f s)", fr.iso_week_label(week_start), target,
             len(entries), len(entries) - len(missing), printed - started)
    paths = []
    for entry in entries:
        paths.append(target / entry["html"])
        if entry["pdf"]:
            paths.append(target / entry["pdf"])
    return paths


def read_manifest(week_dir: Path) -> dict:
    """The manifest of a week's folder written by ``write_weekly_reports``."""
    return json.loads((Path(week_dir) / MANIFEST).read_text(encoding="utf-8"))
