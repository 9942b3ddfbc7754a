"""Ingestion assets: landed files into the warehouse and the event lake, then the lake's ISO weeks (the
weekly dbt models, data_gaps among them, read them: pipelines/defs/event_models/)."""

import datetime as dt
import time

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest import lake
from pipelines.defs.ingest.ingest_file import ensure_schema, ingest_landing, landing_signature, landing_signature_digest
from pipelines.defs.ingest.partitions import FIRST_WEEK, weekly_partitions
from pipelines.defs.ingest.pseudonymize import pseudonymizer_from_env
from pipelines.paths import lake_dir, landing_dir

INGESTED_TABLES = {
    "landing_manifest": "One row per landed file version: hash, format, rows read / stored / duplicate / quarantined.",
    "quarantine": "Every rejected row with its file, line, reason and allow-listed excerpt (nothing personal).",
    "lake_events": "Pseudonymized, validated, deduplicated events of every landed file, written once as zstd "
                   "Parquet under lake/events/week_start=YYYY-MM-DD/ (listed in the warehouse's lake_files).",
    "accounts": "Loaded and activated ENT accounts per school and profile (pseudonymized).",
    "ode_statistics": "ODE statistics exports: connexions, visitors, loaded / activated accounts per school and day.",
    "entcore_structures": "entcore structure ids mapped to UAIs.",
    "school_context": "Per-school context: teacher ENT training rate, household equipment rate.",
    "mediation_workshops": "Parent mediation workshops held per school, with dates.",
}


@dg.multi_asset(
    specs=[
        # Only landing_manifest is materialized when no file is new (it records the landing folder looked
        # at): the tables did not change, so nothing downstream of them is stale (docs/rerun.md).
        dg.AssetSpec(name, description=desc, deps=["schools"], group_name="ingest", skippable=name != "landing_manifest",
                     kinds={"parquet"} if name == "lake_events" else {"duckdb"})
        for name, desc in INGESTED_TABLES.items()
    ],
    can_subset=False,
)
def landed_files(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Ingest every new landing file: one transaction per file, pseudonymized, deduplicated, quarantined."""
    pseudonymizer = pseudonymizer_from_env()  # fails clearly, before reading anything, without a key
    if pseudonymizer.demo:
        context.log.warning("DEMO pseudonymization key in use: for demo data only.")
    # Taken before reading: a file that lands or changes during the run differs from it at the next run.
    signature = landing_signature(landing_dir())
    started = time.perf_counter()
    stored = 0

    def progress(done: int, total: int, path, o, seconds: float) -> None:
        nonlocal stored
        if o is None:  # already ingested: counted in the summary below
            return
        stored += o.rows_stored
        context.log.info(
            f"file {done}/{total} {o.file_path} [{o.format}] {o.status}: read {o.rows_read} = stored {o.rows_stored} "
            f"+ duplicate {o.rows_duplicate} + quarantined {o.rows_quarantined}" + (f" ({o.error})" if o.error else "")
            + f" in {seconds:.1f} s; {stored:,} events stored, {stored / max(time.perf_counter() - started, 1e-6):,.0f} events/s"
        )

    with duckdb.get_connection() as con:
        outcomes = ingest_landing(con, landing_dir(), pseudonymizer, dt.date.fromisoformat(FIRST_WEEK), progress=progress)
        totals = con.execute(
            """SELECT (SELECT count(*) FROM landing_manifest), (SELECT count(*) FROM quarantine),
                      (SELECT coalesce(sum(rows), 0) FROM lake_files), (SELECT count(*) FROM accounts),
                      (SELECT count(*) FROM ode_statistics), (SELECT count(*) FROM entcore_structures),
                      (SELECT count(*) FROM school_context), (SELECT count(*) FROM mediation_workshops)"""
        ).fetchall()[0]
        warehouse_id = con.execute("SELECT value FROM warehouse_settings WHERE key = 'lake_id'").fetchall()[0][0]
    context.log.info(f"{len(outcomes)} new file(s) of {len(signature)} in landing/, {stored:,} events stored "
                     f"in {time.perf_counter() - started:.1f} s")
    weeks = sorted({w for o in outcomes for w in o.weeks})
    per_file = [
        {"file": o.file_path, "format": o.format, "status": o.status, "read": o.rows_read, "stored": o.rows_stored,
         "duplicate": o.rows_duplicate, "quarantined": o.rows_quarantined, "mapped_to_autre": o.rows_mapped_to_autre}
        for o in outcomes
    ]
    common = {"pseudonymization": pseudonymizer.label, "demo_key": pseudonymizer.demo}
    for name, rows in zip(INGESTED_TABLES, totals):
        if name != "landing_manifest" and not outcomes:
            continue
        metadata = common | {"rows": rows}
        if name == "landing_manifest":
            metadata |= {
                "warehouse_id": warehouse_id,
                "landing_files": len(signature),
                "landing_signature": landing_signature_digest(signature),
                "new_files": len(outcomes),
                "files": dg.MetadataValue.json(per_file),
                "balance_holds": all(f["read"] == f["stored"] + f["duplicate"] + f["quarantined"] for f in per_file),
                "rows_mapped_to_autre": sum(o.rows_mapped_to_autre for o in outcomes),
            }
        if name == "lake_events":
            metadata |= {"weeks_touched": dg.MetadataValue.json(weeks), "lake": str(lake_dir())}
        yield dg.MaterializeResult(asset_key=name, metadata=metadata)


@dg.asset(
    partitions_def=weekly_partitions,
    deps=["lake_events"],
    group_name="ingest",
    kinds={"parquet"},
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def events(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Canonical pseudonymized events of the lake, one partition per ISO week (Europe/Paris): the
    weeks as ingestion committed them (lake_files), validated by the blocking GX check before the
    weekly models read them. Nothing is copied: the files are written once, by ingestion."""
    first, last = context.partition_keys[0], context.partition_keys[-1]
    with duckdb.get_connection() as con:
        ensure_schema(con)
        orphans = lake.recover(con, lake_dir())  # what a crashed ingest left, before anything reads the weeks
        files, rows = con.execute(
            "SELECT count(*), coalesce(sum(rows), 0) FROM lake_files WHERE week_start BETWEEN ? AND ?", [first, last]
        ).fetchall()[0]
        schools = con.execute(
            "SELECT count(DISTINCT uai) FROM events WHERE week_start BETWEEN ? AND ?", [first, last]
        ).fetchall()[0][0]
    weeks = [dt.date.fromisoformat(k) for k in (first, last)]
    return dg.MaterializeResult(
        metadata={"rows": rows, "files": files, "orphans_removed": len(orphans), "schools": schools, "weeks": len(context.partition_keys),
                  "iso_weeks": f"{weeks[0]:%G-W%V} → {weeks[-1]:%G-W%V}"}
    )
