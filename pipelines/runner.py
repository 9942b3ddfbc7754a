"""Run the pipeline in this process on a Dagster instance, the way the sensors would in the daemon: the jobs
of ``PIPELINE_JOBS`` (pipelines/jobs.py) in their order, the ingest, the weekly job over the weeks that
changed, the indicators, then the serving copy the dashboard reads; each job runs only the assets whose
inputs, code or settings changed since their last materialization, read from the instance's event log
(docs/rerun.md). A re-run with nothing new runs no job and says why; it decides from the asset graph's
snapshot (pipelines/asset_graph.py), which records the jobs in that order, and builds the Dagster
definitions, which import dagster-dbt, dbt and great_expectations, only when a job runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from pipelines import asset_graph
from pipelines.asset_graph import AssetGraph
from pipelines.defs.ingest import lake
from pipelines.defs.ingest.ingest_file import KeyMismatchError, check_key, landing_signature, landing_signature_digest
from pipelines.defs.ingest.pseudonymize import pseudonymizer_from_env
from pipelines.defs.reference.assets import reference_version
from pipelines.paths import lake_dir, landing_dir, reference_dir, warehouse_path
from pipelines.serving_file import serving_path
from pipelines.stage_log import quiet_run

# Tags Dagster writes on every materialization (docs/rerun.md).
CODE_VERSION_TAG = "dagster/code_version"
DATA_VERSION_TAG = "dagster/data_version"
LANDING = dg.AssetKey("landing_manifest")
LAKE_EVENTS = dg.AssetKey("lake_events")
EVENTS = dg.AssetKey("events")
SERVING = dg.AssetKey("published_serving")
# Read outside the asset graph's deps: the period models start from the last retention purge
# (warehouse_settings.events_purged_before), so a purge makes them stale.
EXTRA_PARENTS = {dg.AssetKey("adoption_school"): [dg.AssetKey("expired_events_purge")],
                 dg.AssetKey("feature_reach_school"): [dg.AssetKey("expired_events_purge")]}


@dataclass
class PipelineRun:
    success: bool = True
    runs: list[tuple[str, str, bool, float]] = field(default_factory=list)  # (job, run_id, success, seconds)
    failed_checks: list[str] = field(default_factory=list)
    weeks: tuple[str, str] | None = None  # first and last week the weekly job ran over
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (job, why nothing of it ran)
    reasons: list[tuple[str, list[str]]] = field(default_factory=list)  # (job, why it ran: one line per asset)
    problems: list[str] = field(default_factory=list)  # what is wrong although nothing changed


class Pipeline:
    """The asset graph the runner decides from, and the Dagster definitions, built only when a job runs.

    The graph is the snapshot in the instance's folder when the sources are those it was written from
    (pipelines/asset_graph.py); otherwise, and whenever the definitions are built, it is taken from them
    and the snapshot written again."""

    def __init__(self, instance: dg.DagsterInstance):
        self._folder = Path(instance.root_directory)
        self._defs: dg.Definitions | None = None
        self.graph = asset_graph.load(self._folder) or self._build()

    def _build(self) -> AssetGraph:
        from pipelines.definitions import build_defs, pipeline_assets
        from pipelines.defs.reference.assets import reference_assets
        from pipelines.jobs import PIPELINE_JOBS

        self._defs = build_defs()
        graph = asset_graph.from_definitions(self._defs, pipeline_assets(), reference_assets,
                                             [job.name for job in PIPELINE_JOBS])
        asset_graph.save(self._folder, graph)
        return graph

    @property
    def defs(self) -> dg.Definitions:
        if self._defs is None:
            self._build()
        return self._defs

    def selection(self, selection: dg.AssetSelection) -> list[dg.AssetKey]:
        """The keys of ``selection`` with the multi-assets they belong to, on the definitions' graph."""
        graph = self.defs.resolve_asset_graph()
        return sorted(selection.required_multi_asset_neighbors().resolve(graph), key=str)


