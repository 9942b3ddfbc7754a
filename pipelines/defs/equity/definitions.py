"""The equity domain's Dagster definitions (merged into the code location by pipelines/definitions.py)."""

import dagster as dg

from pipelines.defs.equity.assets import equity_assets
from pipelines.defs.equity.checks import equity_checks

defs = dg.Definitions(assets=equity_assets, asset_checks=equity_checks)
