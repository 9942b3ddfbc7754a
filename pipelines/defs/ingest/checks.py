"""Checks on the ingested tables: Great Expectations suites (blocking) and data-gap flags."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest.partitions import weekly_partitions
from pipelines.formats.entcore import AUTH_METHODS, CHANNELS, PROFILES, SERVICES
from pipelines.quality.gx_validation import expect, run_suite

UAI_REGEX = r"^[0-9]{7}[A-Z]$"
PSEUDO_REGEX = r"^[0-9a-f]{32}$"  # 128-bit pseudonym, as 32 hex digits
SAMPLE_PER_STRATUM = 300


def _result(passed: bool, metadata: dict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=passed,
        metadata={k: dg.MetadataValue.json(v) if isinstance(v, list) else v for k, v in metadata.items()},
    )


def validate_events_sample(con, first: str, last: str) -> tuple[bool, dict]:
    """GX suite on a stratified sample (school level × profile × service) of the events of weeks [first, last]."""
    sample = con.sql(
        f"""
        SELECT e.* REPLACE (lpad(lower(hex(event_id)), 32, '0') AS event_id,
                            lpad(lower(hex(user_pseudo)), 32, '0') AS user_pseudo,
                            profile::VARCHAR AS profile, service::VARCHAR AS service,
                            channel::VARCHAR AS channel, auth_method::VARCHAR AS auth_method,
                            week_start::VARCHAR AS week_start),
               date_trunc('week', e.occurred_at AT TIME ZONE 'Europe/Paris')::DATE::VARCHAR AS paris_week_of_event,
               s.level
        FROM events e JOIN schools s USING (uai)
        WHERE week_start BETWEEN '{first}' AND '{last}'
        QUALIFY row_number() OVER (PARTITION BY s.level, e.profile, e.service ORDER BY hash(e.event_id))
                <= {SAMPLE_PER_STRATUM}
        """
    ).df()
    week_rows = con.execute("SELECT count(*) FROM events WHERE week_start BETWEEN ? AND ?", [first, last]).fetchall()[0][0]
    if sample.empty:
        return True, {"rows_validated": 0, "rows_in_weeks": week_rows, "note": "no events in these weeks"}
    expectations = [
        expect("ExpectColumnValuesToNotBeNull", column=c)
        for c in ("event_id", "occurred_at", "uai", "user_pseudo", "profile", "service", "event_type", "channel")
    ] + [
        expect("ExpectColumnValuesToBeUnique", column="event_id"),
        expect("ExpectColumnValuesToMatchRegex", column="uai", regex=UAI_REGEX),
        expect("ExpectColumnValuesToMatchRegex", column="user_pseudo", regex=PSEUDO_REGEX),
        expect("ExpectColumnValuesToBeInSet", column="profile", value_set=list(PROFILES)),
        expect("ExpectColumnValuesToBeInSet", column="service", value_set=list(SERVICES)),
        expect("ExpectColumnValuesToBeInSet", column="channel", value_set=list(CHANNELS)),
        expect("ExpectColumnValuesToBeInSet", column="auth_method", value_set=list(AUTH_METHODS)),
        expect("ExpectColumnPairValuesToBeEqual", column_A="week_start", column_B="paris_week_of_event"),
    ]
    passed, metadata = run_suite("events_sample", sample, expectations)
    return passed, metadata | {"rows_in_weeks": week_rows}


@dg.asset_check(
    asset="events", partitions_def=weekly_partitions, blocking=True,
    description="Great Expectations suite on a stratified sample (school level × profile × service) of the weeks.",
)
def events_expectations(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        return _result(*validate_events_sample(con, context.partition_keys[0], context.partition_keys[-1]))


@dg.asset_check(asset="accounts", blocking=True, description="Great Expectations suite on a per-profile sample of accounts.")
def accounts_expectations(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        sample = con.sql(
            f"""
            SELECT * REPLACE (lpad(lower(hex(user_pseudo)), 32, '0') AS user_pseudo, profile::VARCHAR AS profile)
            FROM accounts
            QUALIFY row_number() OVER (PARTITION BY profile ORDER BY hash(user_pseudo, uai)) <= {SAMPLE_PER_STRATUM * 10}
            """
        ).df()
        orphans = con.execute("SELECT count(*) FROM accounts a ANTI JOIN schools s USING (uai)").fetchall()[0][0]
    if sample.empty:
        return _result(True, {"rows_validated": 0, "note": "no accounts ingested"})
    passed, metadata = run_suite(
        "accounts_sample",
        sample,
        [
            expect("ExpectColumnValuesToNotBeNull", column="user_pseudo"),
            expect("ExpectColumnValuesToMatchRegex", column="user_pseudo", regex=PSEUDO_REGEX),
            expect("ExpectColumnValuesToMatchRegex", column="uai", regex=UAI_REGEX),
            expect("ExpectColumnValuesToBeInSet", column="profile", value_set=list(PROFILES)),
            expect("ExpectCompoundColumnsToBeUnique", column_list=["user_pseudo", "uai", "profile"]),
            expect("ExpectColumnPairValuesAToBeGreaterThanB", 
                column_A="activated_at", column_B="created_at", or_equal=True, ignore_row_if="either_value_is_missing"
            ),
        ],
    )
    return _result(passed and orphans == 0, metadata | {"accounts_without_school": orphans})


@dg.asset_check(asset="landing_manifest", blocking=True, description="Every file balances: read = stored + duplicate + quarantined.")
def landing_manifest_expectations(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        manifest = con.sql(
            "SELECT *, rows_read - rows_stored - rows_duplicate - rows_quarantined AS balance_gap FROM landing_manifest"
        ).df()
    if manifest.empty:
        return _result(True, {"rows_validated": 0, "note": "no landed file yet"})
    return _result(
        *run_suite(
            "landing_manifest",
            manifest,
            [
                expect("ExpectColumnValuesToBeBetween", column="balance_gap", min_value=0, max_value=0),
                expect("ExpectColumnValuesToBeInSet", column="status", value_set=["ingested", "duplicate_content", "rejected"]),
                expect("ExpectColumnValuesToMatchRegex", column="sha256", regex=r"^[0-9a-f]{64}$"),
                expect("ExpectCompoundColumnsToBeUnique", column_list=["file_path", "sha256"]),
            ],
        )
    )


@dg.asset_check(
    asset="data_gaps", partitions_def=weekly_partitions, blocking=False,
    description="Warns when a school's weekly volume fell > 80 % below its median (probable data gap).",
)
def no_probable_data_gaps(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    first, last = context.partition_keys[0], context.partition_keys[-1]
    with duckdb.get_connection() as con:
        flagged = con.execute(
            "SELECT count(*), count(DISTINCT uai) FROM data_gaps WHERE week_start BETWEEN ? AND ?", [first, last]
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=flagged[0] == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"flagged_school_weeks": flagged[0], "schools": flagged[1]},
    )


ingest_checks = [events_expectations, accounts_expectations, landing_manifest_expectations, no_probable_data_gaps]
