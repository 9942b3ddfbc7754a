"""The Dagster code location of the Observatoire ENT (``dagster dev`` loads ``defs`` from here).

Each domain of ``pipelines/defs/`` exports its own definitions (``<domain>/definitions.py``: its assets,
checks, and the jobs and schedules of that domain alone); the pipeline's jobs and the sensors chaining them
span domains (pipelines/jobs.py, pipelines/sensors.py). This module merges them and adds what every run
shares: resources, loggers, executor, and the code version of every asset (docs/design.md, Layout)."""

import dagster as dg

from pipelines.code_versions import with_code_versions
from pipelines.defs.equity import definitions as equity
from pipelines.defs.event_models import definitions as event_models
from pipelines.defs.event_models.project import dbt_resource
from pipelines.defs.indicators import definitions as indicators
from pipelines.defs.ingest import definitions as ingest
from pipelines.defs.levers import definitions as levers
from pipelines.defs.publication import definitions as publication
from pipelines.defs.reference import definitions as reference
from pipelines.defs.reports import definitions as reports
from pipelines.jobs import PIPELINE_JOBS
from pipelines.resources import warehouse_resource
from pipelines.sensors import PIPELINE_SENSORS
from pipelines.stage_log import stage_logger

# In the order the data flows (docs/design.md, Layout). The modules are imported, not their ``defs``: Dagster
# loads a module holding one Definitions object only.
DOMAINS = [domain.defs for domain in (reference, ingest, event_models, indicators, equity, levers, publication, reports)]


def _wiring() -> dg.Definitions:
    """The domains' definitions with the pipeline's jobs and sensors, before anything run-wide is added."""
    return dg.Definitions.merge(*DOMAINS, dg.Definitions(jobs=PIPELINE_JOBS, sensors=PIPELINE_SENSORS))


def pipeline_assets() -> list[dg.AssetsDefinition]:
    """Every asset of the code location, before their code versions are set."""
    return list(_wiring().assets)


def build_defs() -> dg.Definitions:
    """Definitions bound to the current ``ENT_DATA_DIR`` (tests call this after pointing it at tmp_path)."""
    wiring = _wiring()
    return dg.Definitions(
        # Code versions on every asset: a re-run compares them with the last materializations' (runner.py).
        assets=with_code_versions(list(wiring.assets)),
        asset_checks=wiring.asset_checks,
        jobs=wiring.jobs,
        schedules=wiring.schedules,
        sensors=wiring.sensors,
        resources={"duckdb": warehouse_resource(), "dbt": dbt_resource()},
        # Dagster's console logger by default (dagster dev); ``ent-equity run`` picks the stage logger.
        loggers={"console": dg.colored_console_logger, "stages": stage_logger},
        # One process per run: DuckDB allows a single writing process per file, and steps are SQL-bound.
        executor=dg.in_process_executor,
    )


defs = build_defs()
