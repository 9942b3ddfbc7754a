"""Dashboard pages in ``streamlit.testing.v1.AppTest``: login, every page for both roles, French
formats, CSV downloads, and an académie user who cannot see another académie's schools whatever the
widgets, query parameters or session state say."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import users
from testing_support.fake_warehouse import shared_fake_serving
from tests.conftest import REFERENCE_DIR

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
APP = DASHBOARDS / "app.py"
sys.path.insert(0, str(DASHBOARDS))

PASSWORDS = {"nat": "national-password-1", "rennes": "rennes-password-1", "creteil": "creteil-password-1"}
PAGES = ["views/nationale.py", "views/academie.py", "views/fonctionnalites.py", "views/tendances.py",
         "views/etablissement.py", "views/leviers.py", "views/methodologie.py"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = shared_fake_serving(tmp_path_factory.getbasetemp(), REFERENCE_DIR)
    own = tmp_path_factory.mktemp("dashboard")
    mp = pytest.MonkeyPatch()
    mp.setenv("ENT_DATA_DIR", str(root))
    mp.setenv("ENT_USERS_FILE", str(own / "users.json"))
    mp.setenv("ENT_AUDIT_LOG", str(own / "audit.jsonl"))
    users.add_user("nat", "national", None, PASSWORDS["nat"])
    users.add_user("rennes", "academie", "14", PASSWORDS["rennes"])
    users.add_user("creteil", "academie", "24", PASSWORDS["creteil"])
    import duckdb

    with duckdb.connect(str(root / "serving" / "observatoire_serving.duckdb"), read_only=True) as con:
        by_academie = {}
        for uai, aca, name in con.execute("SELECT uai, academie_code, name FROM schools").fetchall():
            by_academie.setdefault(aca, {})[uai] = name
    yield {"root": root, "schools": by_academie, "audit": own / "audit.jsonl"}
    mp.undo()


def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60)


def login(user: str, password: str | None = None, at: AppTest | None = None) -> AppTest:
    at = at if at is not None else app()
    at.run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password or PASSWORDS[user])
    at.button[0].click()
    return at.run()


def texts(at: AppTest) -> str:
    """Everything a user could read on the page: markdown, metrics, tables, chart JSON."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    parts += [str(c.proto.spec) for c in at.get("plotly_chart")]
    return "\n".join(str(p) for p in parts)


def audit_events(env) -> list[dict]:
    return [json.loads(line) for line in env["audit"].read_text().splitlines()] if env["audit"].exists() else []


def test_no_data_without_login(env):
    at = app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Observatoire ENT"]
    assert not at.get("plotly_chart") and not at.dataframe and not at.metric
    body = texts(at)
    assert not any(uai in body for schools in env["schools"].values() for uai in schools)


def test_wrong_password_is_refused_and_audited(env):
    at = login("rennes", "not-the-password")
    assert any("incorrect" in e.value for e in at.error)
    assert not at.get("plotly_chart")
    assert any(e["event"] == "login_failed" and e["login"] == "rennes" for e in audit_events(env))
    assert "not-the-password" not in env["audit"].read_text()


def test_repeated_failures_lock_the_login(env):
    at = app()
    for _ in range(5):
        at = login("creteil", "wrong-password-x", at)
    at = login("creteil", PASSWORDS["creteil"], at)  # right password, but locked
    assert any("Trop de tentatives" in e.value for e in at.error)
    assert not at.get("plotly_chart")
    assert any(e["event"] == "login_refused" and e["login"] == "creteil" and "locked" in e["reason"]
               for e in audit_events(env))


