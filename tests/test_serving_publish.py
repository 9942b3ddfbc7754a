"""The published_serving asset: an atomic, read-only serving file that readers can use while it is
republished, and a publish that copes with missing optional inputs."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource
from scipy import stats

from pipelines.defs.ingest.pseudonymize import make_pseudonymizer
from pipelines.defs.publication import derived
from pipelines.defs.publication.publish import publish_serving
from pipelines.paths import truth_dir
from pipelines.serving_file import SERVING_FILENAME, serving_path
from testing_support.fake_warehouse import build_fake_warehouse
from tests.conftest import REFERENCE_DIR

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
TINY = dict(academies=["14"], schools_per_academie=14, weeks=2, months=1, trimesters=0,
            profiles=("parent", "enseignant"), tiny_schools=2)


@pytest.fixture
def tiny_warehouse(ent_data_dir: Path) -> Path:
    path = ent_data_dir / "warehouse" / "observatoire.duckdb"
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        build_fake_warehouse(con, REFERENCE_DIR, **TINY)
    return path


def school_cluster_margin(k, n) -> float | None:
    """Independent per-cell oracle of ``derived.cluster_margins``: the rounded 95 % half-width of
    ``sum k / sum n`` over schools (linearised ratio variance, t quantile), none under MIN_ICC_SCHOOLS."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    k, n = k[n > 0], n[n > 0]
    if len(n) < derived.MIN_ICC_SCHOOLS:
        return None
    p = k.sum() / n.sum()
    var = len(n) / (len(n) - 1) * ((k - p * n) ** 2).sum() / n.sum() ** 2
    return derived.ladder_margin(float(stats.t.ppf(0.975, len(n) - 1) * np.sqrt(var)))


def test_asset_publishes_a_read_only_suppressed_file(tiny_warehouse: Path):
    from pipelines.defs.publication.assets import published_serving

    result = dg.materialize([published_serving], resources={"duckdb": DuckDBResource(database=str(tiny_warehouse))})
    assert result.success
    target = serving_path()
    assert target.exists() and target.name == SERVING_FILENAME
    assert os.stat(target).st_mode & 0o222 == 0, "the published file is read-only"
    assert [p.name for p in target.parent.iterdir()] == [SERVING_FILENAME], "no temporary file left behind"
    metadata = result.asset_materializations_for_node("published_serving")[0].metadata
    assert metadata["adoption_audit"].value.startswith("passed")
    with duckdb.connect(str(target), read_only=True) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert {"meta", "periods", "academies", "departements", "schools", "adoption_cells", "school_adoption",
                "reach_cells", "equity", "ips_fit", "data_gaps", "holidays", "geo_shapes"} <= tables
        assert con.execute("SELECT count(*) FROM school_adoption WHERE suppressed").fetchall()[0][0] > 0
        assert con.execute("SELECT count(*) FROM equity WHERE value IS NOT NULL").fetchall()[0][0] > 0
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        assert meta["min_n"] == "11" and meta["schema_version"]
        # only what the pages need: the file stays small
    assert target.stat().st_size < 20_000_000