class History:
    """This warehouse's last materializations, read through the public DagsterInstance API."""

    def __init__(self, instance: dg.DagsterInstance, graph: AssetGraph, trusted: bool):
        self.instance, self.graph, self.trusted = instance, graph, trusted
        self._runs: dict[str, bool] = {}
        self._latest: dict[dg.AssetKey, dg.EventLogRecord | None] = {}
        self._partitions: dict[dg.AssetKey, dict[str, dg.EventLogRecord]] = {}

    def latest(self, key: dg.AssetKey, partition: str | None = None) -> dg.EventLogRecord | None:
        """The last materialization of ``key`` (of any partition when ``partition`` is None)."""
        if partition is not None:
            return self._by_partition(key).get(partition)
        if key not in self._latest:
            records = self.instance.fetch_materializations(key, limit=1).records
            self._latest[key] = records[0] if records else None
        return self._latest[key]

    def _by_partition(self, key: dg.AssetKey) -> dict[str, dg.EventLogRecord]:
        """Every partition's last materialization, read in pages (newest first) once."""
        if key not in self._partitions:
            latest, cursor = {}, None
            while True:
                page = self.instance.fetch_materializations(key, limit=1000, cursor=cursor)
                for record in page.records:
                    latest.setdefault(record.partition_key, record)
                if not page.has_more:
                    break
                cursor = page.cursor
            self._partitions[key] = latest
        return self._partitions[key]

    def run_succeeded(self, run_id: str) -> bool:
        if run_id not in self._runs:
            run = self.instance.get_run_by_id(run_id)
            self._runs[run_id] = run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        return self._runs[run_id]

    def stale(self, key: dg.AssetKey, partition: str | None = None) -> str | None:
        """Why ``key`` (``partition``) must be materialized again, None when it is up to date: it never
        was for this warehouse, its last run failed, its code changed, or an asset it reads changed since."""
        if not self.trusted:
            return "the instance's last ingest was another warehouse's (or none)"
        record = self.latest(key, partition)
        if record is None:
            return "never materialized"
        if not self.run_succeeded(record.run_id):
            return f"its last run {record.run_id[:8]} did not succeed"
        if record.asset_materialization.tags.get(CODE_VERSION_TAG) != self.graph.code_version(key):
            return "its code or settings changed"
        if key in {*self.graph.reference, LANDING}:
            return None  # their inputs are files: the ingest reads only new landing files whatever changed upstream
        for parent in sorted([*self.graph.parents(key), *EXTRA_PARENTS.get(key, [])], key=str):
            if parent == LAKE_EVENTS and key == EVENTS:
                continue  # weeks: the lake_events materializations that touched them (stale_weeks)
            same_partition = partition if partition and self.graph.partitioned(parent) else None
            upstream = self.latest(parent, same_partition)
            if upstream is not None and upstream.storage_id > record.storage_id:
                return f"{parent.to_user_string()} was materialized since"
        return None


def _warehouse_state(out: PipelineRun) -> tuple[str | None, list[str], bool]:
    """(lake id, the lake's weeks, whether the lake holds files lake_files does not list); every problem a
    run with nothing new must still report goes to ``out.problems``."""
    if not warehouse_path().exists():
        return None, [], False
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if not {"warehouse_settings", "lake_files"} <= tables:
            return None, [], False
        settings = dict(con.execute("SELECT key, value FROM warehouse_settings").fetchall())
        weeks = [w for (w,) in con.execute("SELECT DISTINCT week_start::VARCHAR FROM lake_files ORDER BY 1").fetchall()]
        listed = {p for (p,) in con.execute("SELECT path FROM lake_files").fetchall()}
        if "pseudonymization_key" in settings:
            try:
                check_key(con, pseudonymizer_from_env())  # reads only: the key is recorded
            except (KeyMismatchError, RuntimeError) as exc:
                out.problems.append(str(exc))
    root = lake.events_dir(lake_dir())
    on_disk = {f"{p.parent.name}/{p.name}" for p in root.glob("week_start=*/*")} if root.exists() else set()
    if missing := sorted(listed - on_disk):
        out.problems.append(f"{len(missing)} lake file(s) listed in lake_files are missing under {root} "
                            f"(first: {missing[0]}): the events of their weeks are lost, rebuild from landing/ (README)")
    marker = lake_dir() / lake.MARKER
    lake_id = settings.get("lake_id")
    if lake_id and (not marker.exists() or marker.read_text().strip() != lake_id):
        out.problems.append(f"the event lake {lake_dir()} is not this warehouse's (id {lake_id}): see README, Event lake")
    return lake_id, weeks, bool(on_disk - listed)


