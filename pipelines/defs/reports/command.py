"""``ent-equity report``: write the weekly reports of one ISO week from the serving copy (the published,
suppressed file the dashboard reads); the warehouse, when there is one, is opened read-only for the national
report's ingestion incidents only.

Reports go to ``$ENT_DATA_DIR/reports/<YYYY-Www>/`` (HTML, and PDF when Chromium is available); they are
e-mailed when SMTP is configured (see ``pipelines.defs.reports.mail``), unless ``--no-email``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging

NO_WEEK = ("ent-equity report : aucune semaine ISO complète avec des données dans la copie publiée {serving} ; "
           "précisez la semaine avec --week AAAA-Www.\n"
           "ent-equity report: no complete ISO week with data in the serving copy {serving}; "
           "give the week with --week YYYY-Www.")


def _week_arg(value: str):
    from pipelines.defs.reports.weekly import parse_iso_week  # here: ``ent-equity run`` does not load the reports

    try:
        return parse_iso_week(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_report(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.defs.reports.mail import send_weekly_reports
    from pipelines.defs.reports.published_week import weeks_with_data
    from pipelines.defs.reports.weekly import read_manifest, write_weekly_reports
    from pipelines.defs.reports.weeks import default_week, iso_period
    from pipelines.paths import reports_dir, warehouse_path
    from pipelines.serving_file import serving_path

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    serving = serving_path()
    if not serving.exists():
        print(f"ent-equity report: no serving copy at {serving} (run `ent-equity run` first)")
        return 1
    week = args.week or default_week(weeks_with_data(serving))
    if week is None:
        print(NO_WEEK.format(serving=serving))
        return 1
    warehouse = warehouse_path()
    if not warehouse.exists():
        print(f"ent-equity report: no warehouse at {warehouse}: the national report leaves out ingestion incidents")
    with (duckdb.connect(str(warehouse), read_only=True) if warehouse.exists() else contextlib.nullcontext()) as con:
        paths = write_weekly_reports(serving, week, reports_dir(), warehouse=con, pdf=not args.no_pdf,
                                     academies=args.academie)
    week_dir = reports_dir() / iso_period(week)
    manifest = read_manifest(week_dir)
    pdf = manifest["pdf"]
    print(f"{len(manifest['reports'])} reports for {manifest['week']} in {week_dir} "
          f"({pdf['printed']} PDF, {manifest['seconds']['total']:.1f} s)")
    if pdf["missing"]:
        print(f"PDF missing for {pdf['missing']} report(s): {pdf['reason']}")
    if args.no_email:
        print("e-mail: not sent (--no-email)")
    else:
        mail = send_weekly_reports(week_dir)
        if not mail.configured:
            print(f"e-mail: {mail.reason}")
        else:
            print(f"e-mail: {len(mail.sent)} sent, {len(mail.errors)} failed")
            for error in mail.errors:
                print(f"  {error}")
            if mail.errors:
                return 1
    return 0 if paths else 1


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``report`` subcommand (its handler is ``args.func``)."""
    parser = subparsers.add_parser(
        "report",
        help="write the weekly reports (one per académie + national, HTML and PDF) for an ISO week",
        description=__doc__,
    )
    parser.add_argument("--week", type=_week_arg, default=None,
                        help="ISO week, e.g. 2025-W46 (default: the last complete week with data in the serving copy)")
    parser.add_argument("--academie", action="append", metavar="CODE",
                        help="only this académie's report (and the national one); repeatable")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    parser.add_argument("--no-email", action="store_true", help="do not e-mail the reports even if SMTP is set")
    parser.set_defaults(func=cmd_report)
    return parser