def test_publish_without_optional_inputs(tiny_warehouse: Path):
    with duckdb.connect(str(tiny_warehouse)) as con:
        for table in ("equity_summary", "school_flags", "feature_reach_school", "data_gaps"):
            con.execute(f"DROP TABLE {table}")
        summary = publish_serving(con, serving_path())
    # Equity measures and school flags do not come from the warehouse: they are computed on the published
    # schools, so the release holds them whatever the warehouse has.
    assert set(summary.missing_inputs) == {"feature_reach_school", "data_gaps"}
    with duckdb.connect(str(serving_path()), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM equity").fetchall()[0][0] > 0
        assert con.execute("SELECT count(*) FROM reach_cells").fetchall()[0][0] == 0
        assert con.execute("SELECT count(*) FROM school_adoption WHERE NOT suppressed").fetchall()[0][0] > 0


def test_release_is_labelled_synthetic_only_when_pseudonymized_with_the_demo_key(tiny_warehouse: Path):
    def synthetic() -> str:
        with duckdb.connect(str(serving_path()), read_only=True) as serving:
            return dict(serving.execute("SELECT key, value FROM meta").fetchall())["synthetic"]

    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
        assert synthetic() == "true"  # the fake warehouse records the demo key, as a demo ingest does
        # A real key: not demo data, whatever folders lie beside the warehouse.
        truth_dir().mkdir(parents=True, exist_ok=True)
        (truth_dir() / "parameters.json").write_text("{}")
        real = make_pseudonymizer(b"a real secret key of at least 32 characters", demo=False)
        con.execute("UPDATE warehouse_settings SET value = ? WHERE key = 'pseudonymization_key'", [real.fingerprint])
        publish_serving(con, serving_path())
        assert synthetic() == "false"


def test_dashboard_reads_while_a_publish_loop_runs(tiny_warehouse: Path):
    """A thread republishes (changing the data each time) while the dashboard reader queries: neither
    fails, readers see whole files only, and a reader that opened the old file keeps reading it."""
    sys.path.insert(0, str(DASHBOARDS))
    from ent_dash.data import ServingReader

    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
    reader = ServingReader(serving_path())
    first = reader.query("SELECT value FROM meta WHERE key = 'published_at'")["value"].iloc[0]
    old_connection = reader._connection()

    errors: list[BaseException] = []
    done = threading.Event()

    def republish():
        try:
            with duckdb.connect(str(tiny_warehouse)) as con:
                for i in range(3):
                    time.sleep(1.1)  # published_at has a one-second resolution
                    con.execute("UPDATE adoption_school SET loaded = loaded + 1 WHERE profile = 'parent'")
                    publish_serving(con, serving_path())
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=republish)
    thread.start()
    seen, reads = set(), 0
    while not done.is_set() or reads < 5:
        stamp = reader.query("SELECT value FROM meta WHERE key = 'published_at'")["value"].iloc[0]
        totals = reader.query("SELECT count(*) AS n, count(DISTINCT period) AS p FROM adoption_cells")
        assert totals["n"].iloc[0] > 0 and totals["p"].iloc[0] > 0
        loaded = reader.query("SELECT loaded FROM adoption_cells WHERE geo_level = 'nation' AND profile = 'parent' "
                              "AND period_type = 'school_year' AND level = 'all' AND secteur = 'all' "
                              "AND breakdown = 'all'")
        assert len(loaded) == 1
        seen.add(stamp)
        reads += 1
        if done.is_set() and reads >= 5:
            break
        time.sleep(0.05)
    thread.join()
    assert not errors, errors
    assert len(seen) >= 2, "the reader followed the swaps"
    assert reader.query("SELECT value FROM meta WHERE key = 'published_at'")["value"].iloc[0] != first
    # The connection opened on the first file still reads it, whole, after three swaps.
    cursor = old_connection.cursor()
    cursor.execute("USE srv")
    assert cursor.execute("SELECT value FROM meta WHERE key = 'published_at'").fetchall()[0][0] == first
    assert cursor.execute("SELECT count(*) FROM adoption_cells").fetchall()[0][0] > 0


