"""The publication domain's Dagster definitions (merged into the code location by pipelines/definitions.py)."""

import dagster as dg

from pipelines.defs.publication.assets import publication_assets

defs = dg.Definitions(assets=publication_assets)
