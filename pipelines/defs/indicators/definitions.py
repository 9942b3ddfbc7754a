"""The indicators domain's Dagster definitions (merged into the code location by pipelines/definitions.py).

Its checks include those of the period dbt models (``adoption_school``, ``feature_reach_school``)."""

import dagster as dg

from pipelines.defs.indicators.assets import period_indicator_assets
from pipelines.defs.indicators.checks import indicator_checks

defs = dg.Definitions(assets=period_indicator_assets, asset_checks=indicator_checks)