def test_pipeline_publishes_cells_that_match_the_warehouse_rollups(demo_warehouse):
    """On the pipeline's own output: the serving copy is published by run_pipeline, its audit passed, it holds
    no per-user column, and every published cell equals the warehouse's rollup of the same cell (the publisher
    recomputes cells from school rows to know each cell's schools; both ways must agree)."""
    root, outcome, warehouse = demo_warehouse
    assert [job for job, *_ in outcome.runs][-1] == "publication_job" and outcome.success
    target = root / "serving" / SERVING_FILENAME
    with duckdb.connect(str(target), read_only=True) as srv:
        meta = dict(srv.execute("SELECT key, value FROM meta").fetchall())
        assert all(family["audit"].startswith("passed") for family in json.loads(meta["suppression"]))
        columns = srv.execute("SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal"
                              ).fetchall()
        assert not [c for c in columns if "user" in c[1] or "pseudo" in c[1] or c[2] == "UHUGEINT"]
        cells = srv.execute("""
            SELECT period_type, period, profile, geo_level, geo_code,
                   CASE WHEN level <> 'all' THEN 'level' WHEN secteur <> 'all' THEN 'secteur' ELSE breakdown END,
                   CASE WHEN level <> 'all' THEN level WHEN secteur <> 'all' THEN secteur ELSE breakdown_value END,
                   loaded, activated, active, active_rate
            FROM adoption_cells
            WHERE NOT suppressed AND period_type <> 'week' AND (level = 'all' OR secteur = 'all')
              AND (breakdown = 'all' OR (level = 'all' AND secteur = 'all'))
              AND breakdown IN ('all', 'education_prioritaire', 'rural_urban')
        """).fetchall()
    assert len(cells) > 1000
    rollup = {tuple(r[:7]): r[7:] for r in warehouse.execute("""
        SELECT period_type, period, profile::VARCHAR, geo_level, geo_code, breakdown, breakdown_value,
               loaded, activated, active, active_rate
        FROM adoption_rollup""").fetchall()}
    mismatches = [c for c in cells if tuple(c[:7]) not in rollup
                  or tuple(rollup[tuple(c[:7])][:3]) != tuple(c[7:10])
                  or abs((rollup[tuple(c[:7])][3] or 0) - (c[10] or 0)) > 1e-12]
    assert not mismatches, mismatches[:5]


def test_holidays_come_from_the_official_calendar_for_every_published_year():
    """Zones A/B/C from the ministry's calendar (vacances-scolaires-france): the current school year is
    there, and 2025-2026 agrees with the generator's calendar, which was typed from the same arrêté."""
    import datetime as dt

    from pipelines.defs.reference.school_calendar import metropolitan_holidays, school_holidays
    from pipelines.synth.calendar import CALENDARS

    official = metropolitan_holidays()
    years = {y for y, *_ in official}
    assert {"2025-2026", "2026-2027"} <= years
    for zone in ("A", "B", "C"):
        starts = {first for y, z, _, first, _ in official if y == "2025-2026" and z == zone}
        for name, first, resume in CALENDARS["2025-2026"].holidays[zone]:
            if name != "pont_ascension":  # the package lists no pont de l'Ascension for 2025-2026
                assert dt.date.fromisoformat(first) in starts, (zone, name)
        toussaint = [r for r in official if r[0] == "2026-2027" and r[1] == zone and "Toussaint" in r[2]]
        assert len(toussaint) == 1 and toussaint[0][4] - toussaint[0][3] >= dt.timedelta(days=13)
    # the other zones keep the generator's calendar
    assert {z for _, z, *_ in school_holidays()} >= {"A", "B", "C", "corse", "reunion"}