@pytest.mark.parametrize("page", PAGES)
def test_national_user_sees_every_page(env, page):
    at = login("nat")
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    body = texts(at)
    if page == "views/nationale.py":
        assert [t.value for t in at.title] == ["Vue nationale"]
        assert len(at.metric) >= 4 and len(at.get("plotly_chart")) >= 2  # map + HEAT scatter
        assert any("%" in m.value and "," in m.value for m in at.metric)  # "41,6 %"
        downloads = at.get("download_button")
        assert len(downloads) >= 1
        # The CSV is built at the click: the page holds no media URL to fetch, only a deferred id.
        assert all(d.proto.deferred_file_id and not d.proto.url for d in downloads)
    elif page == "views/academie.py":
        assert len(at.get("plotly_chart")) >= 5  # map, quintile bars, breakdown bars, funnel, IPS scatter
        assert "secret statistique" in body
        assert "Diagramme en entonnoir" in body
    elif page == "views/methodologie.py":
        for needle in ("Licence Ouverte 2.0", "data.education.gouv.fr", "IGN", "INSEE", "secret statistique",
                       "synthétiques", "Tendances parallèles", "Oaxaca–Blinder", "À contexte comparable",
                       "le même effet partout",
                       # what the intervals mean: model-based, the school as the unit, and the words they carry
                       "fondés sur un modèle", "l'établissement comme",
                       "écart non significatif", "évolution non significative", "Série hebdomadaire"):
            assert needle in body, needle
    elif page == "views/leviers.py":
        assert [t.value for t in at.title] == ["Leviers"]
        # effects, event study, académies' dot plot, gap split (académie and Q5 − Q1)
        assert len(at.get("plotly_chart")) >= 5
        for needle in ("étude d'événement", "comparaison naïve (biaisée)", "IC à 95 %", "tendances antérieures",
                       "à contexte comparable", "Parents actifs en plus attendus"):
            assert needle in body, needle
        assert "écart non significatif" in body and " pt" in body
    else:
        assert at.get("plotly_chart") or at.info


@pytest.mark.parametrize("page", PAGES[1:])
def test_academie_user_sees_its_pages_and_only_its_schools(env, page):
    at = login("rennes")
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    body = texts(at)
    for aca, schools in env["schools"].items():
        if aca != "14":
            assert not any(uai in body for uai in schools), (page, aca)
    if page == "views/academie.py":
        assert "Académie de Rennes" in body
        assert any(uai in body for uai in env["schools"]["14"])


