"""Levers assets: what narrows the gap (workshop event study, context model, gap explanation, where to act).

Every table holds the latest school year with parent sessions and is rewritten for that year in one
transaction (delete then insert). Every table uses all schools and stays in the warehouse; the release
refits the same rows on the published schools only (``pipelines/defs/publication/levers.py``).
"""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipelines.defs.levers import rows as r

LEVERS = dict(group_name="levers", kinds={"duckdb"})
INPUTS = ["parent_activity_to_date", "adoption_school", "schools", "school_context", "mediation_workshops",
          "school_ips_quintiles", "periods"]


def replace_year(con, table: str, frame: pd.DataFrame, school_year: str) -> int:
    """Replace ``table``'s rows of ``school_year`` by ``frame`` in one transaction; return the rows written."""
    frame = r.with_year(frame, school_year)
    frame = frame[["school_year", *[c for c in frame.columns if c != "school_year"]]]
    if frame.empty and not _exists(con, table):
        return 0  # nothing to write, and no column types to learn from an empty frame
    con.register("lever_rows", frame)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM lever_rows LIMIT 0")
            # A table written before a column was added gains it (NULL in the years written before)
            have = {c for (c,) in con.execute("SELECT column_name FROM information_schema.columns "
                                               "WHERE table_name = ?", [table]).fetchall()}
            for name, kind, *_ in con.execute("DESCRIBE lever_rows").fetchall():
                if name not in have:
                    con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}')
            con.execute(f"DELETE FROM {table} WHERE school_year = ?", [school_year])
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM lever_rows")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("lever_rows")
    return len(frame)


def _exists(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchall()[0][0])


def _skipped() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"skipped": "no school year with parent sessions"})


@dg.asset(deps=["sessions", "accounts", "adoption_school", "periods", "data_gaps"], **LEVERS)
def parent_activity_to_date(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Per school × week: parent accounts active at least once since the rentrée, loaded, data-gap flag."""
    with duckdb.get_connection() as con:
        year = r.school_year(con)
        if year is None:
            return _skipped()
        frame = con.sql(r.lever_sql("parent_activity_to_date"), params={"school_year": year}).df()
        rows = replace_year(con, "parent_activity_to_date", frame.drop(columns="school_year"), year)
    return dg.MaterializeResult(metadata={"school_year": year, "rows": rows, "gap_weeks": int((~frame["valid"]).sum())})


@dg.multi_asset(
    specs=[
        dg.AssetSpec("lever_effects", deps=INPUTS, description="Effect of each lever per scope, scale and method.", **LEVERS),
        dg.AssetSpec("workshop_event_study", deps=INPUTS, description="Workshop effect by week from the workshop (leads: pre-trends).", **LEVERS),
        dg.AssetSpec("context_coefficients", deps=INPUTS, description="Context model coefficients (logit) with intervals.", **LEVERS),
        dg.AssetSpec("academie_context_effects", deps=INPUTS, description="Each académie's effect à contexte comparable.", **LEVERS),
    ],
    can_subset=False,
)
def workshop_evaluation(duckdb: DuckDBResource):
    """Workshop event study, naive comparison and context model: lever effects, event study, coefficients, académie effects."""
    with duckdb.get_connection() as con:
        year = r.school_year(con)
        if year is None:
            for name in ("lever_effects", "workshop_event_study", "context_coefficients", "academie_context_effects"):
                yield dg.MaterializeResult(asset_key=name, metadata={"skipped": "no school year with parent sessions"})
            return
        e = r.evaluation(r.read_inputs(con, year))
        written = {
            "lever_effects": replace_year(con, "lever_effects", e.effects, year),
            "workshop_event_study": replace_year(con, "workshop_event_study", e.event_study, year),
            "context_coefficients": replace_year(con, "context_coefficients", e.coefficients, year),
            "academie_context_effects": replace_year(con, "academie_context_effects", e.academies, year),
        }
    national = e.effects[(e.effects["scope"] == r.NATION) & (e.effects["lever"] == "workshop")]
    summary = {f"workshop_{m}_{s}": round(float(v), 4) for m, s, v in national[["method", "scale", "estimate"]].itertuples(index=False)}
    pretrend = {f"pretrend_p_{scale}": round(test[2], 4) for scale, test in e.pretrends.items()}
    for name, rows in written.items():
        extra = summary | pretrend if name in ("lever_effects", "workshop_event_study") else {}
        yield dg.MaterializeResult(asset_key=name, metadata={"school_year": year, "rows": rows, **extra})


@dg.asset(deps=INPUTS, **LEVERS)
def gap_decomposition(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Académie gaps to the nation and the IPS Q5 - Q1 gap split into composition and the rest (bootstrap intervals)."""
    with duckdb.get_connection() as con:
        year = r.school_year(con)
        if year is None:
            return _skipped()
        frame = r.gap_rows(r.read_inputs(con, year))
        if frame is None:
            return dg.MaterializeResult(metadata={"skipped": f"fewer than {r.MIN_CONTEXT_SCHOOLS} schools with context"})
        rows = replace_year(con, "gap_decomposition", frame, year)
    q = frame[(frame["gap"] == "ips_q5_q1")].set_index("component")["estimate"]
    return dg.MaterializeResult(metadata={"school_year": year, "rows": rows, "bootstrap": r.GAP_BOOTSTRAP,
                                          **{f"q5_q1_{k}": round(float(v), 3) for k, v in q.items()}})


@dg.multi_asset(
    specs=[
        dg.AssetSpec("workshop_targets", deps=["lever_effects", *INPUTS], description="Schools ranked by expected extra active parents from one workshop (all schools; warehouse only).", **LEVERS),
        dg.AssetSpec("workshop_scenarios", deps=["lever_effects", *INPUTS], description="K workshops per académie: rate and SII before and after (all schools; warehouse only).", **LEVERS),
    ],
    can_subset=False,
)
def where_to_act(duckdb: DuckDBResource):
    """Per académie: schools ranked by expected extra active parents from one workshop, and K-workshop budget scenarios."""
    with duckdb.get_connection() as con:
        year = r.school_year(con) if _exists(con, "lever_effects") else None
        effects = con.sql("SELECT * FROM lever_effects WHERE school_year = $y", params={"y": year}).df() if year else None
        effect = None if effects is None else r.national_workshop_logit(effects)
        if effect is None:
            for name in ("workshop_targets", "workshop_scenarios"):
                yield dg.MaterializeResult(asset_key=name, metadata={"skipped": "no national workshop effect"})
            return
        beta, low, high = effect
        ranking, scenarios = r.where_to_act_rows(r.read_inputs(con, year), beta, low, high)
        written = {"workshop_targets": replace_year(con, "workshop_targets", ranking, year),
                   "workshop_scenarios": replace_year(con, "workshop_scenarios", scenarios, year)}
    for name, rows in written.items():
        yield dg.MaterializeResult(asset_key=name, metadata={"school_year": year, "rows": rows, "workshop_logit": round(beta, 4)})


lever_assets = [parent_activity_to_date, workshop_evaluation, gap_decomposition, where_to_act]