def test_derived_figures_are_functions_of_the_published_figures_only(tiny_warehouse: Path):
    """Model outputs (expected rate, shrunk rate, funnel target and limits) and equity measures are fitted on
    the published schools only: recomputing them from the serving copy alone gives the same numbers, and a
    suppressed school has none (an expected rate fitted on every school recovered hidden counts)."""
    import pandas as pd

    from pipelines.defs.equity.school_flag_measures import flag_rows
    from pipelines.defs.equity.summary_measures import summary_rows
    from pipelines.defs.publication.derived import PUBLISHED_MEASURES

    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
    with duckdb.connect(str(serving_path()), read_only=True) as srv:
        hidden_with_model = srv.execute("""SELECT count(*) FROM school_adoption WHERE suppressed AND (
            expected_rate IS NOT NULL OR funnel_target IS NOT NULL OR shrunk_rate IS NOT NULL)""").fetchall()[0][0]
        assert hidden_with_model == 0
        rates = srv.sql("""
            SELECT a.period_type, a.period, p.period_start, a.profile, a.uai, s.academie_code, s.departement_code,
                   s.level, s.secteur, s.education_prioritaire, s.rural_urban, s.ips,
                   s.ips_quintile::INTEGER AS national_ips_quintile, a.loaded, a.active, a.active / a.loaded AS active_rate
            FROM school_adoption a JOIN schools s USING (uai) JOIN periods p USING (period_type, period)
            WHERE NOT a.suppressed AND a.active IS NOT NULL AND a.loaded > 0
            ORDER BY p.period_start, a.period_type, a.period, a.profile, a.uai""").df()
        published_flags = srv.sql("""SELECT period_type, period, profile, uai, expected_rate, funnel_target,
            shrunk_rate FROM school_adoption WHERE NOT suppressed AND funnel_target IS NOT NULL""").df()
        equity = srv.sql("SELECT period_type, period, profile, scope, scope_code, level, measure, value "
                         "FROM equity").df()
    assert len(published_flags) > 0 and len(equity) > 0
    again = flag_rows(rates[rates.period_type.isin(["school_year", "trimester"])].reset_index(drop=True))
    merged = published_flags.merge(again, on=["period_type", "period", "profile", "uai"], suffixes=("", "_again"))
    assert len(merged) == len(published_flags)
    for column in ("expected_rate", "funnel_target", "shrunk_rate"):
        assert (merged[column] - merged[f"{column}_again"]).abs().max() < 1e-9, column
    measures, _ = summary_rows(rates[rates.period_type.isin(["school_year", "trimester", "month"])]
                               .reset_index(drop=True), PUBLISHED_MEASURES)
    keys = ["period_type", "period", "profile", "scope", "scope_code", "level", "measure"]
    joined = equity.merge(measures[keys + ["value"]], on=keys, suffixes=("", "_again"))
    assert len(joined) == len(equity)
    assert (joined["value"] - joined["value_again"]).abs().max() < 1e-9
    assert set(equity["measure"]) <= PUBLISHED_MEASURES
    assert not pd.isna(joined["value"]).any()


def test_mobile_share_follows_the_rule(tiny_warehouse: Path):
    """No mobile share on a cell with fewer than 11 sessions, or fewer than 3 mobile or 3 other sessions."""
    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
    with duckdb.connect(str(serving_path()), read_only=True) as srv:
        bad = srv.execute("""SELECT count(*) FROM adoption_cells WHERE mobile_share IS NOT NULL AND (
            sessions < 11 OR round(mobile_share * sessions) < 3 OR sessions - round(mobile_share * sessions) < 3)
        """).fetchall()[0][0]
        shown = srv.execute("SELECT count(*) FROM adoption_cells WHERE mobile_share IS NOT NULL").fetchall()[0][0]
    assert shown > 0 and bad == 0


def test_cell_rate_se_is_a_function_of_the_published_figures(tiny_warehouse: Path, monkeypatch):
    """The standard error of a published cell's active rate (school as the unit) comes from the cell's own
    published figures and an intra-school correlation estimated on the published schools of its period ×
    profile × level: recomputed from the serving copy alone, it is the same. (The tiny warehouse publishes
    9 schools a month: the minimum for estimating the correlation is lowered to 3 here.)"""

    monkeypatch.setattr(derived, "MIN_ICC_SCHOOLS", 3)
    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
    with duckdb.connect(str(serving_path()), read_only=True) as srv:
        rho = dict(((r[0], r[1], r[2]), r[3]) for r in srv.execute("""
            WITH s AS (SELECT period, profile, level, active::DOUBLE AS k, (active / active_rate)::DOUBLE AS n
                       FROM school_adoption WHERE NOT suppressed AND active_rate > 0 AND period_type = 'month'),
            q AS (SELECT period, profile, coalesce(level, 'all') AS level, count(*) AS m, sum(k) / sum(n) AS p,
                         sum(n) AS sn, sum(n * (n - 1)) AS snn
                  FROM s GROUP BY GROUPING SETS ((period, profile, level), (period, profile)))
            SELECT q.period, q.profile, q.level,
                   greatest(0, (sum((s.k - s.n * q.p) ^ 2) - q.p * (1 - q.p) * q.sn) / (q.p * (1 - q.p) * q.snn))
            FROM q JOIN s ON s.period = q.period AND s.profile = q.profile AND (q.level = 'all' OR s.level = q.level)
            WHERE q.m >= 3 GROUP BY q.period, q.profile, q.level, q.p, q.sn, q.snn""").fetchall())
        # staff cells (no published school figures) carry the rounded cluster margin instead (test below)
        cells = srv.execute("""SELECT period, profile, level, schools, active, active_rate, active_rate_se
            FROM adoption_cells WHERE period_type = 'month' AND NOT suppressed AND active_rate > 0
              AND profile IN ('parent', 'eleve')""").fetchall()
    assert rho and any(se is not None for *_, se in cells)
    for period, profile, level, schools, active, rate, se in cells:
        if (period, profile, level) not in rho:
            assert se is None
            continue
        n = active / rate
        expected = (rate * (1 - rate) / n * (1 + max(n / schools - 1, 0) * rho[(period, profile, level)])) ** 0.5
        assert se == pytest.approx(expected, rel=1e-9)


