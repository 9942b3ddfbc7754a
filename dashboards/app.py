"""Observatoire ENT dashboard (Streamlit). Placeholder until the dashboard issue lands.

It reads nothing from the warehouse that Dagster writes; the published serving copy comes with the
serving layer.
"""

import streamlit as st

st.set_page_config(page_title="Observatoire ENT", page_icon="📊", layout="wide")
st.title("Observatoire ENT")
st.markdown(
    "Mesure de l'usage de l'espace numérique de travail (ENT) par les familles, "
    "et des écarts entre établissements, territoires et milieux sociaux."
)
st.info(
    "Le tableau de bord est en cours de construction : les indicateurs et les cartes "
    "s'afficheront ici dès que la couche de publication sera en place."
)
