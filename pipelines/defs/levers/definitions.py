"""The levers domain's Dagster definitions (merged into the code location by pipelines/definitions.py)."""

import dagster as dg

from pipelines.defs.levers.assets import lever_assets
from pipelines.defs.levers.checks import lever_checks

defs = dg.Definitions(assets=lever_assets, asset_checks=lever_checks)