def test_leviers_page_is_scoped_to_the_academie(env):
    from ent_dash import data

    v = data.version()
    national, rennes = data.Scope("national", None), data.Scope("academie", ("14",))
    every = {c for table in data.LEVER_TABLES for c in data.levers(v, national, table)["academie_code"].dropna()}
    assert {"14", "24", "01"} <= every  # Créteil has its own workshop effect in the fake
    for table in data.LEVER_TABLES:
        rows = data.levers(v, rennes, table)
        assert set(rows["academie_code"].dropna()) <= {"14"}, table
        assert rows["academie_code"].isna().any() or table in ("levers_academie_effects", "levers_scenarios"), table
    assert data.lever_targets(v, rennes, "24").empty and not data.lever_targets(v, national, "24").empty

    at = login("rennes")
    at.switch_page("views/leviers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    body = texts(at)
    assert "Rennes" in body and "Créteil" not in body and "Paris" not in body
    assert any(uai in body for uai in env["schools"]["14"])  # its ranked schools
    assert not _other_schools_visible(at, env)
    # A national user choosing Créteil sees Créteil's own workshop effect beside France's.
    at = app()
    at.session_state["f_academie"] = "24"
    at = login("nat", at=at)
    at.switch_page("views/leviers.py").run()
    effects = next(df.value for df in at.dataframe if "Méthode" in df.value)
    assert {"France", "Créteil"} == set(effects["Territoire"])


def test_leviers_page_says_when_nothing_is_published(env, tmp_path, monkeypatch):
    from testing_support.fake_warehouse import build_fake_serving

    root = tmp_path / "no_levers"
    (root / "reference").mkdir(parents=True)
    build_fake_serving(root, REFERENCE_DIR, academies=["14"], schools_per_academie=14, weeks=2, months=1,
                       trimesters=0, profiles=("parent",))
    monkeypatch.setenv("ENT_DATA_DIR", str(root))
    at = login("rennes")
    at.switch_page("views/leviers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Aucune estimation des leviers n'est publiée" in e.value for e in at.info)
    assert not at.get("plotly_chart")


def test_academie_user_has_no_national_page(env):
    at = login("rennes")
    assert [t.value for t in at.title] == ["Académie de Rennes"]  # default page
    with pytest.raises(ValueError):
        at.switch_page("views/nationale.py")


def _other_schools_visible(at, env) -> bool:
    body = texts(at)
    return any(uai in body for aca, schools in env["schools"].items() if aca != "14" for uai in schools)


def test_tampered_session_state_cannot_widen_the_scope(env):
    # Set before the widgets exist (AppTest, like a browser, cannot submit a value outside the options).
    at = app()
    at.session_state["f_academie"] = "24"
    at.session_state["role"] = "national"
    at.session_state["scope"] = "national"
    at.session_state["academies"] = ["24"]
    at = login("rennes", at=at)
    at.switch_page("views/academie.py").run()
    assert not at.exception
    assert at.selectbox(key="f_academie").options == ["Rennes"]
    assert "Académie de Rennes" in texts(at)
    assert not _other_schools_visible(at, env)
    assert any(e["event"] == "scope_refused" and e.get("requested_academie") == "24" for e in audit_events(env))


def test_query_parameters_cannot_widen_the_scope(env):
    at = login("rennes")
    at.switch_page("views/academie.py")
    at.query_params["academie"] = "24"
    at.run()
    assert "Académie de Rennes" in texts(at) and not _other_schools_visible(at, env)
    creteil_school = next(iter(env["schools"]["24"]))
    at.switch_page("views/etablissement.py")
    at.query_params["uai"] = creteil_school
    at.run()
    assert not at.exception and not _other_schools_visible(at, env)
    # The school selector's state, set before the widget exists (as a forged session would hold it).
    at = app()
    at.session_state["school_uai"] = creteil_school
    at = login("rennes", at=at)
    at.switch_page("views/etablissement.py").run()
    assert not at.exception and not _other_schools_visible(at, env)
    assert at.selectbox(key="school_uai").value in env["schools"]["14"]
    refusals = [e for e in audit_events(env) if e["event"] == "scope_refused"]
    assert any(e.get("requested_uai") == creteil_school for e in refusals)


def test_forged_session_token_is_rejected(env):
    at = login("rennes")
    generation = users.get_user("nat").session_generation
    at.session_state["_ent_session"] = f"nat|local|{int(time.time())}|{generation}|00ff|{'0' * 64}"
    at.run()
    assert [t.value for t in at.title] == ["Observatoire ENT"]  # back to the login page
    assert not at.get("plotly_chart")
    assert any(e["event"] == "session_rejected" for e in audit_events(env))


def test_a_password_change_ends_the_open_sessions(env):
    users.add_user("dane-passwd", "academie", "14", "passwd-password-1")
    at = login("dane-passwd", "passwd-password-1")
    assert [t.value for t in at.title] == ["Académie de Rennes"]
    users.set_password("dane-passwd", "passwd-password-2")  # what `ent-equity users passwd` does
    at.run()
    assert [t.value for t in at.title] == ["Observatoire ENT"] and not at.get("plotly_chart")
    assert any(e["event"] == "session_rejected" and e.get("login") == "dane-passwd" and "revoked" in e["reason"]
               for e in audit_events(env))
    assert [t.value for t in login("dane-passwd", "passwd-password-2").title] == ["Académie de Rennes"]


def test_removing_a_user_ends_its_sessions_even_if_added_again(env):
    users.add_user("dane-remove", "academie", "14", "remove-password-1")
    at = login("dane-remove", "remove-password-1")
    assert [t.value for t in at.title] == ["Académie de Rennes"]
    users.remove_user("dane-remove")
    users.add_user("dane-remove", "national", None, "remove-password-1")  # same login, same password
    at.run()
    assert [t.value for t in at.title] == ["Observatoire ENT"] and not at.get("plotly_chart")
    assert any(e["event"] == "session_rejected" and e.get("login") == "dane-remove" and "revoked" in e["reason"]
               for e in audit_events(env))
    at = login("dane-remove", "remove-password-1")
    users.remove_user("dane-remove")
    at.run()
    assert [t.value for t in at.title] == ["Observatoire ENT"]
    assert any(e["event"] == "session_rejected" and e.get("login") == "dane-remove" and "removed" in e["reason"]
               for e in audit_events(env))


def test_scope_is_enforced_in_the_queries(env):
    from ent_dash import data

    v = data.version()
    rennes = data.Scope("academie", ("14",))
    assert data.schools(v, rennes, "school_year", "2025-2026", "parent", "24").empty
    assert data.cells(v, rennes, "school_year", "2025-2026", "parent", "academie", academie="24").empty
    assert data.school_info(v, rennes, next(iter(env["schools"]["24"]))).empty
    assert set(data.academies(v, rennes)["academie_code"]) == {"14"}
    # France as a whole stays visible as a benchmark
    assert len(data.cells(v, rennes, "school_year", "2025-2026", "parent", "nation")) == 1
    national = data.Scope("national", None)
    assert not data.schools(v, national, "school_year", "2025-2026", "parent", "24").empty


def test_methodology_reports_the_suppression_audit_in_french(env):
    at = login("nat")
    at.switch_page("views/methodologie.py").run()
    assert not at.exception
    audit = [v for df in at.dataframe for v in (df.value["Audit"] if "Audit" in df.value else [])]
    assert audit and all(v.startswith("réussi") for v in audit)


def test_map_rates_are_shrunk_towards_the_common_rate(env):
    """The national map shows empirical-Bayes rates computed from published figures only (counts scaled to
    the effective size their school-as-unit standard error gives): each lies between the académie's observed
    rate and the prior mean, within its 95 % interval, and suppressed académies get none."""
    from ent_dash import data
    from pipelines import fr_format as fmt
    from pipelines.equity.eb_shrink import eb_shrink

    v = data.version()
    national = data.Scope("national", None)
    cells = data.cells(v, national, "school_year", "2025-2026", "parent", "academie").set_index("geo_code")
    shrunk = data.shrunk_active_rates(v, national, "school_year", "2025-2026", "parent", "academie")
    published = cells[~cells["suppressed"]]
    assert set(shrunk) == set(published.index) and len(shrunk) >= 2
    assert not set(shrunk) & set(cells.index[cells["suppressed"]])
    k, n = data.effective_counts(published)
    assert (n <= (published["active"] / published["active_rate"]).round().to_numpy()).all()
    assert (n < (published["active"] / published["active_rate"]).round().to_numpy()).any()  # design effect
    fit = eb_shrink(k, n, interval="adjusted")
    raw = dict(zip(published.index, fit.raw_rate))  # the observed rate on the effective counts (rounded)
    for code, (rate, low, high) in shrunk.items():
        observed = raw[code]
        assert abs(observed - published.loc[code, "active_rate"]) < 0.02
        assert min(observed, fit.prior_mean) - 1e-9 <= rate <= max(observed, fit.prior_mean) + 1e-9
        assert low < rate < high
    assert any(abs(rate - published.loc[code, "active_rate"]) > 1e-4 for code, (rate, _, _) in shrunk.items())
    assert fmt.rate_interval(0.125, 0.101, 0.149) == "12,5\u202f% [10,1 ; 14,9]"


def test_logins_and_logouts_are_audited(env):
    at = login("nat")
    at.button(key="logout").click().run()
    assert [t.value for t in at.title] == ["Observatoire ENT"]
    events = audit_events(env)
    assert any(e["event"] == "login" and e["login"] == "nat" and e["role"] == "national" for e in events)
    assert any(e["event"] == "logout" and e["login"] == "nat" for e in events)


OIDC_SECRETS = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                         "client_id": "observatoire", "client_secret": "s",
                         "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}}


def test_oidc_identity_is_mapped_through_the_users_file(env):
    users.add_user("dne-analyste", "national", None, "oidc-user-password", email="analyste@education.gouv.fr")
    at = app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "analyste@education.gouv.fr", "email_verified": True,
               "name": "Analyste"}
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Vue nationale"]
    assert any(e["event"] == "login" and e.get("method") == "oidc" and e["login"] == "dne-analyste"
               for e in audit_events(env))


