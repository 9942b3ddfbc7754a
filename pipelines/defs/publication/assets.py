"""The publication stage's asset: publishes the serving file, the small-cell-suppressed, read-only DuckDB file the
dashboard reads (docs/design.md, Layout: "publication" names the stage, "serving" the file)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.publication.publish import publish_serving
from pipelines.serving_file import serving_path

# What the publisher reads. Aggregates are recomputed from the school rows (the suppression needs each
# cell's schools), so adoption_rollup / feature_reach_rollup are not read; the
# equity engineer's equity_summary and school_flags are optional (published without them if absent).
PUBLICATION_DEPS = [
    "schools", "academies", "departements", "periods", "adoption_school", "feature_reach_school",
    "school_ips_quintiles", "data_gaps", "equity_summary", "school_flags",
    "parent_activity_to_date", "school_context", "mediation_workshops",  # refitted levers (levers.py)
]


@dg.asset(deps=PUBLICATION_DEPS, group_name="publication", kinds={"duckdb"})
def published_serving(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Suppressed, pre-aggregated copy of the indicators for the dashboard, swapped in atomically."""
    target = serving_path()
    with duckdb.get_connection() as con:
        summary = publish_serving(con, target)
    for report in summary.reports:
        context.log.info(f"{report.family}: {report.units_primary} primary and {report.units_secondary} secondary "
                         f"school suppressions, {report.cells_primary} + {report.cells_complementary} cells; "
                         f"audit {report.audit} ({report.audit_fixes} fixes)")
    if summary.missing_inputs:
        context.log.warning(f"published without: {', '.join(summary.missing_inputs)}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(target)), **summary.metadata()})


publication_assets = [published_serving]
