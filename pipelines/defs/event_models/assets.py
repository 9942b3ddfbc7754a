"""The event-scale models of the dbt project (pipelines_dbt/models/) as Dagster assets.

Two ``@dbt_assets``: the models tagged ``weekly`` (``sessions``, ``data_gaps`` and the
seed they read), weekly partitions, a run materializing a range of weeks with one ``dbt build``, the
range passed as vars first_week / last_week; and the models tagged ``periods`` (``adoption_school``,
``feature_reach_school``), unpartitioned, recomputing the periods that start on or after ``from_day``.
The dbt tests arrive as asset checks. The translator names the models after the assets they replaced
and maps the lake's sources to the assets they come from (``lake.events`` to ``events``, the exported
dimensions to the warehouse tables of the same names), so that downstream deps, jobs and sensors are
unchanged (docs/scale/dbt_engines.md, section 5). Each asset exports the dimensions its models read
before dbt opens the warehouse, and holds no connection to it while dbt runs: one writer per DuckDB file.
"""


import json
import os
from collections.abc import Mapping
from typing import Any
from unittest import mock

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.defs.event_models.project import base_vars, dbt_project, dbt_target, ensure_manifest
from pipelines.defs.ingest.partitions import FIRST_WEEK, weekly_partitions
from pipelines.lake.dimensions import export_dimensions
from pipelines.paths import lake_dir, warehouse_path

# The lake dimensions each selection reads: ``sessions`` dates each session in its school's zone and
# ``data_gaps`` groups schools by académie; the period models join the accounts, ODE exports and periods.
WEEKLY_DIMENSIONS = ("schools",)
PERIOD_DIMENSIONS = ("accounts", "ode_statistics", "periods")
MANIFEST = ensure_manifest()


class EventModelsTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source" and props["source_name"] == "lake":
            return spec.replace_attributes(key=dg.AssetKey(props["name"]))  # events, or a warehouse table
        if props["resource_type"] == "seed":
            key = dg.AssetKey(["event_models", props["name"]])
        else:
            key = dg.AssetKey(props["name"])
        return spec.replace_attributes(key=key, group_name=spec.group_name or "indicators", kinds={"dbt", _engine()})


def _engine() -> str:
    return "spark" if dbt_target().startswith(("spark", "kyuubi", "databricks")) else "duckdb"


def _dbt_environment():
    """The paths of this run for the dbt subprocess, while it starts: the warehouse it writes and the
    lake it reads (profiles.yml and _lake__sources.yml read them from the environment)."""
    return mock.patch.dict(os.environ, {"ENT_DBT_DUCKDB_PATH": str(warehouse_path()), "ENT_LAKE_DIR": str(lake_dir()),
                                        "ENT_DBT_TARGET": dbt_target()})


def _recompute_from(con) -> str:
    """First day whose periods are recomputed: after the last retention purge, raw events are gone and
    older periods keep the figures computed while they existed."""
    purged = con.execute(
        "SELECT max(value) FROM warehouse_settings WHERE key = 'events_purged_before'"
    ).fetchall()[0][0]
    return max(FIRST_WEEK, purged) if purged else FIRST_WEEK


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, dbt_vars: dict, metadata: dict):
    """``dbt build`` with ``dbt_vars``; its events are yielded once dbt has exited, the materializations
    with ``metadata`` and, on DuckDB, the rows of each table (read then, when the warehouse has no writer)."""
    with _dbt_environment():
        events = list(dbt.cli(["build", "--vars", json.dumps(base_vars() | dbt_vars)], context=context).stream())
    outputs = {e.output_name: context.asset_key_for_output(e.output_name).path[-1]
               for e in events if isinstance(e, dg.Output)}
    rows = {}
    if _engine() == "duckdb":
        with duckdb.connect(str(warehouse_path()), read_only=True) as con:
            rows = {name: con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0] for name, table in outputs.items()}
    for event in events:
        if isinstance(event, dg.Output):
            extra = metadata | ({"table_rows": rows[event.output_name]} if rows else {})
            event = event.with_metadata({**event.metadata, **extra})
        yield event


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    select="tag:weekly",
    partitions_def=weekly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=EventModelsTranslator(),
    name="weekly_event_models",
)
def weekly_event_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of the weekly models over the partition range (sessions, data_gaps)."""
    keys = context.partition_keys
    export_dimensions(warehouse_path(), lake_dir(), WEEKLY_DIMENSIONS)  # before dbt opens the warehouse
    yield from _build(context, dbt, {"first_week": keys[0], "last_week": keys[-1]}, {})


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    select="tag:periods",
    dagster_dbt_translator=EventModelsTranslator(),
    name="period_models",
)
def period_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of the period models from the first day to recompute (adoption_school, feature_reach_school)."""
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:  # closed before dbt opens the warehouse
        from_day = _recompute_from(con)
        export_dimensions(con, lake_dir(), PERIOD_DIMENSIONS)
    yield from _build(context, dbt, {"from_day": from_day}, {"recomputed_from": from_day})


weekly_model_assets = [weekly_event_models]
period_model_assets = [period_models]
event_model_assets = weekly_model_assets + period_model_assets