def test_oidc_identity_unknown_to_the_users_file_is_refused(env):
    at = app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "intrus@example.org", "email_verified": True}
    at.run()
    assert not at.get("plotly_chart") and not at.dataframe
    assert any("aucun compte" in e.value for e in at.error)
    assert any(e["event"] == "login_refused" and e.get("email") == "intrus@example.org" for e in audit_events(env))


@pytest.mark.parametrize("name, claim", [("false", {"email_verified": False}), ("missing", {}),
                                         ("string", {"email_verified": "true"}), ("one", {"email_verified": 1})])
def test_oidc_identity_without_a_verified_email_is_refused(env, name, claim):
    email = f"verif-{name}@education.gouv.fr"
    users.add_user(f"dane-verif-{name}", "national", None, "oidc-user-password-2", email=email)
    at = app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": email, **claim}
    at.run()
    assert [t.value for t in at.title] == ["Observatoire ENT"]
    assert not at.get("plotly_chart") and not at.dataframe and not at.metric
    assert any(e["event"] == "login_refused" and e.get("email") == email
               and "not verified" in e.get("reason", "") for e in audit_events(env))


@pytest.mark.parametrize("profile, period_type", [("enseignant", "school_year"), ("eleve", "month"),
                                                   ("parent", "trimester")])
