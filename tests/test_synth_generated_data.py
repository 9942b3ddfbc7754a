"""The synthetic generator end to end: ``ent-equity synth`` on the real national schools table (a sample of
schools across the 30 académies), then checks of calibration, the planted IPS gradient, the file formats
and the calendar on what it wrote."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import duckdb
import pytest
from scipy.stats import binom

from pipelines.formats.entcore import CHANNEL_UA_PATTERNS, MODULE_TO_SERVICE, PROFIL_TO_PROFILE, USER_AGENTS
from pipelines.defs.reference.school_calendar import ZONE_OF_ACADEMIE
from pipelines.synth.command import add_parser
from pipelines.synth.usage_model import MODEL_SERVICES
from tests.conftest import REFERENCE_DIR

N_SCHOOLS = 120
ENTCORE_SCHOOLS = 4
YEAR = "2025-2026"
ENTCORE_KEYS = ["_id", "event-type", "module", "date", "userId", "profil", "structures", "ua", "deviceType", "sessionId"]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    (root / "reference").symlink_to(REFERENCE_DIR, target_is_directory=True)
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["synth", "--schools", str(N_SCHOOLS), "--entcore-schools", str(ENTCORE_SCHOOLS), "--data-dir", str(root)]
    )
    assert args.func(args) == 0
    return root


@pytest.fixture(scope="module")
def con(root: Path) -> duckdb.DuckDBPyConnection:
    landing = root / "landing"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW canonical AS SELECT * FROM read_parquet('{landing}/canonical/*.parquet')")
    con.execute(
        f"""CREATE VIEW entcore AS SELECT * FROM read_json('{landing}/entcore/events_{YEAR}.jsonl',
            format = 'newline_delimited', columns = {{_id: 'VARCHAR', "event-type": 'VARCHAR', module: 'VARCHAR',
            date: 'BIGINT', userId: 'VARCHAR', profil: 'VARCHAR', structures: 'VARCHAR[]', ua: 'VARCHAR',
            deviceType: 'VARCHAR', sessionId: 'VARCHAR'}})"""
    )
    csv = "delim = ';', header = true, all_varchar = true"
    con.execute(f"CREATE VIEW structures AS SELECT * FROM read_csv('{landing}/entcore/structures.csv', {csv})")
    con.execute(
        f"""CREATE VIEW accounts AS SELECT * REPLACE (created_at::DATE AS created_at, activated_at::DATE AS activated_at)
            FROM read_csv('{landing}/accounts/accounts_{YEAR}.csv', {csv})"""
    )
    con.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{root}/truth/schools_truth.parquet')")
    profiles = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in PROFIL_TO_PROFILE.items())
    # Every event of the landing zone, both formats, in one shape.
    con.execute(
        f"""CREATE TABLE events AS
            SELECT uai, user_id, profile, event_type, channel, occurred_at, session_id FROM canonical
            UNION ALL
            SELECT s.uai, e.userId, CASE e.profil {profiles} END, e."event-type", NULL,
                   make_timestamptz(e.date * 1000), e.sessionId
            FROM entcore e JOIN structures s ON s.structure_id = e.structures[1]"""
    )
    con.execute(
        """CREATE TABLE realized AS
           SELECT a.uai, a.profile, count(*) AS loaded, count(a.activated_at) AS activated, count(u.user_id) AS active
           FROM accounts a LEFT JOIN (SELECT DISTINCT user_id FROM events) u USING (user_id)
           GROUP BY ALL"""
    )
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchall()[0]


def test_sample_covers_every_academie(con):
    assert one(con, "SELECT count(DISTINCT uai), count(DISTINCT academie_code) FROM truth") == (N_SCHOOLS, 30)
    assert one(con, "SELECT count(DISTINCT uai) FROM truth WHERE events_format = 'entcore'") == (ENTCORE_SCHOOLS,)


def test_national_parent_active_share_is_calibrated(con):
    # National = each school weighted by its loaded parents × its académie's sampling weight.
    realized, true_share = one(
        con,
        """SELECT sum(r.active * t.sampling_weight) / sum(r.loaded * t.sampling_weight),
                  sum(t.p_active_year * t.loaded * t.sampling_weight) / sum(t.loaded * t.sampling_weight)
           FROM realized r JOIN truth t USING (uai, profile) WHERE profile = 'parent'""",
    )
    assert abs(realized - 0.40) < 0.03
    assert abs(realized - true_share) < 0.01


def test_realized_counts_are_the_truth_and_binomial_draws(con):
    rows = con.execute(
        """SELECT r.loaded, r.active, r.activated, t.loaded, t.active, t.activated, t.p_active_year
           FROM realized r JOIN truth t USING (uai, profile) WHERE profile = 'parent'"""
    ).fetchall()
    assert len(rows) == N_SCHOOLS
    assert all(r[:3] == r[3:6] for r in rows)
    inside = sum(binom.ppf(0.005, n, p) <= k <= binom.ppf(0.995, n, p) for n, k, *_, p in rows)
    assert inside >= 0.97 * len(rows)
    # activated ⊇ active, and about a third of parent accounts never activated (ENTmip).
    activated, active, loaded = one(con, "SELECT sum(activated), sum(active), sum(loaded) FROM realized WHERE profile = 'parent'")
    assert active <= activated and abs(1 - activated / loaded - 1 / 3) < 0.04


def test_ips_gradient_is_planted(con):
    by_quintile = con.execute(
        """SELECT q, sum(active) / sum(loaded), sum(p_true * loaded) / sum(loaded)
           FROM (SELECT r.*, t.p_active_year AS p_true, ntile(5) OVER (ORDER BY t.z_ips) AS q
                 FROM realized r JOIN truth t USING (uai, profile) WHERE profile = 'parent')
           GROUP BY q ORDER BY q"""
    ).fetchall()
    (_, bottom, bottom_true), (_, top, top_true) = by_quintile[0], by_quintile[-1]
    assert top - bottom > 0.10 and top_true - bottom_true > 0.10


def test_reach_per_service_is_the_true_probability(con):
    realized = dict(
        con.execute(
            """SELECT service, count(DISTINCT user_id) / (SELECT count(DISTINCT user_id) FROM canonical WHERE profile = 'parent')
               FROM canonical WHERE profile = 'parent' AND event_type = 'ACCESS' GROUP BY 1"""
        ).fetchall()
    )
    reach = ", ".join(f"sum(reach_{s} * active) / sum(active) AS {s}" for s in MODEL_SERVICES)
    expected = con.execute(f"SELECT {reach} FROM truth WHERE profile = 'parent' AND events_format = 'canonical'").fetchall()[0]
    for service, p in zip(MODEL_SERVICES, expected):
        assert abs(realized.get(service, 0.0) - p) < 0.02, service


def test_event_users_are_loaded_and_activated_before_their_first_event(con):
    missing, not_activated, late, created_after = one(
        con,
        """SELECT count(*) FILTER (WHERE a.user_id IS NULL), count(*) FILTER (WHERE a.activated_at IS NULL),
                  count(*) FILTER (WHERE a.activated_at > least((first_at AT TIME ZONE 'Europe/Paris')::DATE,
                                                               (first_at AT TIME ZONE 'UTC')::DATE)),
                  count(*) FILTER (WHERE a.created_at > a.activated_at)
           FROM (SELECT user_id, min(occurred_at) AS first_at FROM events GROUP BY 1) e
           LEFT JOIN accounts a USING (user_id)""",
    )
    assert (missing, not_activated, late, created_after) == (0, 0, 0, 0)


def test_canonical_parquet_has_the_canonical_columns(root, con):
    types = {name: kind for name, kind, *_ in con.execute("DESCRIBE canonical").fetchall()}
    assert types == {
        "event_id": "VARCHAR", "occurred_at": "TIMESTAMP WITH TIME ZONE", "uai": "VARCHAR", "user_id": "VARCHAR",
        "profile": "VARCHAR", "service": "VARCHAR", "event_type": "VARCHAR", "channel": "VARCHAR",
        "auth_method": "VARCHAR", "session_id": "VARCHAR",
    }
    n, ids, sessions, logins, bad_login, bad_access = one(
        con,
        """SELECT count(*), count(DISTINCT event_id), count(DISTINCT session_id),
                  count(*) FILTER (WHERE event_type = 'LOGIN'),
                  count(*) FILTER (WHERE event_type = 'LOGIN' AND (service <> 'connexion' OR auth_method IS NULL)),
                  count(*) FILTER (WHERE event_type = 'ACCESS' AND (service = 'connexion' OR auth_method IS NOT NULL))
           FROM canonical""",
    )
    assert n == ids and sessions == logins and (bad_login, bad_access) == (0, 0)
    bad_uai, bad_uuid = one(
        con,
        r"""SELECT count(*) FILTER (WHERE NOT regexp_full_match(uai, '[0-9]{7}[A-Z]')),
                  count(*) FILTER (WHERE NOT regexp_full_match(user_id, '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'))
           FROM (SELECT DISTINCT uai, user_id FROM canonical)""",
    )
    assert (bad_uai, bad_uuid) == (0, 0)
    assert n > 1_000_000
    academies = {p.name for p in (root / "landing" / "canonical").iterdir()}
    assert len(academies) == 30 and all(re.fullmatch(rf"events_{YEAR}_ac\d\d\.parquet", a) for a in academies)


def test_entcore_json_lines_have_the_documented_keys(root, con):
    path = root / "landing" / "entcore" / f"events_{YEAR}.jsonl"
    with path.open() as f:
        first = json.loads(f.readline())
    assert list(first) == ENTCORE_KEYS and isinstance(first["date"], int) and isinstance(first["structures"], list)
    unmapped, bad_module, bad_profil, outside_year = one(
        con,
        f"""SELECT count(*) FILTER (WHERE s.uai IS NULL),
                  count(*) FILTER (WHERE module NOT IN {tuple(MODULE_TO_SERVICE)} OR (("event-type" = 'LOGIN') <> (module = 'Auth'))),
                  count(*) FILTER (WHERE profil NOT IN {tuple(PROFIL_TO_PROFILE)}),
                  count(*) FILTER (WHERE make_timestamptz(date * 1000) NOT BETWEEN '2025-08-31' AND '2026-09-01')
           FROM entcore e LEFT JOIN structures s ON s.structure_id = e.structures[1]""",
    )
    assert (unmapped, bad_module, bad_profil, outside_year) == (0, 0, 0, 0)
    # Each event exists once: entcore schools have no canonical rows, and the structure id is not a UAI.
    assert one(con, "SELECT count(*) FROM canonical WHERE uai IN (SELECT uai FROM structures)") == (0,)
    assert one(con, "SELECT count(*) FROM structures WHERE structure_id = uai OR NOT regexp_full_match(uai, '[0-9]{7}[A-Z]')") == (0,)


def test_entcore_sessions_keep_one_known_user_agent(con):
    known = {(ua, device) for pairs in USER_AGENTS.values() for ua, device in pairs}
    pairs = set(con.execute("SELECT DISTINCT ua, deviceType FROM entcore").fetchall())
    assert pairs <= known
    agents, app_share = one(
        con,
        f"""SELECT max(agents), avg(regexp_matches(ua, '{CHANNEL_UA_PATTERNS["mobile_app"]}')::INT)
            FROM (SELECT sessionId, count(DISTINCT ua) AS agents, any_value(ua) AS ua FROM entcore GROUP BY 1)""",
    )
    assert agents == 1 and 0.4 < app_share < 0.9


def test_parent_sessions_are_mostly_mobile(con):
    # EVALuENT 2016: 68 % of parents access the ENT from a mobile.
    mobile, other = one(
        con,
        "SELECT avg((channel = 'mobile_app')::INT), avg((channel = 'other')::INT) FROM canonical WHERE event_type = 'LOGIN' AND profile = 'parent'",
    )
    assert abs(mobile - 0.68) < 0.03 and other < 0.02


def test_summer_is_near_silent_and_holidays_dip(con):
    summer_share = one(
        con, "SELECT avg((month(occurred_at AT TIME ZONE 'Europe/Paris') IN (7, 8))::INT) FROM events WHERE event_type = 'LOGIN'"
    )[0]
    assert summer_share < 0.03
    zones = " ".join(f"WHEN '{code}' THEN '{zone}'" for code, zone in ZONE_OF_ACADEMIE.items())
    con.execute(
        f"""CREATE TABLE daily AS
            SELECT CASE t.academie_code {zones} END AS zone, (e.occurred_at AT TIME ZONE 'Europe/Paris')::DATE AS day,
                   count(*) AS sessions
            FROM events e JOIN (SELECT DISTINCT uai, academie_code FROM truth) t USING (uai)
            WHERE e.event_type = 'LOGIN' GROUP BY ALL"""
    )

    def mean_per_day(zone: str, first: str, last: str) -> float:
        return one(con, f"SELECT sum(sessions) / (DATE '{last}' - DATE '{first}' + 1) FROM daily WHERE zone = '{zone}' AND day BETWEEN '{first}' AND '{last}'")[0]

    for zone in ("A", "B", "C"):
        # Christmas holidays (20 Dec - 4 Jan) against the two full weeks before them.
        assert mean_per_day(zone, "2025-12-20", "2026-01-04") < 0.5 * mean_per_day(zone, "2025-12-06", "2025-12-19")
    # Winter holidays: zone A is off 7-22 Feb while zone C is still at school.
    ratio = {z: mean_per_day(z, "2026-02-09", "2026-02-20") / mean_per_day(z, "2026-01-12", "2026-01-30") for z in "AC"}
    assert ratio["A"] < 0.5 * ratio["C"]


def test_context_files_and_truth(root, con):
    landing = root / "landing"
    context = (landing / "context" / "school_context.csv").read_text().splitlines()
    assert context[0] == "uai;teacher_ent_training_rate;household_equipment_rate" and len(context) == N_SCHOOLS + 1
    workshops = (landing / "context" / "mediation_workshops.csv").read_text().splitlines()
    assert workshops[0] == "uai;workshop_date;participants"
    held = one(con, "SELECT count(DISTINCT uai) FROM truth WHERE workshop_date IS NOT NULL")[0]
    assert len(workshops) == held + 1
    assert (landing / "accounts" / f"accounts_{YEAR}.csv").read_text().split("\n", 1)[0] == "user_id;uai;profile;created_at;activated_at"
    parameters = json.loads((root / "truth" / "parameters.json").read_text())
    assert parameters["seed"] == 20251 and len(parameters["academie_effects"]) == 30
    assert parameters["adoption"]["active_target"]["parent"] == 0.40
    # Workshops: parents' true probability is higher after the workshop, and the year truth uses it.
    bad = one(
        con,
        """SELECT count(*) FILTER (WHERE workshop_date IS NOT NULL AND NOT (p_active_with_workshop > p_active_without_workshop
                                                                          AND p_active_year = p_active_with_workshop)),
                  count(*) FILTER (WHERE workshop_date IS NULL AND p_active_year <> p_active_without_workshop)
           FROM truth WHERE profile = 'parent'""",
    )
    assert bad == (0, 0)