def test_reach_and_staff_margins_are_rounded_cluster_margins(tiny_warehouse: Path, monkeypatch):
    """Feature reach and staff rates (no school figure published) carry a 95 % margin with the school as the
    unit: the linearised variance of the cell's ratio over its schools, t quantile, rounded up to a class of
    MARGIN_LADDER. Recomputed from the warehouse's school figures it is the same; a hidden cell has none; the
    margin is unchanged when every count is multiplied by the same factor, so it says nothing of the
    denominator the reach cells do not publish (docs/equity_fit_guards.md, section 2)."""
    from pipelines.fr_format import Z95

    monkeypatch.setattr(derived, "MIN_ICC_SCHOOLS", 3)
    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
        schools = con.sql("""SELECT f.period_type, f.period, f.service::VARCHAR AS service, f.uai, s.level,
                f.active, f.users FROM feature_reach_school f JOIN schools s USING (uai)
            WHERE f.profile::VARCHAR = 'parent'""").df()
        staff = con.sql("""SELECT a.period_type, a.period, a.uai, a.loaded, a.active FROM adoption_school a
            WHERE a.profile::VARCHAR = 'enseignant' AND a.active IS NOT NULL""").df()
    with duckdb.connect(str(serving_path()), read_only=True) as srv:
        reach = srv.sql("""SELECT period_type, period, service, level, suppressed, reach_margin FROM reach_cells
            WHERE profile = 'parent' AND geo_level = 'nation' AND breakdown = 'all'""").df()
        teachers = srv.sql("""SELECT period_type, period, suppressed, active_rate_se FROM adoption_cells
            WHERE profile = 'enseignant' AND geo_level = 'nation' AND level = 'all' AND secteur = 'all'
              AND breakdown = 'all'""").df()
        hidden = srv.execute("SELECT count(*) FROM reach_cells WHERE suppressed AND reach_margin IS NOT NULL"
                             ).fetchall()[0][0]
        classes = {r[0] for r in srv.execute("SELECT DISTINCT reach_margin FROM reach_cells "
                                             "WHERE reach_margin IS NOT NULL").fetchall()}
    assert hidden == 0 and classes and classes <= set(derived.MARGIN_LADDER)
    checked = 0
    for r in reach[~reach.suppressed].itertuples():
        rows = schools[(schools.period_type == r.period_type) & (schools.period == r.period)
                       & (schools.service == r.service) & ((r.level == "all") | (schools.level == r.level))]
        expected = school_cluster_margin(rows.users, rows.active)
        assert (r.reach_margin if pd.notna(r.reach_margin) else None) == expected, r
        if expected is not None:
            checked += 1
            assert school_cluster_margin(3 * rows.users, 3 * rows.active) == expected
    assert checked > 0
    for t in teachers[~teachers.suppressed].itertuples():
        rows = staff[(staff.period_type == t.period_type) & (staff.period == t.period)]
        expected = school_cluster_margin(rows.active, rows.loaded)
        got = None if pd.isna(t.active_rate_se) else t.active_rate_se * Z95
        assert got == (None if expected is None else pytest.approx(expected)), t
    assert teachers.active_rate_se.notna().any()


# (published rate, its standard error, the school's k and n from its published figures, the cell's n)
RATE_ORACLES = {
    "activation_rate": ("activated::DOUBLE", "(activated / activation_rate)::DOUBLE", "activated / activation_rate"),
    "mobile_share": ("round(mobile_share * visits_per_active * active)::DOUBLE",
                     "round(visits_per_active * active)::DOUBLE",
                     "sessions"),
}