def test_pages_for_other_profiles_and_periods(env, profile, period_type):
    at = app()
    at.session_state["f_profile"] = profile
    at.session_state["f_period_type"] = period_type
    at = login("nat", at=at)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])


def test_a_rate_change_and_a_gap_to_france_say_whether_they_are_significant(env):
    """Vue nationale (months): France's active-rate change since the previous month carries its 95 % interval
    from the two cells' published standard errors (the two periods as independent estimates) and says
    « évolution non significative » when it holds 0 (the metric's arrow is then grey); each académie's change in
    the table too. Académie page: the gap to France with its interval. Établissement: the observed rate with its
    Wilson interval on the school's published counts."""
    import pandas as pd
    from statsmodels.stats.proportion import proportion_confint

    from ent_dash import data
    from pipelines import fr_format as fmt

    v, national = data.version(), data.Scope("national", None)
    months = data.periods(v)
    months = months[months["period_type"] == "month"]["period"].tolist()
    cur, prev = months[-1], months[-2]
    at = app()
    at.session_state["f_period_type"] = "month"
    at = login("nat", at=at)
    assert not at.exception, [e.value for e in at.exception]
    now, before = (data.cells(v, national, "month", p, "parent", "nation").iloc[0] for p in (cur, prev))
    # each headline figure: its ± in the metric, its change's interval in the caption, a grey arrow when not
    # significant
    for col, label, caption in (("active_rate", "Taux d'usage actif", "taux d'usage actif"),
                                ("activation_rate", "Taux d'activation", "taux d'activation"),
                                ("mobile_share", "Part mobile", "part mobile"),
                                ("visits_per_active", "Visites par compte actif", "visites par compte actif")):
        d = float(now[col] - before[col])
        se = fmt.independent_se(now[f"{col}_se"], before[f"{col}_se"])
        assert se is not None and se > 0
        plain = col == "visits_per_active"
        assert f"{caption} : {fmt.change_interval(d, se, plain=plain)}" in texts(at)
        metric = next(m for m in at.metric if m.label == label)
        assert (metric.proto.color == 2) == (abs(d) <= fmt.Z95 * se)  # 2: MetricColor.GRAY, delta_color="off"
        assert metric.value == (fmt.number_with_margin(now[col], now[f"{col}_se"]) if plain else
                                fmt.rate_with_margin(now[col], now[f"{col}_se"]))
        assert "±" in metric.value
    table = next(df.value for df in at.dataframe if "Évolution (IC 95 %)" in df.value)
    aca_now, aca_before = (data.cells(v, national, "month", p, "parent", "academie").set_index("geo_code")
                           for p in (cur, prev))
    names = dict(zip(data.academies(v, national)["academie_code"], data.academies(v, national)["academie_name"]))
    checked = 0
    for code, row in aca_now[~aca_now["suppressed"]].iterrows():
        if code not in aca_before.index or aca_before.loc[code, "suppressed"]:
            continue
        d = row["active_rate"] - aca_before.loc[code, "active_rate"]
        text = fmt.change_interval(d, fmt.independent_se(row["active_rate_se"], aca_before.loc[code, "active_rate_se"]))
        assert table.loc[table["Académie"] == names[code], "Évolution (IC 95 %)"].tolist() == [text]
        checked += 1
    assert checked >= 2

    at.switch_page("views/academie.py").run()
    own = data.cells(v, national, "month", cur, "parent", "academie", academie=at.session_state["f_academie"]).iloc[0]
    gap = float(own["active_rate"] - now["active_rate"])
    gap_se = fmt.independent_se(own["active_rate_se"], now["active_rate_se"])
    assert f"Écart à la France : {fmt.gap_interval(gap, *fmt.wald_bounds(gap, gap_se))}." in texts(at)

    at.switch_page("views/etablissement.py").run()
    assert not at.exception, [e.value for e in at.exception]
    school = data.schools(v, national, "month", cur, "parent", at.session_state["f_academie"])
    school = school[school["uai"] == at.session_state["school_uai"]].iloc[0]
    observed = next(m for m in at.metric if m.label == "Taux d'usage actif observé")
    if not school["suppressed"]:
        low, high = proportion_confint(int(school["active"]), int(school["loaded"]), method="wilson")
        caption = next(c.value for c in at.caption if c.value.startswith("Taux observé : "))
        assert caption.startswith(f"Taux observé : {fmt.rate_interval(school['active_rate'], low, high)} (IC 95 %")
        # expected rates are published for school years and trimesters only (months: « — »)
        assert ("observé − attendu à IPS comparable : —" in caption) == bool(pd.isna(school["expected_rate"]))
    else:
        assert observed.value == fmt.SECRET


