"""What ``ent-equity run`` prints: the assets' own messages, not dagster-dbt's chatter (pipelines/stage_log.py)."""

from __future__ import annotations

import io
import logging
from contextlib import redirect_stdout

from pipelines.defs.event_models.assets import event_model_assets
from pipelines.stage_log import DBT_STEPS, _StageHandler


def _printed(step: str, level: int, message: str) -> str:
    record = logging.LogRecord("dagster", level, __file__, 1, message, None, None)
    record.dagster_meta = {"step_key": step, "orig_message": message}
    out = io.StringIO()
    with redirect_stdout(out):
        _StageHandler().emit(record)
    return out.getvalue()


def test_dbt_steps_are_the_dbt_assets():
    assert DBT_STEPS == {assets.op.name for assets in event_model_assets}


def test_dbt_info_is_kept_out_of_the_terminal_but_not_its_warnings():
    chatter = "A dbt subsetted execution is not being performed."
    assert _printed("period_models", logging.INFO, chatter) == ""
    assert "dbt test failed" in _printed("period_models", logging.WARNING, "dbt test failed")
    progress = "file 3/35 ingested: 1,000 events stored"
    assert _printed("landed_files", logging.INFO, progress) == f"    landed_files: {progress}\n"
    assert _printed("landed_files", logging.DEBUG, progress) == ""


def test_a_runs_warnings_go_to_its_output_file(tmp_path, capsys):
    import warnings

    from pipelines.stage_log import quiet_run

    with quiet_run(tmp_path / "run_output.log"):
        warnings.warn("PySpark does not yet fully support pandas >= 3.0.0", FutureWarning)
        print("dbt log line")
    assert capsys.readouterr().err == ""
    logged = (tmp_path / "run_output.log").read_text()
    assert "FutureWarning: PySpark does not yet fully support" in logged and "dbt log line" in logged