@pytest.mark.parametrize("rate", sorted(RATE_ORACLES))
def test_activation_and_mobile_se_are_functions_of_the_published_figures(tiny_warehouse: Path, monkeypatch, rate):
    """The activation rate and the mobile share of a published cell carry the same design-effect standard error
    as the active rate, with their own intra-school correlation estimated on the published schools (the mobile
    share: the sessions of a school as its units): recomputed from the serving copy alone, it is the same."""
    monkeypatch.setattr(derived, "MIN_ICC_SCHOOLS", 3)
    k, n, cell_n = RATE_ORACLES[rate]
    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
    with duckdb.connect(str(serving_path()), read_only=True) as srv:
        schools = srv.sql(f"""SELECT period, profile, level, {k} AS k, {n} AS n FROM school_adoption
            WHERE NOT suppressed AND {rate} > 0 AND period_type = 'month'""").df()
        cells = srv.sql(f"""SELECT period, profile, level, schools, {rate} AS p, {cell_n} AS n, {rate}_se AS se
            FROM adoption_cells WHERE period_type = 'month' AND NOT suppressed AND {rate} > 0
              AND profile IN ('parent', 'eleve')""").df()
    checked = 0
    for c in cells.itertuples():
        group = schools[(schools.period == c.period) & (schools.profile == c.profile)
                        & ((c.level == "all") | (schools.level == c.level))]
        p = group.k.sum() / group.n.sum()
        if len(group) < 3:
            assert pd.isna(c.se)
            continue
        rho = max(0.0, (((group.k - group.n * p) ** 2).sum() - p * (1 - p) * group.n.sum())
                  / (p * (1 - p) * (group.n * (group.n - 1)).sum()))
        expected = np.sqrt(c.p * (1 - c.p) / c.n * (1 + max(c.n / c.schools - 1, 0) * rho))
        assert c.se == pytest.approx(expected, rel=1e-6), c
        checked += 1
    assert checked > 0


def test_visits_per_active_se_is_the_fitted_variance_model(tiny_warehouse: Path, monkeypatch):
    """Visits per active account of a published cell: ``se = R / R0 · sqrt(a / X + b / S)`` with ``a, b`` the
    no-intercept least squares of the published schools' squared deviations ``(y_i − R0 x_i)²`` on ``x_i`` and
    ``x_i²`` (statsmodels OLS here, a one-term fit where a coefficient would be negative), ``R0`` their pooled
    ratio, ``R``, ``X`` and ``S`` the cell's visits per active account, active accounts and schools."""
    import statsmodels.api as sm

    monkeypatch.setattr(derived, "MIN_ICC_SCHOOLS", 3)
    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
    with duckdb.connect(str(serving_path()), read_only=True) as srv:
        schools = srv.sql("""SELECT period, profile, level, active::DOUBLE AS x, (visits_per_active * active) AS y
            FROM school_adoption WHERE NOT suppressed AND visits_per_active > 0 AND period_type = 'month'""").df()
        cells = srv.sql("""SELECT period, profile, level, schools, sessions / visits_per_active AS x,
                visits_per_active AS ratio, visits_per_active_se AS se
            FROM adoption_cells WHERE period_type = 'month' AND NOT suppressed AND visits_per_active > 0
              AND profile IN ('parent', 'eleve')""").df()
    checked = 0
    for c in cells.itertuples():
        g = schools[(schools.period == c.period) & (schools.profile == c.profile)
                    & ((c.level == "all") | (schools.level == c.level))]
        if len(g) < 3:
            assert pd.isna(c.se)
            continue
        r0 = g.y.sum() / g.x.sum()
        e2 = (g.y - r0 * g.x) ** 2
        a, b = sm.OLS(e2.to_numpy(), np.column_stack([g.x, g.x ** 2])).fit().params
        if a < 0 or b < 0:
            a, b = ((sm.OLS(e2.to_numpy(), g.x.to_numpy()).fit().params[0], 0.0) if b < 0 else
                    (0.0, sm.OLS(e2.to_numpy(), (g.x ** 2).to_numpy()).fit().params[0]))
        assert c.se == pytest.approx(c.ratio / r0 * np.sqrt(a / c.x + b / c.schools), rel=1e-6), c
        checked += 1
    assert checked > 0


