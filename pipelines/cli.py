"""``ent-equity``: the product's command line (generate demo data, run the pipeline, open the dashboard)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.paths import data_dir
from pipelines.defs.reports.command import add_parser as add_report_parser
from pipelines.synth.command import add_parser as add_synth_parser
from pipelines.users import add_parser as add_users_parser

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DASHBOARD_SERVER = PROJECT_ROOT / "dashboards" / "server.py"  # app.py behind the download guard
DASHBOARD_ADDRESS = "127.0.0.1"  # loopback only: reach it from elsewhere through a TLS reverse proxy (README)


def _use_project_instance() -> None:
    """Point Dagster at the project's instance (dagster.yaml in the current folder) unless DAGSTER_HOME is set."""
    if os.environ.get("DAGSTER_HOME"):
        return
    if not (Path.cwd() / "dagster.yaml").exists():
        sys.exit(
            "ent-equity: no dagster.yaml here. Run it from the project root (where dagster.yaml is), "
            "or set DAGSTER_HOME to a folder holding a dagster.yaml."
        )
    os.environ["DAGSTER_HOME"] = str(Path.cwd())


def cmd_run(args: argparse.Namespace) -> int:
    """Materialize what changed in the pipeline, in this process, recorded on the project's Dagster instance."""
    started = time.perf_counter()
    _use_project_instance()
    import dagster as dg

    from pipelines.runner import run_pipeline

    print(f"ent-equity run: data {data_dir()}, Dagster instance {os.environ['DAGSTER_HOME']}", flush=True)
    with dg.DagsterInstance.get() as instance:
        outcome = run_pipeline(instance)
    for job, why in outcome.skipped:
        print(f"{job}: nothing to run, {why}")
    for job, run_id, success, seconds in outcome.runs:
        print(f"{job} run {run_id}: {'succeeded' if success else 'FAILED'} in {seconds:.1f} s")
    if outcome.weeks:
        print(f"weeks {outcome.weeks[0]} to {outcome.weeks[1]}")
    if outcome.failed_checks:
        print("failed checks: " + ", ".join(sorted(outcome.failed_checks)))
    for problem in outcome.problems:
        print(f"PROBLEM: {problem}")
    if outcome.success and not outcome.runs:
        print("nothing changed since the last run: no job ran, the serving copy is the one last published")
    print(f"pipeline {'succeeded' if outcome.success else 'FAILED'} in {time.perf_counter() - started:.1f} s "
          f"(full event log: `DAGSTER_HOME={os.environ['DAGSTER_HOME']} dagster dev`, or .dagster/ there)")
    return 0 if outcome.success else 1


def dashboard_command(port: int, *extra: str, address: str = DASHBOARD_ADDRESS) -> list[str]:
    """The Streamlit server command of the dashboard (the browser tests start the same one).

    XSRF protection stays on whatever a config file says: CSV downloads are bound to the browser's
    XSRF cookie (see dashboards/ent_dash/download_guard.py)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(DASHBOARD_SERVER),
        "--server.address", address, "--server.port", str(port), "--server.headless", "true",
        "--server.enableXsrfProtection", "true",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer", *extra,
    ]


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Start the Streamlit dashboard (blocks until interrupted)."""
    host = f"[{args.address}]" if ":" in args.address else args.address
    print(f"dashboard: http://{host}:{args.port}")
    return subprocess.call(dashboard_command(args.port, address=args.address))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ent-equity", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_synth_parser(sub)
    add_report_parser(sub)
    add_users_parser(sub)
    run = sub.add_parser("run", help="materialize the whole pipeline on the project's Dagster instance")
    run.set_defaults(func=cmd_run)
    dashboard = sub.add_parser("dashboard", help="start the Streamlit dashboard")
    dashboard.add_argument("--port", type=int, default=8501)
    dashboard.add_argument("--address", default=DASHBOARD_ADDRESS,
                           help=f"address to listen on (default {DASHBOARD_ADDRESS}: this machine only; "
                                "put a TLS reverse proxy in front rather than listening on 0.0.0.0)")
    dashboard.set_defaults(func=cmd_dashboard)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