def test_weekly_chart_band_is_each_weeks_95_interval():
    """Tendances: the shaded band of each line is rate ± 1.96 × the week cell's published standard error, week by
    week; a week without a standard error has no band."""
    import pandas as pd

    from ent_dash import charts
    from pipelines import fr_format as fmt

    weeks = pd.to_datetime(["2025-11-03", "2025-11-10", "2025-11-17"])
    series = pd.DataFrame({"geo_level": ["nation"] * 3 + ["academie"] * 3, "name": ["France"] * 3 + ["Rennes"] * 3,
                           "week_start": list(weeks) * 2, "active_rate": [0.30, 0.32, 0.31, 0.25, 0.27, 0.26],
                           "active_rate_se": [0.004, 0.005, 0.004, 0.02, None, 0.03], "suppressed": False})
    fig = charts.weekly(series, pd.DataFrame(columns=["zone", "first_day", "last_day"]), pd.DataFrame(), "t")
    bands = [t for t in fig.data if t.fill == "toself"]
    assert [b.name for b in bands] == ["intervalle à 95 % — France", "intervalle à 95 % — Rennes"]
    for band, (rates, ses) in zip(bands, (([0.30, 0.32, 0.31], [0.004, 0.005, 0.004]), ([0.25, 0.26], [0.02, 0.03]))):
        upper, lower = list(band.y[:len(rates)]), list(band.y[len(rates):])[::-1]
        assert upper == pytest.approx([100 * (r + fmt.Z95 * e) for r, e in zip(rates, ses)])
        assert lower == pytest.approx([100 * (r - fmt.Z95 * e) for r, e in zip(rates, ses)])