def test_visits_per_active_se_of_a_week_is_relative_to_its_trimester():
    """Hand-made: 10 published trimester schools whose squared deviations fit ``a x + b x²`` exactly (a = 100,
    b = 1, pooled ratio R0 = 10: relative variances 1 and 0.01). A week cell of that trimester with 2 visits per
    active account, X = 500 active accounts and S = 20 schools has the same relative variances, i.e. the
    absolute ``a = 100 · 0.2² = 4``, ``b = 0.04``: ``se = sqrt(4 / 500 + 0.04 / 20) = 0.1``. The trimester's
    absolute ``a, b`` applied to the week (the former formula) gave ``sqrt(100 / 500 + 1 / 20) = 0.5``, five
    times too wide. A trimester cell at the pooled ratio keeps ``sqrt(100 / 500 + 1 / 20) = 0.5``."""
    con = duckdb.connect()
    # x = 100: e² = 100·100 + 10⁴ = 20,000; x = 400: e² = 100·400 + 400² = 200,000; deviations ± cancel in R0.
    d1, d2 = np.sqrt(20_000.0), np.sqrt(200_000.0)
    schools = [(100.0, 1000.0 + d1), (100.0, 1000.0 - d1)] * 3 + [(400.0, 4000.0 + d2), (400.0, 4000.0 - d2)] * 2
    con.execute("""CREATE TABLE units (period_type VARCHAR, period VARCHAR, profile VARCHAR, level VARCHAR,
                   published BOOLEAN, ev_active DOUBLE, ev_sessions DOUBLE)""")
    con.executemany("INSERT INTO units VALUES ('trimester', 'T1', 'parent', 'ecole', true, ?, ?)", schools)
    con.execute("""CREATE TABLE periods AS SELECT * FROM (VALUES
        ('trimester', 'T1', DATE '2025-09-01', DATE '2025-12-31'),
        ('week', 'W51', DATE '2025-12-15', DATE '2025-12-21')) p(period_type, period, period_start, period_end)""")
    con.execute("""CREATE TABLE cells AS SELECT * FROM (VALUES
        ('week', 'W51', 'parent', 'all', false, 2.0, 1000.0, 20),
        ('trimester', 'T1', 'parent', 'all', false, 10.0, 5000.0, 20))
        c(period_type, period, profile, level, suppressed, visits_per_active, sessions, schools)""")
    derived.write_cell_mean_se(con, "units", "cells")
    se = dict(con.execute("SELECT period_type, visits_per_active_se FROM cells").fetchall())
    assert se["week"] == pytest.approx(0.1, rel=1e-9)
    assert se["trimester"] == pytest.approx(0.5, rel=1e-9)


def test_ips_fit_slope_interval_is_the_wls_interval(tiny_warehouse: Path):
    """The slope of the weighted fit of the active rate on IPS carries the 95 % interval statsmodels' WLS gives
    on the same published schools (weights: loaded accounts, t quantile)."""
    import statsmodels.api as sm

    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
    with duckdb.connect(str(serving_path()), read_only=True) as srv:
        schools = srv.sql("""SELECT a.period_type, a.period, a.profile, s.ips, a.active_rate, a.loaded
            FROM school_adoption a JOIN schools s USING (uai)
            WHERE NOT a.suppressed AND a.active_rate IS NOT NULL AND s.ips IS NOT NULL""").df()
        fits = srv.sql("""SELECT period_type, period, profile, schools, slope, slope_low, slope_high FROM ips_fit
            WHERE geo_level = 'nation' AND level = 'all' AND secteur = 'all'""").df()
    assert len(fits) and fits.slope_low.notna().all()
    for f in fits.itertuples():
        g = schools[(schools.period_type == f.period_type) & (schools.period == f.period)
                    & (schools.profile == f.profile)]
        assert len(g) == f.schools
        fit = sm.WLS(g.active_rate.to_numpy(float), sm.add_constant(g.ips.to_numpy(float)),
                     weights=g.loaded.to_numpy(float)).fit()
        low, high = fit.conf_int(0.05)[1]
        assert (f.slope, f.slope_low, f.slope_high) == pytest.approx((fit.params[1], low, high), rel=1e-6)


