"""Reference assets: académies, départements, communes and schools from real open data."""

import hashlib

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.reference.schools import build_reference_table
from pipelines.paths import reference_dir


def reference_version(folder) -> str:
    """The data version of the reference tables: a hash of every file under the reference folder (a
    re-run rebuilds them only when it differs, docs/rerun.md)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def _reference_table_asset(name: str, description: str, deps: list[str]) -> dg.AssetsDefinition:
    @dg.asset(name=name, description=description, deps=deps, group_name="reference", kinds={"duckdb"})
    def _asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
        version = reference_version(reference_dir())  # before reading: a file changed meanwhile differs next run
        with duckdb.get_connection() as con:
            rows = build_reference_table(con, name, reference_dir())
        context.log.info(f"{name}: {rows} rows")
        return dg.MaterializeResult(metadata={"rows": rows, "reference_dir": str(reference_dir())},
                                    data_version=dg.DataVersion(version))

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
