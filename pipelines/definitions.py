"""The Dagster code location of the Observatoire ENT (``dagster dev`` loads ``defs`` from here)."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.reference.assets import reference_assets
from pipelines.defs.reference.checks import schools_checks
from pipelines.resources import warehouse_resource

FULL_PIPELINE_JOB = "full_pipeline"


def build_defs() -> dg.Definitions:
    """Definitions bound to the current ``ENT_DATA_DIR`` (tests call this after pointing it at tmp_path)."""
    return dg.Definitions(
        assets=reference_assets,
        asset_checks=schools_checks,
        jobs=[dg.define_asset_job(FULL_PIPELINE_JOB, selection=dg.AssetSelection.all())],
        resources={"duckdb": warehouse_resource()},
        # One process per run: DuckDB allows a single writing process per file, and steps are SQL-bound.
        executor=dg.in_process_executor,
    )


defs = build_defs()
