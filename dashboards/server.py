"""The dashboard's server: the Streamlit app (``app.py``) behind the download guard.

``streamlit run dashboards/server.py`` (what ``ent-equity dashboard`` runs) finds ``app`` below and
serves it with uvicorn. ``DownloadGuard`` stands in front of Streamlit's routes, so that a ``/media/``
file (a CSV download) reaches only the logged-in browser it was built for (see ``ent_dash.downloads``).
The pages themselves are ``app.py``, which ``streamlit.testing`` runs directly.
"""

import streamlit as st
from starlette.middleware import Middleware

from ent_dash.download_guard import DownloadGuard

app = st.App("app.py", middleware=[Middleware(DownloadGuard)])