def test_school_tables_slope_and_theil_carry_their_intervals(env):
    """Établissement: each similar school's rate with its Wilson interval on its published counts (statsmodels);
    Leviers: each ranked school's too; Académie: the IPS-fit slope per 10 IPS points with its published
    interval, and the Theil indices with their bootstrap intervals."""
    import pandas as pd
    from statsmodels.stats.proportion import proportion_confint

    from ent_dash import data
    from pipelines import fr_format as fmt

    v, rennes = data.version(), data.Scope("academie", ("14",))
    at = login("rennes")
    f = at.session_state
    uai = next(u for u in data.school_list(v, rennes, "14")["uai"]
               if len(data.similar_schools(v, rennes, u, f["f_period_type"], f["f_period"], f["f_profile"])) >= 2)
    at.session_state["school_uai"] = uai
    at.switch_page("views/etablissement.py").run()
    assert not at.exception, [e.value for e in at.exception]
    similar = next(df.value for df in at.dataframe if "Taux d'usage actif (IC 95 %)" in df.value
                   and "Attendu" in df.value)
    rows = data.similar_schools(v, rennes, uai, f["f_period_type"], f["f_period"], f["f_profile"])
    expected = [fmt.rate_interval(r.active_rate, *proportion_confint(int(r.active), int(r.loaded), method="wilson"))
                for r in rows.itertuples()]
    assert similar["Taux d'usage actif (IC 95 %)"].tolist() == expected and all("[" in e for e in expected)

    at.switch_page("views/leviers.py").run()
    ranked = next(df.value for df in at.dataframe if "Rang" in df.value)
    targets = data.lever_targets(v, rennes, "14")
    assert ((targets["active"] - targets["active_rate"] * targets["loaded"]).abs() < 1e-6).all()
    assert ranked["Taux d'usage actif (IC 95 %)"].tolist() == [
        fmt.rate_interval(r.active_rate, *proportion_confint(int(r.active), int(r.loaded), method="wilson"))
        for r in targets.itertuples()]

    at.switch_page("views/academie.py").run()
    assert not at.exception, [e.value for e in at.exception]
    fits = data.ips_fit(v, rennes, f["f_period_type"], f["f_period"], f["f_profile"], "14", "all", "all")
    fit = fits[fits["geo_level"] == "academie"].iloc[0]
    slope = next(c.value for c in at.caption if c.value.startswith("Pente de l'ajustement pondéré"))
    assert fmt.gap_interval(10 * fit.slope, 10 * fit.slope_low, 10 * fit.slope_high) in slope
    assert pd.notna(fit.slope_low) and fit.slope_low < fit.slope < fit.slope_high
    equity = data.equity(v, rennes, f["f_period_type"], f["f_period"], f["f_profile"], "all",
                         scope_level="academie", academie="14").set_index("measure")
    between = equity.loc["theil_between"]
    theil = next(c.value for c in at.caption if c.value.startswith("Intervalles à 95 % (bootstrap"))
    assert (f"entre départements {fmt.number(between.value, 4)} [{fmt.number(between.ci_low, 4)} ; "
            f"{fmt.number(between.ci_high, 4)}]") in theil


def _scenario_column(at: AppTest, column: str) -> list[str]:
    return next(df.value for df in at.dataframe if "Ateliers" in df.value)[column].tolist()


def test_leviers_scenarios_show_each_sii_with_its_interval(env):
    from ent_dash import data
    from pipelines import fr_format as fmt

    scenarios = data.levers(data.version(), data.Scope("academie", ("14",)), "levers_scenarios")
    scenarios = scenarios[scenarios["academie_code"] == "14"]
    assert len(scenarios) and scenarios["sii_refusal"].isna().all()
    at = login("rennes")
    at.switch_page("views/leviers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for column, name in (("SII avant (IC 95 %)", "sii_before"), ("SII après (IC 95 %)", "sii_after"),
                         ("Variation du SII (IC 95 %)", "sii_change")):
        shown = _scenario_column(at, column)
        assert shown == [fmt.gap_interval(v / 100, lo / 100, hi / 100) for v, lo, hi in
                         zip(scenarios[name], scenarios[f"{name}_ci_low"], scenarios[f"{name}_ci_high"])], column
        assert all("IC 95 % : " in text and " à " in text for text in shown), column


def test_leviers_scenario_below_the_fit_guards_shows_no_sii(env, tmp_path, monkeypatch):
    """A release whose Rennes scenarios were refused by the fit guards: the page says so, prints no SII."""
    import os
    import shutil

    import duckdb

    root = tmp_path / "refused"
    (root / "serving").mkdir(parents=True)
    (root / "reference").symlink_to((env["root"] / "reference").resolve(), target_is_directory=True)
    serving = root / "serving" / "observatoire_serving.duckdb"
    shutil.copyfile(env["root"] / "serving" / "observatoire_serving.duckdb", serving)
    os.chmod(serving, 0o600)
    with duckdb.connect(str(serving)) as con:
        sii = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = "
                                         "'levers_scenarios' AND column_name LIKE 'sii_%' AND "
                                         "column_name <> 'sii_refusal'").fetchall()]
        assert len(sii) == 9
        con.execute(f"UPDATE levers_scenarios SET sii_refusal = 'too_few_schools', "
                    f"{', '.join(f'{c} = NULL' for c in sii)} WHERE academie_code = '14'")
    monkeypatch.setenv("ENT_DATA_DIR", str(root))
    at = login("rennes")
    at.switch_page("views/leviers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for column in ("SII avant (IC 95 %)", "SII après (IC 95 %)", "Variation du SII (IC 95 %)"):
        shown = _scenario_column(at, column)
        assert shown and set(shown) == {"non publié : trop peu d'établissements"}, column
