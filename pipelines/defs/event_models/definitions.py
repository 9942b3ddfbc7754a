"""The event models' Dagster definitions: the dbt models as assets (merged into the code location by
pipelines/definitions.py)."""

import dagster as dg

from pipelines.defs.event_models.assets import event_model_assets

defs = dg.Definitions(assets=event_model_assets)