def _ingest_selection(history: History, orphans: bool) -> tuple[list[dg.AssetKey], list[str]]:
    reasons, keys = [], []
    version = reference_version(reference_dir())
    for key in history.graph.reference:
        why = history.stale(key)
        if why is None and history.latest(key).asset_materialization.tags.get(DATA_VERSION_TAG) != version:
            why = "the reference files changed"
        if why:
            reasons.append(f"{key.to_user_string()}: {why}")
    if reasons:
        keys += history.graph.reference  # one folder read by all four
    why = history.stale(LANDING)
    if why is None:
        metadata = history.latest(LANDING).asset_materialization.metadata
        if metadata["landing_signature"].value != landing_signature_digest(landing_signature(landing_dir())):
            why = "a landing file appeared or changed"
        elif orphans:
            why = "the lake holds files an interrupted run left (the ingest deletes them)"
    if why:
        reasons.append(f"landed_files: {why}")
        keys.append(LANDING)
    return keys, reasons


def _stale_week_ranges(history: History, keys: list[dg.AssetKey], weeks: list[str]) -> tuple[list[list[str]], list[str]]:
    """Runs of consecutive lake weeks whose weekly assets are stale, and why."""
    touched: dict[str, int] = {}  # week -> storage id of the last lake_events materialization that touched it
    if history.trusted:
        for record in history.instance.fetch_materializations(LAKE_EVENTS, limit=10_000).records:
            for week in record.asset_materialization.metadata["weeks_touched"].value:
                touched.setdefault(week, record.storage_id)
    stale, reasons = [], {}
    for week in weeks:
        for key in keys:
            why = history.stale(key, week)
            if why is None and key == EVENTS and touched.get(week, -1) > history.latest(key, week).storage_id:
                why = "an ingest added events to it since"
            if why:
                stale.append(week)
                reasons.setdefault(f"{key.to_user_string()}: {why}", []).append(week)
                break
    ranges: list[list[str]] = []
    for week in stale:
        if ranges and weeks.index(week) == weeks.index(ranges[-1][-1]) + 1:
            ranges[-1].append(week)
        else:
            ranges.append([week])
    return ranges, [f"{why} ({len(ws)} week(s): {ws[0]} … {ws[-1]})" for why, ws in reasons.items()]


def _downstream_selection(history: History, pipeline: Pipeline, job: str) -> tuple[list[dg.AssetKey], list[str]]:
    """The job's stale assets, what depends on them in the job, and the multi-assets they belong to."""
    keys = [k for k in history.graph.keys if k in history.graph.jobs[job]]
    reasons = {k: why for k in keys if (why := history.stale(k))}
    if not reasons:
        return [], []
    selected = pipeline.selection(dg.AssetSelection.assets(*reasons).downstream() & dg.AssetSelection.assets(*keys))
    return selected, [f"{k.to_user_string()}: {why}" for k, why in sorted(reasons.items(), key=str)]


def _serving_file_changed(history: History) -> str | None:
    """Why the serving copy on disk is not the one the last publish wrote (it writes then records it)."""
    record = history.latest(SERVING)
    if record is None or not history.trusted:
        return None
    path = serving_path()
    if not path.exists():
        return f"the serving copy {path} is missing"
    started = history.instance.get_run_record_by_id(record.run_id).start_time
    if not (started or 0) - 1 <= path.stat().st_mtime <= record.timestamp + 1:
        return f"the serving copy {path} was changed after its publish"
    return None


def stage_logger_config() -> dict:
    """Run config that replaces Dagster's DEBUG console logger by the stage logger (pipelines/stage_log.py)."""
    return {"loggers": {"stages": {}}}


def run_output_path(instance: dg.DagsterInstance) -> Path:
    """Where the raw output of the runs started here goes (dbt's log): beside the instance's storage."""
    return Path(instance.root_directory) / "run_output" / f"{time.strftime('%Y-%m-%d')}.log"


def _execute(job: dg.JobDefinition, instance: dg.DagsterInstance, outcome: PipelineRun, **kwargs) -> None:
    started = time.perf_counter()
    with quiet_run(run_output_path(instance)):
        print(f"==== {time.strftime('%Y-%m-%dT%H:%M:%S')} {job.name}", flush=True)
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=stage_logger_config(),
                                        **kwargs)
    outcome.runs.append((job.name, result.run_id, result.success, time.perf_counter() - started))
    outcome.success &= result.success
    outcome.failed_checks += [
        f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:{e.asset_check_evaluation_data.check_name}"
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]