def test_theil_rows_carry_their_bootstrap_interval(tiny_warehouse: Path, monkeypatch):
    """The Theil rows of the serving copy's equity table carry the percentile bootstrap of the académie's
    published schools (départements as groups), or none where it would not hold the value."""
    from pipelines.defs.publication.derived import ROUNDING
    from pipelines.equity.theil import theil_decomposition_ci

    with duckdb.connect(str(tiny_warehouse)) as con:
        publish_serving(con, serving_path())
    with duckdb.connect(str(serving_path()), read_only=True) as srv:
        schools = srv.sql("""SELECT period_type, period, profile, departement_code, active_rate, loaded
            FROM school_adoption WHERE NOT suppressed AND active_rate IS NOT NULL AND loaded > 0""").df()
        theil = srv.sql("""SELECT period_type, period, profile, measure, value, ci_low, ci_high FROM equity
            WHERE scope = 'academie' AND level = 'all' AND measure LIKE 'theil_%'""").df()
    assert len(theil) and theil.ci_low.notna().any()
    for (period_type, period, profile), rows in theil.groupby(["period_type", "period", "profile"]):
        g = schools[(schools.period_type == period_type) & (schools.period == period) & (schools.profile == profile)]
        ci = theil_decomposition_ci(g.active_rate.to_numpy(float), g.loaded.to_numpy(float),
                                    g.departement_code.to_numpy(object))
        for r in rows.itertuples():
            low, high = ci[r.measure.removeprefix("theil_")]
            if low - ROUNDING <= r.value <= high + ROUNDING:
                assert (r.ci_low, r.ci_high) == pytest.approx((low, high)), r
            else:
                assert pd.isna(r.ci_low) and pd.isna(r.ci_high), r


def test_theil_interval_of_one_departement_is_zero_not_missing():
    """An académie (or level) with one département has a between part of 0 in every resample, and an
    estimate that rounding leaves at ±2e-16: its interval [0, 0], widened to hold it, is published; one that
    misses its estimate by more is not."""
    from pipelines.defs.publication.derived import theil_intervals
    from pipelines.equity.theil import theil_decomposition

    rng = np.random.default_rng(6)
    rates = pd.DataFrame({"period_type": "month", "period": "2025-10", "profile": "parent", "academie_code": "43",
                          "departement_code": "976", "level": rng.choice(["ecole", "college"], 30),
                          "loaded": rng.integers(20, 300, 30).astype(float), "active_rate": rng.beta(2, 5, 30)})
    value = theil_decomposition(rates.active_rate, rates.loaded, rates.departement_code)
    assert 0 < -value.between < 1e-15  # the rounding of this draw
    frame = pd.DataFrame({"period_type": "month", "period": "2025-10", "profile": "parent", "scope": "academie",
                          "scope_code": "43", "level": "all",
                          "measure": ["theil_total", "theil_between", "theil_within", "theil_between_share"],
                          "value": [value.total, value.between, value.within, value.between / value.total],
                          "ci_low": np.nan, "ci_high": np.nan})
    out = theil_intervals(frame, rates).set_index("measure")
    assert (out.loc["theil_between", "ci_low"], out.loc["theil_between", "ci_high"]) == (value.between, 0.0)
    assert out.loc["theil_total", "ci_low"] < value.total < out.loc["theil_total", "ci_high"]
    assert out.loc["theil_between_share", "ci_high"] == 0.0 and out.loc["theil_between_share", "ci_low"] < 0
    frame.loc[frame.measure == "theil_between", "value"] = 1e-9  # beyond rounding: left out
    assert theil_intervals(frame, rates).set_index("measure").loc["theil_between", ["ci_low", "ci_high"]].isna().all()
