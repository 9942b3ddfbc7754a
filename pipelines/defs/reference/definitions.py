"""The reference domain's Dagster definitions (merged into the code location by pipelines/definitions.py)."""

import dagster as dg

from pipelines.defs.reference.assets import reference_assets
from pipelines.defs.reference.checks import schools_checks

defs = dg.Definitions(assets=reference_assets, asset_checks=schools_checks)