def _because(reasons: list[str], shown: int = 3) -> str:
    """'because a, b: why; c: other why' from lines 'asset: why' (the same why once)."""
    by_why: dict[str, list[str]] = {}
    for line in reasons:
        label, _, why = line.partition(": ")
        by_why.setdefault(why, []).append(label)
    parts = [f"{', '.join(labels[:shown]) + (f' (+{len(labels) - shown})' if len(labels) > shown else '')}: {why}"
             for why, labels in by_why.items()]
    return "because " + "; ".join(parts)


def _trusted(instance: dg.DagsterInstance, lake_id: str | None) -> bool:
    """Whether the instance's history is this warehouse's: its last ingest recorded this warehouse's id."""
    records = instance.fetch_materializations(LANDING, limit=1).records
    recorded = records[0].asset_materialization.metadata.get("warehouse_id") if records else None
    return lake_id is not None and recorded is not None and recorded.value == lake_id


def _stage_kind(graph: AssetGraph, job: str) -> str:
    """How a job's assets are selected, from what the job selects: "ingest" for the job of the landing files
    (its inputs are files), "weekly" for a job of partitioned assets (run once per range of stale weeks),
    "downstream" for any other (its stale assets and what depends on them in the job)."""
    keys = graph.jobs[job]
    if LANDING in keys:
        return "ingest"
    if all(graph.partitioned(k) for k in keys):
        return "weekly"
    return "downstream"


def run_pipeline(instance: dg.DagsterInstance, announce=print) -> PipelineRun:
    """Ingest what is new, then the weeks, indicators and serving copy that changed: the jobs of the
    asset graph in their order (``PIPELINE_JOBS``); ``announce`` gets one line per stage."""
    pipeline = Pipeline(instance)
    graph = pipeline.graph
    outcome = PipelineRun()
    lake_id, weeks, orphans = _warehouse_state(outcome)
    history = History(instance, graph, _trusted(instance, lake_id))

    for job, selected in graph.jobs.items():
        stage, ran = job.removesuffix("_job"), False
        kind = _stage_kind(graph, job)
        if kind == "ingest":
            keys, reasons = _ingest_selection(history, orphans)
            if keys:
                outcome.reasons.append((job, reasons))
                announce(f"stage {stage}: {_because(reasons)}")
                _execute(pipeline.defs.resolve_job_def(job), instance, outcome,
                         asset_selection=pipeline.selection(dg.AssetSelection.assets(*keys)))
                if not outcome.success:
                    return outcome
                lake_id, weeks, _ = _warehouse_state(outcome)
                ran = True
            else:
                outcome.skipped.append((job, f"no landing file new or changed ({len(landing_signature(landing_dir()))} "
                                             "files as last ingested), reference data unchanged"))
            if outcome.problems:
                outcome.success = False
                return outcome
        elif kind == "weekly":
            keys = sorted(selected, key=lambda k: (k != EVENTS, str(k)))  # upstream first
            ranges, reasons = _stale_week_ranges(history, keys, weeks)
            if ranges:
                outcome.reasons.append((job, reasons))
                outcome.weeks = (ranges[0][0], ranges[-1][-1])
            else:
                outcome.skipped.append((job, f"every week of the lake ({len(weeks)}) is up to date"))
            for week_range in ranges:
                announce(f"stage {stage}: weeks {week_range[0]} to {week_range[-1]}, {_because(reasons)}")
                _execute(pipeline.defs.resolve_job_def(job), instance, outcome,
                         tags={"dagster/asset_partition_range_start": week_range[0],
                               "dagster/asset_partition_range_end": week_range[-1]})
                if not outcome.success:
                    return outcome
                ran = True
        else:
            keys, reasons = _downstream_selection(history, pipeline, job)
            if SERVING in selected and not keys and (why := _serving_file_changed(history)):
                keys, reasons = [SERVING], [f"published_serving: {why}"]
            if not keys:
                outcome.skipped.append((job, "no input changed since its last run"))
                continue
            outcome.reasons.append((job, reasons))
            announce(f"stage {stage}: {len(keys)} asset(s), {_because(reasons)}")
            _execute(pipeline.defs.resolve_job_def(job), instance, outcome, asset_selection=keys)
            if not outcome.success:
                return outcome
            ran = True
        if ran:
            history = History(instance, graph, history.trusted)  # its reads are cached: read again after runs
    return outcome
