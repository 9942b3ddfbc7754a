"""The console logger of ``ent-equity run``: one line per finished step (with its duration and the
assets it materialized), the assets' own messages at INFO and above (ingest progress: files done /
total, events/s), failed checks and step failures; no Dagster DEBUG event. Every event, DEBUG included,
is stored in the instance's event log whatever this logger prints, and the raw output of a run (dbt's
log) in a file of the instance's folder (docs/rerun.md)."""

from __future__ import annotations

import logging
import sys
import warnings
from collections import Counter
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import dagster as dg

_console = None  # where stage lines go while a run's own output is redirected (quiet_run)

# The dbt steps' INFO messages are dagster-dbt's own (selection used, partial-parse copy, the dbt command
# line, observations logged instead of checks): dbt's log holds the same in the run output file, so only
# their warnings and errors are printed. tests/test_stage_log.py keeps this set equal to the dbt assets.
DBT_STEPS = frozenset({"weekly_event_models", "period_models"})


@contextmanager
def quiet_run(output: Path):
    """Stage lines to the current stdout; everything else the run prints (dbt's own log, which dagster-dbt
    writes to stdout) and the Python warnings it raises (libraries' deprecation and preview notices)
    appended to ``output``."""
    global _console
    output.parent.mkdir(parents=True, exist_ok=True)
    previous, _console = _console, sys.stdout
    try:
        with open(output, "a", encoding="utf-8") as raw, redirect_stdout(raw), warnings.catch_warnings():
            warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: raw.write(
                warnings.formatwarning(message, category, filename, lineno, line))
            yield
    finally:
        _console = previous


class _StageHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)  # step events are DEBUG records: emit picks what to print
        self.materialized: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event, step = meta.get("dagster_event"), meta.get("step_key") or ""
        if event is None:
            if record.levelno >= (logging.WARNING if step in DBT_STEPS else logging.INFO):
                self._print(f"    {step}: {meta.get('orig_message', record.getMessage())}")
            return
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            self.materialized[step] += 1
        elif kind == "STEP_SUCCESS":
            seconds = event.event_specific_data.duration_ms / 1000
            self._print(f"  done {step} in {seconds:.1f} s ({self.materialized[step]} materialization(s))")
        elif kind == "STEP_FAILURE":
            error = event.event_specific_data.error
            self._print(f"  FAILED {step}: {error.message.strip().splitlines()[0] if error else record.getMessage()}")
        elif kind == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            data = event.event_specific_data
            self._print(f"  check failed: {data.asset_key.to_user_string()}:{data.check_name}"
                        + (" (blocking)" if data.blocking else ""))
        elif kind == "PIPELINE_FAILURE":
            self._print(f"  run {meta.get('run_id', '')[:8]} FAILED")

    def _print(self, line: str) -> None:
        print(line, file=_console or sys.stdout, flush=True)


@dg.logger(description="Stages, progress and results on stdout; no DEBUG line (the event log keeps them).")
def stage_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("ent_equity_stages", level=logging.DEBUG)  # DEBUG in: the handler counts events
    logger.addHandler(_StageHandler())
    return logger
