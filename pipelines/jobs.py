"""The pipeline's jobs, in the one order they run: ``PIPELINE_JOBS``. The daemon's sensors chain them in
that order (pipelines/sensors.py), and ``ent-equity run`` runs them in that order in-process
(pipelines/runner.py, which reads the order from the asset graph's snapshot, docs/rerun.md).

The jobs of one domain only (the retention purge, the weekly report) are in that domain's definitions."""

import dagster as dg

from pipelines.defs.equity.assets import equity_assets
from pipelines.defs.event_models.assets import period_model_assets, weekly_model_assets
from pipelines.defs.indicators.assets import period_indicator_assets
from pipelines.defs.ingest.assets import events, landed_files
from pipelines.defs.levers.assets import lever_assets
from pipelines.defs.publication.assets import publication_assets
from pipelines.defs.reference.assets import reference_assets

# Unpartitioned: reference data, then every new landing file.
ingest_job = dg.define_asset_job("ingest_job", selection=dg.AssetSelection.assets(*reference_assets, landed_files))
# Weekly partitions (single-run backfills: one run can cover a range of weeks): the lake's weeks, then
# the weekly dbt models (sessions, data_gaps).
weekly_job = dg.define_asset_job("weekly_job", selection=dg.AssetSelection.assets(events, *weekly_model_assets))
# Unpartitioned indicators over every period (weeks, months, trimesters, school years): the calendar, the
# period dbt models (adoption_school, feature_reach_school), the rollups, then equity and levers.
indicators_job = dg.define_asset_job(
    "indicators_job",
    selection=dg.AssetSelection.assets(*period_indicator_assets, *period_model_assets, *equity_assets, *lever_assets),
)
# Publication: the suppressed, read-only serving file the dashboard and the reports read (after every indicators run).
publication_job = dg.define_asset_job("publication_job", selection=dg.AssetSelection.assets(*publication_assets))

# The order the pipeline runs in: each job reads what the jobs before it wrote.
PIPELINE_JOBS = [ingest_job, weekly_job, indicators_job, publication_job]
