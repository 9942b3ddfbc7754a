"""Reference assets: académies, départements, communes and schools from real open data."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.reference.schools import build_reference_table
from pipelines.paths import reference_dir


def _reference_table_asset(name: str, description: str, deps: list[str]) -> dg.AssetsDefinition:
    @dg.asset(name=name, description=description, deps=deps, group_name="reference", kinds={"duckdb"})
    def _asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            rows = build_reference_table(con, name, reference_dir())
        context.log.info(f"{name}: {rows} rows")
        return dg.MaterializeResult(metadata={"rows": rows, "reference_dir": str(reference_dir())})

    return _asset


academies = _reference_table_asset(
    "academies", "The 30 académies with names and régions académiques, from the official contours.", []
)
departements = _reference_table_asset(
    "departements", "The 101 départements with their académie (IGN/INSEE names).", []
)
communes = _reference_table_asset(
    "communes", "Communes with population density and a rural/urban class (density proxy).", []
)
schools = _reference_table_asset(
    "schools",
    "Every school open in the latest year (~43k) with IPS, level, secteur, geography and context.",
    ["academies", "departements", "communes"],
)

reference_assets = [academies, departements, communes, schools]
