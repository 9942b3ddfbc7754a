"""The console logger of ``ent-equity run``: one line per finished step (with its duration and the
assets it materialized), the assets' own messages at INFO and above (ingest progress: files done /
total, events/s), failed checks and step failures; no Dagster DEBUG event. Every event, DEBUG included,
is stored in the instance's event log whatever this logger prints (docs/rerun.md)."""

from __future__ import annotations

import logging
import sys
from collections import Counter

import dagster as dg


class _StageHandler(logging.Handler):
    def __init__(self, stream):
        super().__init__(logging.INFO)
        self.stream = stream
        self.materialized: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event, step = meta.get("dagster_event"), meta.get("step_key") or ""
        if event is None:
            if record.levelno >= logging.INFO:
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
            self._print(f"  FAILED {step}: {error.message.strip().splitlines()[-1] if error else record.getMessage()}")
        elif kind == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            data = event.event_specific_data
            self._print(f"  check failed: {data.asset_key.to_user_string()}:{data.check_name}"
                        + (" (blocking)" if data.blocking else ""))
        elif kind == "PIPELINE_FAILURE":
            self._print(f"  run {meta.get('run_id', '')[:8]} FAILED")

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


@dg.logger(description="Stages, progress and results on stdout; no DEBUG line (the event log keeps them).")
def stage_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("ent_equity_stages", level=logging.DEBUG)  # DEBUG in: the handler counts events
    logger.addHandler(_StageHandler(sys.stdout))
    return logger
