-- Warehouse tables written by ingestion. Created if missing; every statement is idempotent.
CREATE TYPE IF NOT EXISTS profile_t AS ENUM ('parent', 'eleve', 'enseignant', 'personnel', 'autre');
CREATE TYPE IF NOT EXISTS service_t AS ENUM (
    'connexion', 'notes', 'vie_scolaire', 'cahier_de_textes', 'messagerie', 'blog', 'documents',
    'carnet_de_liaison', 'actualites', 'agenda', 'autre');
CREATE TYPE IF NOT EXISTS channel_t AS ENUM ('web', 'mobile_app', 'other');
CREATE TYPE IF NOT EXISTS auth_method_t AS ENUM ('educonnect', 'franceconnect', 'ent_local');

-- One row per landed file version (path + content). rows_read = stored + duplicate + quarantined.
CREATE TABLE IF NOT EXISTS landing_manifest (
    file_path VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    format VARCHAR,
    encoding VARCHAR,
    separator VARCHAR,
    size_bytes BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- ingested | duplicate_content | rejected
    duplicate_of VARCHAR,             -- first file_path with the same content
    rows_read BIGINT NOT NULL,
    rows_stored BIGINT NOT NULL,
    rows_duplicate BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_mapped_to_autre BIGINT NOT NULL DEFAULT 0,
    first_event_at TIMESTAMPTZ,
    last_event_at TIMESTAMPTZ,
    error VARCHAR,
    pseudonymization VARCHAR,         -- 'key <fingerprint>' or 'DEMO key <fingerprint>'
    ingested_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (file_path, sha256)
);

-- Every rejected row: file, line, the reason (never quoting the file) and an allow-listed excerpt
-- (known fields with non-identifying values, pseudonyms for user ids, lengths for free text: excerpt.py).
CREATE TABLE IF NOT EXISTS quarantine (
    file_path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    line_number BIGINT,
    reason VARCHAR NOT NULL,
    excerpt VARCHAR,
    quarantined_at TIMESTAMPTZ NOT NULL
);

-- Events live in the Parquet lake (lake.py), not here: one row per lake file, written in the
-- transaction that records its landed file in landing_manifest. The view `events` reads the lake.
CREATE TABLE IF NOT EXISTS lake_files (
    path VARCHAR PRIMARY KEY,         -- relative to <lake>/events: week_start=YYYY-MM-DD/part-<sha256[:16]>-<n>.parquet
    week_start DATE NOT NULL,         -- Monday of the ISO week, Europe/Paris (the hive partition)
    rows BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,          -- of the landed file the events come from
    source_file VARCHAR NOT NULL
);

-- Loaded (provisioned) accounts; activated_at NULL = never activated. Latest snapshot wins.
CREATE TABLE IF NOT EXISTS accounts (
    user_pseudo UHUGEINT NOT NULL,
    uai VARCHAR NOT NULL,
    profile profile_t NOT NULL,
    created_at DATE,
    activated_at DATE,
    snapshot_file VARCHAR NOT NULL,
    PRIMARY KEY (user_pseudo, uai, profile)
);

-- ODE "statistics" exports: aggregated per school, day and profile (no user ids).
CREATE TABLE IF NOT EXISTS ode_statistics (
    uai VARCHAR NOT NULL,
    stat_date DATE NOT NULL,
    profile profile_t NOT NULL,
    connexions BIGINT,
    unique_visitors BIGINT,
    accounts_loaded BIGINT,
    accounts_activated BIGINT,
    source_file VARCHAR NOT NULL,
    PRIMARY KEY (uai, stat_date, profile)
);

-- entcore internal structure ids → UAI.
CREATE TABLE IF NOT EXISTS entcore_structures (
    structure_id VARCHAR PRIMARY KEY,
    uai VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL
);

-- School context: teacher ENT training, household equipment; mediation workshops.
CREATE TABLE IF NOT EXISTS school_context (
    uai VARCHAR PRIMARY KEY,
    teacher_ent_training_rate DOUBLE,
    household_equipment_rate DOUBLE,
    source_file VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS mediation_workshops (
    uai VARCHAR NOT NULL,
    workshop_date DATE NOT NULL,
    participants INTEGER,
    source_file VARCHAR NOT NULL,
    PRIMARY KEY (uai, workshop_date)
);

-- The fingerprint of the pseudonymization key the warehouse was built with (one row).
CREATE TABLE IF NOT EXISTS warehouse_settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- Probable data gaps: a bad period is marked, not read as non-adoption. Filled by the dbt model
-- pipelines_dbt/models/periods/data_gaps.sql (weekly, incremental); created here so that it exists,
-- empty, before any week is built (the levers and publication read it).
CREATE TABLE IF NOT EXISTS data_gaps (
    uai VARCHAR NOT NULL,
    week_start DATE NOT NULL,
    events BIGINT NOT NULL,
    median_events DOUBLE NOT NULL,
    school_ratio DOUBLE NOT NULL,
    academie_ratio DOUBLE NOT NULL
);
