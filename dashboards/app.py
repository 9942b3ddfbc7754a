"""Observatoire ENT dashboard (Streamlit multipage app), served by ``ent-equity dashboard`` through
``server.py`` (the download guard in front of Streamlit; without it, CSV downloads are refused).

Reads only the published serving file (``$ENT_DATA_DIR/serving/observatoire_serving.duckdb``), never
the warehouse. Nobody sees data without logging in; the scope (national or one académie) is decided
on the server at every run from the users file, and every query is filtered by it (see ent_dash/).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import streamlit as st  # noqa: E402

from ent_dash import auth, ui  # noqa: E402

st.set_page_config(page_title="Observatoire ENT", page_icon=":material/bar_chart:", layout="wide")

principal = auth.current_principal()
if principal is None:
    st.navigation([st.Page(auth.login_form, title="Connexion", url_path="connexion")], position="hidden").run()
    st.stop()

ctx = ui.sidebar(principal)
if st.sidebar.button("Se déconnecter", key="logout"):
    auth.logout(principal)
    st.rerun()
if ctx is None:
    st.stop()

views = HERE / "views"
pages = []
if ctx.scope.national:
    pages.append(st.Page(views / "nationale.py", title="Vue nationale", icon=":material/public:", default=True))
pages += [
    st.Page(views / "academie.py", title="Académie", icon=":material/account_balance:", default=not ctx.scope.national),
    st.Page(views / "fonctionnalites.py", title="Fonctionnalités", icon=":material/widgets:"),
    st.Page(views / "tendances.py", title="Tendances", icon=":material/show_chart:"),
    st.Page(views / "etablissement.py", title="Établissement", icon=":material/school:"),
    st.Page(views / "leviers.py", title="Leviers", icon=":material/trending_up:"),
    st.Page(views / "methodologie.py", title="Méthodologie", icon=":material/menu_book:"),
]
st.navigation(pages).run()
