"""The weekly event models of the dbt project (pipelines_dbt/models/events/) as Dagster assets.

One ``@dbt_assets`` over the models tagged ``weekly`` (and the seed they read): a run materializes a
range of weekly partitions with one ``dbt build``, the range passed as vars first_week / last_week;
the dbt tests arrive as asset checks. The translator names the models after the assets they replaced
(``sessions``, ``usage_weekly``) and maps the source ``lake.events`` to the ``events`` asset (the
lake's committed weeks), so that downstream deps, jobs and sensors are unchanged
(docs/scale/dbt_engines.md, section 5).
"""


import json
import os
from collections.abc import Mapping
from typing import Any
from unittest import mock

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.defs.event_models.project import base_vars, dbt_project, dbt_resource, dbt_target, ensure_manifest
from pipelines.defs.ingest.partitions import weekly_partitions
from pipelines.lake.dimensions import export_dimensions
from pipelines.paths import lake_dir, warehouse_path

WEEKLY_SELECT = "tag:weekly"
# Weekly models not wired yet: the warehouse still runs their SQL (docs/scale/dbt_engines.md, section 3).
WEEKLY_EXCLUDE = "data_gaps"
# The lake dimensions the weekly models read (``sessions`` dates each session in its school's zone).
WEEKLY_DIMENSIONS = ("schools",)


class EventModelsTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source" and props["source_name"] == "lake" and props["name"] == "events":
            return spec.replace_attributes(key=dg.AssetKey("events"))
        if props["resource_type"] == "seed":
            key = dg.AssetKey(["event_models", props["name"]])
        else:
            key = dg.AssetKey(props["name"])
        return spec.replace_attributes(key=key, group_name="indicators", kinds={"dbt", _engine()})


def _engine() -> str:
    return "spark" if dbt_target().startswith(("spark", "kyuubi", "databricks")) else "duckdb"


def _dbt_environment():
    """The paths of this run for the dbt subprocess, while it starts: the warehouse it writes and the
    lake it reads (profiles.yml and _lake__sources.yml read them from the environment)."""
    return mock.patch.dict(os.environ, {"ENT_DBT_DUCKDB_PATH": str(warehouse_path()), "ENT_LAKE_DIR": str(lake_dir()),
                                        "ENT_DBT_TARGET": dbt_target()})


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    select=WEEKLY_SELECT,
    exclude=WEEKLY_EXCLUDE,
    partitions_def=weekly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=EventModelsTranslator(),
    name="weekly_event_models",
)
def weekly_event_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of the weekly models over the partition range (sessions, then usage_weekly)."""
    keys = context.partition_keys
    dbt_vars = base_vars() | {"first_week": keys[0], "last_week": keys[-1]}
    export_dimensions(warehouse_path(), lake_dir(), WEEKLY_DIMENSIONS)  # before dbt opens the warehouse
    with _dbt_environment():
        invocation = dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context)
    yield from invocation.stream()


event_model_assets = [weekly_event_models]
